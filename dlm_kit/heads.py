"""Logits only where they are needed: a masked LM split into its encoder and its MLM head.

Training scores only the masked positions (15 % of tokens under MLM, half on average under
MDLM), yet ``model(...).logits`` runs the head, a ``hidden × vocabulary`` matrix product, on
every position. For a 30,522-word vocabulary that product costs about as much as a small
encoder. :func:`masked_lm_logits` runs the encoder on the whole sequence and the head only on
the rows asked for; the numbers are those of the full forward at those rows.

    >>> import torch
    >>> from dlm_kit.backbones import load_backbone
    >>> model, tok = load_backbone("tiny-bert", seed=0)
    >>> ids = torch.tensor([[5, 6, tok.mask_token_id, 8]])
    >>> rows = ids == tok.mask_token_id
    >>> torch.allclose(masked_lm_logits(model, ids, rows), model(input_ids=ids).logits[rows], atol=1e-5)
    True

Architectures with a known split: BERT, RoBERTa / XLM-RoBERTa, ModernBERT. Any other masked LM
falls back to the full forward, indexed (same result, no saving). Every forward pass of the kit,
full or split, goes through :func:`masked_lm_forward`, which passes the explicit position ids of
:mod:`dlm_kit.positions` when there are any.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from transformers import PreTrainedModel
from transformers.modeling_outputs import MaskedLMOutput

__all__ = ["split_masked_lm", "masked_lm_forward", "masked_lm_logits"]


def split_masked_lm(model: PreTrainedModel) -> tuple[torch.nn.Module, Callable[[torch.Tensor], torch.Tensor]] | None:
    """``(encoder, head)`` of a masked LM whose layout is known, else None.

    ``encoder(input_ids=..., attention_mask=...)[0]`` is the last hidden state [B, L, H];
    ``head(h)`` maps any [..., H] tensor to vocabulary logits.
    """
    name = type(model).__name__
    if name == "BertForMaskedLM":
        return model.bert, model.cls
    if name in ("RobertaForMaskedLM", "XLMRobertaForMaskedLM"):
        return model.roberta, model.lm_head
    if name == "ModernBertForMaskedLM":
        return model.model, lambda hidden: model.decoder(model.head(hidden))
    return None


def masked_lm_forward(
    model: torch.nn.Module,
    input_ids: torch.Tensor,
    *,
    attention_mask: torch.Tensor | None = None,
    position_ids: torch.Tensor | None = None,
    prompt_lengths: torch.Tensor | None = None,
    clean_input_ids: torch.Tensor | None = None,
) -> MaskedLMOutput:
    """``model(input_ids=..., attention_mask=..., position_ids=...)``, the position ids left out when None.

    ``model``: a masked LM (the output's ``.logits`` are [B, L, V]) or the encoder half of
    :func:`split_masked_lm` (``[0]`` is the last hidden state [B, L, H]). ``position_ids`` [B, L]
    come from :func:`dlm_kit.positions.position_ids`: None for models that number positions
    themselves, which then get no ``position_ids`` argument at all (DistilBERT's forward takes none).
    ``prompt_lengths`` [B] go only to a model that reads them (a block-causal
    :class:`dlm_kit.a2d.CausalToDiffusion` counts its blocks from each row's answer start), and so
    do ``clean_input_ids`` [B, L] (its training pass with the clean blocks in context).

    >>> from dlm_kit.backbones import load_backbone
    >>> model, _ = load_backbone("tiny-bert", seed=0)
    >>> masked_lm_forward(model, torch.tensor([[5, 6, 7]])).logits.shape[:2]
    torch.Size([1, 3])
    """
    extra = {} if position_ids is None else {"position_ids": position_ids}
    if prompt_lengths is not None:
        extra["prompt_lengths"] = prompt_lengths
    if clean_input_ids is not None:
        extra["clean_input_ids"] = clean_input_ids
    return model(input_ids=input_ids, attention_mask=attention_mask, **extra)


def masked_lm_logits(
    model: PreTrainedModel,
    input_ids: torch.Tensor,
    rows: torch.Tensor,
    *,
    attention_mask: torch.Tensor | None = None,
    position_ids: torch.Tensor | None = None,
    prompt_lengths: torch.Tensor | None = None,
) -> torch.Tensor:
    """Vocabulary logits [N, V] at the N positions where ``rows`` ([B, L] bool) is True.

    Equal to ``model(input_ids=..., attention_mask=..., position_ids=...).logits[rows]`` up to
    float rounding. ``position_ids`` [B, L]: None lets the model number positions itself.
    """
    if rows.shape != input_ids.shape:
        raise ValueError(f"rows {tuple(rows.shape)} must have the shape of input_ids {tuple(input_ids.shape)}.")
    parts = split_masked_lm(model)
    if parts is None:
        return masked_lm_forward(model, input_ids, attention_mask=attention_mask, position_ids=position_ids,
                                 prompt_lengths=prompt_lengths).logits[rows]
    encoder, head = parts
    hidden = masked_lm_forward(encoder, input_ids, attention_mask=attention_mask, position_ids=position_ids)[0]
    return head(hidden[rows])
