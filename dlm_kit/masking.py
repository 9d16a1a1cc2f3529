"""Masking: MLM and MDLM corruption, the MDLM loss weights, and loss at a given mask ratio.

BERT's masked language modelling (MLM) masks a fixed ~15 % of tokens. A masked diffusion
language model (MDLM; Sahoo et al. 2024, "Simple and Effective Masked Diffusion Language
Models", and Shi et al. 2024, "MD4") draws a mask ratio per sequence, t ~ U(eps, 1), masks
each trainable token with probability p(t), and weights the cross-entropy of masked tokens so
that the loss is a bound on the negative log-likelihood:

    loss = E_t [ w(t) * sum_{masked i} -log p_theta(x_i | x_t) ] / (number of trainable tokens)

with p(t) = t and w(t) = 1/t for the linear schedule. Training across all ratios, up to
100 %, is what lets the model start from a fully masked canvas and generate.

    >>> import torch
    >>> ids, labels = torch.arange(1, 9).view(1, 8), torch.arange(1, 9).view(1, 8)
    >>> c = corrupt(ids, labels, config=MaskingConfig(), mask_token_id=0, t=torch.tensor([1.0]))
    >>> c.masked.all().item(), c.weights.item()
    (True, 1.0)

Positions whose label is -100 (prompt tokens, untrained padding, special tokens) are never
masked and never scored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from .data import IGNORE_INDEX  # re-exported
from .a2d import clean_context
from .heads import masked_lm_forward
from .positions import position_ids, position_offset

__all__ = [
    "MaskingConfig",
    "CorruptedBatch",
    "mask_probability",
    "loss_weight",
    "sample_mask_ratio",
    "corrupt",
    "masked_diffusion_loss",
    "loss_at_mask_ratios",
    "sequence_losses_at_mask_ratios",
]


@dataclass(frozen=True)
class MaskingConfig:
    """How a batch is corrupted for training.

    >>> MaskingConfig(objective="mlm").mlm_ratio
    0.15
    """

    objective: Literal["mdlm", "mlm"] = "mdlm"
    """'mdlm': a ratio t ~ U(eps, 1) per sequence; 'mlm': BERT's fixed ratio."""
    schedule: Literal["linear", "cosine"] = "linear"
    """MDLM masking schedule p(t): linear p = t, cosine p = 1 - cos(pi t / 2)."""
    eps: float = 1e-3
    """Smallest MDLM ratio; keeps the weight 1/t finite."""
    mlm_ratio: float = 0.15
    """Fraction of trainable tokens masked under MLM (all become [MASK]; no 80/10/10 swap)."""

    def __post_init__(self) -> None:
        if self.objective not in ("mdlm", "mlm"):
            raise ValueError(f"objective={self.objective!r}; choose 'mdlm' or 'mlm'.")
        if self.schedule not in ("linear", "cosine"):
            raise ValueError(f"schedule={self.schedule!r}; choose 'linear' or 'cosine'.")
        if not 0.0 < self.eps < 1.0:
            raise ValueError(f"eps={self.eps} must lie in (0, 1), e.g. 1e-3.")
        if not 0.0 < self.mlm_ratio <= 1.0:
            raise ValueError(f"mlm_ratio={self.mlm_ratio} must lie in (0, 1], e.g. 0.15.")


@dataclass
class CorruptedBatch:
    """A corrupted batch: what the model sees and what it is scored on."""

    input_ids: torch.Tensor
    """[B, L] the input with masked positions replaced by the mask token."""
    masked: torch.Tensor
    """[B, L] bool, True where a trainable token was masked (the loss positions)."""
    trainable: torch.Tensor
    """[B, L] bool, True where labels != -100."""
    t: torch.Tensor
    """[B] the mask ratio drawn for each sequence (MLM: the fixed ratio)."""
    weights: torch.Tensor
    """[B] loss weight of each sequence's masked tokens (MDLM linear: 1/t; MLM: 1)."""


def mask_probability(t: torch.Tensor, schedule: Literal["linear", "cosine"] = "linear") -> torch.Tensor:
    """p(t): probability that a token is masked at diffusion time t in [0, 1].

    >>> round(mask_probability(torch.tensor([0.5]), "cosine").item(), 4)
    0.2929
    """
    if schedule == "linear":
        return t
    return 1.0 - torch.cos(0.5 * math.pi * t)


def loss_weight(t: torch.Tensor, schedule: Literal["linear", "cosine"] = "linear") -> torch.Tensor:
    """w(t) = p'(t) / p(t), the MDLM ELBO weight of a masked token's cross-entropy.

    >>> loss_weight(torch.tensor([0.25, 1.0])).tolist()
    [4.0, 1.0]
    """
    if schedule == "linear":
        return 1.0 / t
    half_pi = 0.5 * math.pi
    return half_pi * torch.sin(half_pi * t) / (1.0 - torch.cos(half_pi * t))


