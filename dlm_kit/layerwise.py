"""The encoder of a BERT, RoBERTa or ModernBERT masked LM, run layer by layer by the sampler.

`model(...)` rebuilds its attention masks, rotary tables and position ids at every call; at
batch 1 on a small model that is a good part of a sampling step. :class:`LayerwiseEncoder`
builds them once per `generate` call and runs the layers itself (the same operations in the
same order: its hidden states equal the model's encoder's, tested), and it can keep each layer's
keys and values so that a later call recomputes only a window of positions: the approximate
prefix / dual cache of Fast-dLLM (Wu et al. 2025, arXiv:2505.22618).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from transformers import PreTrainedModel

from .heads import split_masked_lm
from .positions import position_ids as position_ids_for

__all__ = ["LayerwiseEncoder"]


class LayerwiseEncoder:
    """The encoder of a BERT, RoBERTa or ModernBERT masked LM, run layer by layer by the sampler.

    Built once per `generate` call for one canvas shape [B, L], it precomputes what the model's
    own forward recomputes at every call (attention masks, ModernBERT's rotary tables, position
    ids), which at batch 1 on a small model is a good part of a step, and it can keep each
    layer's keys and values so that a later call recomputes only a window of positions
    (the approximate prefix / dual cache of Fast-dLLM, Wu et al. 2025, arXiv:2505.22618: the
    other positions' keys and values are those of the last full call, not of the current canvas).

    ``encode(x)`` equals ``encoder(input_ids=x, attention_mask=..., position_ids=...)[0]`` up to
    float rounding (the same operations in the same order; tested against the model).

        >>> import torch
        >>> from dlm_kit.backbones import load_backbone
        >>> model, tok = load_backbone("tiny-bert", seed=0)
        >>> x = torch.tensor([[5, 6, tok.mask_token_id, 8]])
        >>> lw = LayerwiseEncoder.build(model.eval(), batch=1, length=4)
        >>> torch.allclose(lw.encode(x), model.bert(input_ids=x)[0], atol=1e-6)
        True
    """

    def __init__(self, model: PreTrainedModel, kind: str, attention_mask: torch.Tensor | None,
                 position_ids: torch.Tensor | None, length: int) -> None:
        self.kind = kind  # "bert" (BERT, RoBERTa, XLM-RoBERTa) or "modernbert"
        self.base = split_masked_lm(model)[0]
        device = next(model.parameters()).device
        self.positions = position_ids  # [B, L] or None (0..L-1)
        keep = None if attention_mask is None else attention_mask.bool()[:, None, None, :]  # [B, 1, 1, L]
        self.masks: dict[str, torch.Tensor | None] = {}
        if kind == "modernbert":
            config = self.base.config
            arange = torch.arange(length, device=device)
            near = (arange[:, None] - arange[None, :]).abs() <= config.sliding_window  # [L, L]
            for layer_type in set(config.layer_types):
                mask = near[None, None] if layer_type == "sliding_attention" else None
                if keep is not None:
                    mask = keep.expand(-1, 1, length, -1) if mask is None else mask & keep
                self.masks[layer_type] = mask
            steps = torch.arange(length, device=device)[None]
            dtype = next(model.parameters()).dtype
            probe = torch.empty(0, device=device, dtype=dtype)
            self.rotary = {t: self.base.rotary_emb(probe, steps, t) for t in set(config.layer_types)}
        else:
            self.masks["full"] = None if keep is None else keep.expand(-1, 1, length, -1)
        self.cache: list[tuple[torch.Tensor, torch.Tensor]] | None = None
        self._positions, self._masks = self.positions, dict(self.masks)  # of every row, for select

    @classmethod
    def build(cls, model: PreTrainedModel, *, batch: int, length: int, attention_mask: torch.Tensor | None = None,
              position_ids: torch.Tensor | None = None) -> LayerwiseEncoder | None:
        """The layer-wise encoder of `model` for canvases [batch, length], or None for an
        architecture it does not know (or an attention implementation other than SDPA / eager)."""
        name = type(model).__name__
        kind = {"BertForMaskedLM": "bert", "RobertaForMaskedLM": "bert", "XLMRobertaForMaskedLM": "bert",
                "ModernBertForMaskedLM": "modernbert"}.get(name)
        if kind is None or getattr(model.config, "_attn_implementation", "sdpa") not in ("sdpa", "eager"):
            return None
        if kind == "bert" and (model.config.is_decoder or getattr(model.config, "position_embedding_type",
                                                                   "absolute") != "absolute"):
            return None
        if attention_mask is not None and attention_mask.shape != (batch, length):
            raise ValueError(f"attention_mask {tuple(attention_mask.shape)} must be [{batch}, {length}].")
        embeddings = split_masked_lm(model)[0].embeddings
        if position_ids is None and hasattr(embeddings, "create_position_ids_from_input_ids"):
            # RoBERTa numbers positions from padding_idx + 1; explicit ids keep a window's positions right
            device = next(model.parameters()).device
            canvas = torch.zeros(batch, length, dtype=torch.long, device=device)
            position_ids = position_ids_for(model, canvas, attention_mask)
        return cls(model, kind, attention_mask, position_ids, length)

    def select(self, rows: torch.Tensor, kept: torch.Tensor | None = None) -> None:
        """Work on the canvas rows `rows` (indices into the batch it was built for) from now on.

        `kept`: the same rows as indices into the rows worked on so far, to keep their cached
        keys and values (None drops the cache: rows come back, the next call refreshes it).
        """
        self.positions = None if self._positions is None else self._positions[rows]
        self.masks = {k: m if m is None or m.shape[0] == 1 else m[rows] for k, m in self._masks.items()}
        self.cache = None if self.cache is None or kept is None else [(k[kept], v[kept]) for k, v in self.cache]

    def encode(self, x: torch.Tensor, start: int = 0, end: int | None = None, *, store: bool = False) -> torch.Tensor:
        """Last hidden states [B, end - start, H] of the window `x[:, start:end]`.

        The whole canvas (start=0, end=L) is the model's forward; `store=True` also keeps every
        layer's keys and values. A narrower window needs a stored cache: its positions attend
        to their own fresh keys and values and to the cached ones of the other positions.
        """
        length = x.shape[1]
        end = length if end is None else end
        window = start > 0 or end < length
        if window and self.cache is None:
            raise ValueError("encode of a window needs a cache: call encode(x, store=True) on the whole canvas first.")
        if store:
            self.cache = []
        ids = x[:, start:end]
        positions = None if self.positions is None else self.positions[:, start:end]
        if self.kind == "modernbert":
            hidden = self.base.embeddings(input_ids=ids)
        else:
            extra = {} if positions is None else {"position_ids": positions}
            if positions is None and start:
                extra["position_ids"] = torch.arange(start, end, device=x.device)[None]
            hidden = self.base.embeddings(input_ids=ids, **extra)
        layers = self.base.layers if self.kind == "modernbert" else self.base.encoder.layer
        for index, layer in enumerate(layers):
            cached = self.cache[index] if window else None
            if self.kind == "modernbert":
                hidden = self._modernbert_layer(layer, hidden, start, end, cached, store)
            else:
                hidden = self._bert_layer(layer, hidden, start, end, cached, store)
        if self.kind == "modernbert":
            hidden = self.base.final_norm(hidden)
        return hidden

    def _attend(self, q, k, v, mask, start, end, cached, store, scale):
        """SDPA of the window's queries over all keys: fresh ones in the window, cached elsewhere."""
        if cached is not None:
            keys, values = cached
            keys[:, :, start:end], values[:, :, start:end] = k, v  # the window's keys are fresh
            k, v = keys, values
        elif store:  # copies: the next windows write into them
            self.cache.append((k.clone(), v.clone()))
        if mask is not None:
            mask = mask[:, :, start:end]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale)
        return out.transpose(1, 2).contiguous()

    def _bert_layer(self, layer, hidden, start, end, cached, store):
        attention = layer.attention.self
        shape = (*hidden.shape[:-1], -1, attention.attention_head_size)
        q = attention.query(hidden).view(shape).transpose(1, 2)
        k = attention.key(hidden).view(shape).transpose(1, 2)
        v = attention.value(hidden).view(shape).transpose(1, 2)
        context = self._attend(q, k, v, self.masks["full"], start, end, cached, store, attention.scaling)
        context = context.reshape(*hidden.shape[:-1], -1).contiguous()
        return layer.feed_forward_chunk(layer.attention.output(context, hidden))

    def _modernbert_layer(self, layer, hidden, start, end, cached, store):
        attention = layer.attn
        qkv = attention.Wqkv(layer.attn_norm(hidden))
        qkv = qkv.view(*hidden.shape[:-1], 3, -1, attention.head_dim)  # [B, W, 3, heads, d]
        cos, sin = self.rotary[layer.attention_type]
        q, k = _rotary(qkv[:, :, :2], cos[:, start:end, None, None], sin[:, start:end, None, None]).unbind(2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), qkv[:, :, 2].transpose(1, 2)
        context = self._attend(q, k, v, self.masks[layer.attention_type], start, end, cached, store,
                               attention.head_dim**-0.5)
        hidden = hidden + attention.out_drop(attention.Wo(context.reshape(*hidden.shape[:-1], -1).contiguous()))
        return hidden + layer.mlp(layer.mlp_norm(hidden))


def _rotary(qk: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary position embedding of queries and keys together, [B, W, 2, heads, d]: ModernBERT's
    `apply_rotary_pos_emb` (x cos + rotate_half(x) sin, the same float operations) in one pass."""
    half = qk.shape[-1] // 2
    rotated = torch.cat((-qk[..., half:], qk[..., :half]), dim=-1)
    return (qk.float() * cos + rotated.float() * sin).to(qk.dtype)
