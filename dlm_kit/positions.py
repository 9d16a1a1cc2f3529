"""Position ids: RoBERTa-style models number positions from the tokens; the kit numbers them itself.

BERT, ModernBERT and DistilBERT count positions 0, 1, 2, ... on their own. RoBERTa (and XLM-R,
CamemBERT, ...) start at ``padding_idx + 1`` and derive each token's position from the input:
every token equal to the pad id gets the padding position and shifts the ones after it. With a
tokenizer whose EOS is its pad token (the kit's tiny tokenizers), the EOS separators between
packed documents and the EOS padding of a trained answer would be read as padding. So every
forward pass of the kit (training, sampling, loss by mask ratio, likelihood) passes explicit
positions to such models: token i of a row sits at ``padding_idx + 1 + i`` whatever it is.

    >>> from dlm_kit.backbones import load_backbone
    >>> bert, _ = load_backbone("tiny-bert", seed=0)
    >>> position_offset(bert), position_ids(bert, torch.ones(1, 3, dtype=torch.long)) is None
    (0, True)
"""

from __future__ import annotations

import numbers

import torch

__all__ = ["context_length", "position_ids", "position_offset"]


def position_offset(model: torch.nn.Module) -> int:
    """The first position id: ``padding_idx + 1`` for RoBERTa-style embeddings, else 0.

    Walks ``model.modules()``, so it also sees inside a DistributedDataParallel wrapper; callers
    in a loop compute it once and pass it to :func:`position_ids`.
    """
    for module in model.modules():
        padding_idx = getattr(module, "padding_idx", None)
        if hasattr(module, "create_position_ids_from_input_ids") and isinstance(padding_idx, int):
            return padding_idx + 1
    return 0


def position_ids(
    model: torch.nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    *,
    offset: int | None = None,
) -> torch.Tensor | None:
    """[B, L] explicit position ids for RoBERTa-style models; None for the rest (their own arange).

    Positions count the attended tokens of each row (right padding keeps the padding position),
    so token i of a row is at ``offset + i`` whatever its id. ``offset``: the model's
    :func:`position_offset`, if already known.
    """
    offset = position_offset(model) if offset is None else offset
    if offset == 0:
        return None
    mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask.long()
    return mask.cumsum(dim=1) * mask + (offset - 1)  # padding sits at padding_idx = offset - 1


def context_length(model: torch.nn.Module) -> int | None:
    """How many tokens, prompt and new together, `model` takes; None if its config sets no limit.

    `model.config.max_position_embeddings`, less the position ids that RoBERTa-style models skip:
    they number positions from `pad_token_id + 1`, so only `max_position_embeddings -
    pad_token_id - 1` tokens fit (BERT and ModernBERT take all of them).

    Example:
        >>> from transformers import RobertaConfig, RobertaForMaskedLM
        >>> config = RobertaConfig(vocab_size=32, hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
        ...                        intermediate_size=8, max_position_embeddings=514, pad_token_id=1)
        >>> context_length(RobertaForMaskedLM(config))
        512
    """
    limit = getattr(model.config, "max_position_embeddings", None)
    if not isinstance(limit, numbers.Integral):
        return None
    return int(limit) - position_offset(model)