def sample_mask_ratio(
    batch_size: int, *, eps: float = 1e-3, device: torch.device | str = "cpu", generator: torch.Generator | None = None
) -> torch.Tensor:
    """t ~ U(eps, 1) for each of ``batch_size`` sequences, shape [B]."""
    u = torch.rand(batch_size, device=device, generator=generator)
    return eps + (1.0 - eps) * u


def corrupt(
    input_ids: torch.Tensor,
    labels: torch.Tensor,
    *,
    config: MaskingConfig,
    mask_token_id: int,
    t: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> CorruptedBatch:
    """Mask trainable tokens (labels != -100) of a [B, L] batch under MLM or MDLM.

    ``t`` fixes each sequence's ratio (MDLM) instead of drawing it; ``generator`` replays draws.

    >>> ids = torch.ones(2, 6, dtype=torch.long)
    >>> labels = torch.tensor([[-100, -100, 1, 1, 1, 1]] * 2)
    >>> c = corrupt(ids, labels, config=MaskingConfig(), mask_token_id=0, t=torch.tensor([1.0, 1.0]))
    >>> c.input_ids[0].tolist()
    [1, 1, 0, 0, 0, 0]
    """
    if input_ids.shape != labels.shape:
        raise ValueError(f"input_ids {tuple(input_ids.shape)} and labels {tuple(labels.shape)} differ in shape.")
    batch, device = input_ids.shape[0], input_ids.device
    trainable = labels != IGNORE_INDEX
    if config.objective == "mlm":
        t = torch.full((batch,), config.mlm_ratio, device=device)
        p, weights = t, torch.ones(batch, device=device)
    else:
        if t is None:
            t = sample_mask_ratio(batch, eps=config.eps, device=device, generator=generator)
        t = t.to(device=device, dtype=torch.float32)
        p, weights = mask_probability(t, config.schedule), loss_weight(t, config.schedule)
    draws = torch.rand(input_ids.shape, device=device, generator=generator)
    masked = (draws < p[:, None]) & trainable
    noisy = torch.where(masked, torch.full_like(input_ids, mask_token_id), input_ids)
    return CorruptedBatch(input_ids=noisy, masked=masked, trainable=trainable, t=t, weights=weights)


def masked_diffusion_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    batch: CorruptedBatch,
    *,
    objective: Literal["mdlm", "mlm"] = "mdlm",
    scored_only: bool = False,
) -> torch.Tensor:
    """The training loss from [B, L, V] logits (only masked positions are scored).

    ``scored_only=True``: ``logits`` are already [N, V], one row per masked position in
    row-major order (``logits_full[batch.masked]``, e.g. from :func:`dlm_kit.heads.masked_lm_logits`).

    MDLM: sum of w(t) * CE over masked tokens / number of trainable tokens (the NELBO per
    token, an upper bound on nats/token). MLM: mean CE over masked tokens.
    A batch with nothing to score returns a zero that still carries gradient.
    """
    masked = batch.masked
    if not masked.any():
        return logits.sum() * 0.0
    # Cross-entropy only where scored: avoids a [B, L, V] float32 copy of the whole batch.
    scored = logits if scored_only else logits[masked]
    ce = F.cross_entropy(scored.float(), labels[masked], reduction="none")
    if objective == "mlm":
        return ce.mean()
    token_weights = batch.weights[:, None].expand_as(masked)[masked]
    return (ce * token_weights).sum() / batch.trainable.sum()


