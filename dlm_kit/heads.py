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
falls back to the full forward, indexed (same result, no saving).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from transformers import PreTrainedModel

__all__ = ["split_masked_lm", "masked_lm_logits"]


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


def masked_lm_logits(
    model: PreTrainedModel,
    input_ids: torch.Tensor,
    rows: torch.Tensor,
    *,
    attention_mask: torch.Tensor | None = None,
    position_ids: torch.Tensor | None = None,
) -> torch.Tensor:
    """Vocabulary logits [N, V] at the N positions where ``rows`` ([B, L] bool) is True.

    Equal to ``model(input_ids=..., attention_mask=..., position_ids=...).logits[rows]`` up to
    float rounding. ``position_ids`` [B, L]: None lets the model number positions itself.
    """
    if rows.shape != input_ids.shape:
        raise ValueError(f"rows {tuple(rows.shape)} must have the shape of input_ids {tuple(input_ids.shape)}.")
    extra = {} if position_ids is None else {"position_ids": position_ids}
    parts = split_masked_lm(model)
    if parts is None:
        return model(input_ids=input_ids, attention_mask=attention_mask, **extra).logits[rows]
    encoder, head = parts
    hidden = encoder(input_ids=input_ids, attention_mask=attention_mask, **extra)[0]
    return head(hidden[rows])