@torch.no_grad()
def sequence_losses_at_mask_ratios(
    model: torch.nn.Module,
    dataset: Sequence[Mapping],
    *,
    ratios: tuple[float, ...] = (0.1, 0.3, 0.5, 0.7, 0.9, 1.0),
    mask_token_id: int,
    collate_fn: Callable[[list[dict]], dict[str, torch.Tensor]] | None = None,
    batch_size: int = 32,
    max_batches: int | None = None,
    seed: int = 0,
) -> dict[float, tuple[torch.Tensor, torch.Tensor]]:
    """Per sequence, the summed cross-entropy (nats) of its masked tokens and how many were masked.

    For each ratio r: ``(nll [N] float64, masked [N] long)`` over the N sequences of ``dataset``
    (in order), with a fraction r of each sequence's trainable tokens masked. Per-sequence values
    give two models' difference an interval (:func:`dlm_kit.stats.paired_difference` over the
    sequences both were scored on); :func:`loss_at_mask_ratios` pools them. Draws are seeded per
    ratio, so two models are scored on the same masks.

    >>> from dlm_kit.backbones import load_backbone
    >>> model, tok = load_backbone("tiny-bert", seed=0)
    >>> data = [{"input_ids": [5, 6, 7, 8], "labels": [5, 6, 7, 8]}] * 3
    >>> nll, masked = sequence_losses_at_mask_ratios(model, data, ratios=(1.0,), mask_token_id=tok.mask_token_id)[1.0]
    >>> masked.tolist()
    [4, 4, 4]
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    if collate_fn is None:
        collate_fn = _default_collate
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate_fn)
    offset = position_offset(model)  # RoBERTa-style models get explicit positions (dlm_kit.positions)
    results = {}
    for ratio in ratios:
        generator = torch.Generator(device=device).manual_seed(seed)
        config = MaskingConfig(objective="mlm", mlm_ratio=ratio)
        nll_rows, count_rows = [], []
        for i, batch in enumerate(loader):
            if max_batches is not None and i >= max_batches:
                break
            input_ids, labels = batch["input_ids"].to(device), batch["labels"].to(device)
            corrupted = corrupt(input_ids, labels, config=config, mask_token_id=mask_token_id, generator=generator)
            nll = torch.zeros(input_ids.shape, dtype=torch.float64, device=device)  # [B, L], 0 where unmasked
            if corrupted.masked.any():
                attention_mask = batch.get("attention_mask")
                attention_mask = None if attention_mask is None else attention_mask.to(device)
                positions = position_ids(model, corrupted.input_ids, attention_mask, offset=offset)
                # a block-causal conversion scores each block given the clean blocks before it, as it trains
                logits = masked_lm_forward(model, corrupted.input_ids, attention_mask=attention_mask,
                                           position_ids=positions, **clean_context(model, input_ids, labels)).logits
                ce = F.cross_entropy(logits[corrupted.masked].float(), labels[corrupted.masked], reduction="none")
                nll[corrupted.masked] = ce.double()
            nll_rows.append(nll.sum(1).cpu())
            count_rows.append(corrupted.masked.sum(1).cpu())
        results[ratio] = (torch.cat(nll_rows), torch.cat(count_rows))
    model.train(was_training)
    return results


def loss_at_mask_ratios(
    model: torch.nn.Module,
    dataset: Sequence[Mapping],
    *,
    ratios: tuple[float, ...] = (0.1, 0.3, 0.5, 0.7, 0.9, 1.0),
    mask_token_id: int,
    collate_fn: Callable[[list[dict]], dict[str, torch.Tensor]] | None = None,
    batch_size: int = 32,
    max_batches: int | None = None,
    seed: int = 0,
) -> dict[float, float]:
    """Mean cross-entropy (nats per masked token) of ``model`` when a fraction r is masked.

    Notebook 01 plots this for an MLM-trained and an MDLM-trained model: the MLM model only
    ever saw ~15 % masked and its loss climbs at high ratios. Pooled over all masked tokens of
    :func:`sequence_losses_at_mask_ratios` (the same seeded masks for every model).

    >>> from dlm_kit.backbones import load_backbone
    >>> model, tok = load_backbone("tiny-bert", seed=0)
    >>> data = [{"input_ids": [5, 6, 7, 8], "labels": [5, 6, 7, 8]}]
    >>> sorted(loss_at_mask_ratios(model, data, ratios=(0.5, 1.0), mask_token_id=tok.mask_token_id))
    [0.5, 1.0]
    """
    if len(dataset) == 0:
        raise ValueError("loss_at_mask_ratios: the dataset is empty; pass at least one tokenised example.")
    per_sequence = sequence_losses_at_mask_ratios(
        model, dataset, ratios=ratios, mask_token_id=mask_token_id, collate_fn=collate_fn,
        batch_size=batch_size, max_batches=max_batches, seed=seed,
    )
    return {ratio: nll.sum().item() / max(int(count.sum()), 1) for ratio, (nll, count) in per_sequence.items()}


def _default_collate(examples: list[dict]) -> dict[str, torch.Tensor]:
    """Stack equal-length examples (pretraining blocks); SFT data should pass an SFTCollator."""
    missing = sorted({"input_ids", "labels"} - set(examples[0])) if isinstance(examples[0], dict) else ["a dict"]
    if missing:
        raise ValueError(f"loss_at_mask_ratios: examples need 'input_ids' and 'labels' (missing {missing}); "
                         "tokenise them with dlm_kit.data.tokenize_chat_dataset or group_texts.")
    lengths = {len(ex["input_ids"]) for ex in examples}
    if len(lengths) > 1:
        raise ValueError(
            "Examples have different lengths; pass collate_fn=SFTCollator(tokenizer) to pad them."
        )
    return {
        "input_ids": torch.tensor([ex["input_ids"] for ex in examples]),
        "labels": torch.tensor([ex["labels"] for ex in examples]),
    }
