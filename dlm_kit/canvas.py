"""The sampler's canvas: prompts and masks laid out in one tensor, its checks, and its working rows.

Row i of the canvas is ``[prompt_i, max_new_tokens masks, padding]``: every row keeps the
positions it would have alone, so a batch computes what each prompt computes alone; the padding
is hidden by the attention mask. :class:`WorkingRows` is the part of the canvas still being
written: rows leave it when they are finished or have nothing left to do in the current block,
and come back for the next block.

Every check raises a ValueError naming the argument and the fix.

    >>> ids = SpecialIds.resolve(None, mask_token_id=3, eos_token_id=9, stop_at_eos=True)
    >>> prompts, lengths = prompt_batch([[2, 5, 7], [2, 9]], None, ids.pad, torch.device("cpu"))
    >>> canvas = Canvas.build(prompts, lengths, max_new_tokens=4, mask_id=ids.mask, pad_id=ids.pad)
    >>> canvas.x.tolist()
    [[2, 5, 7, 3, 3, 3, 3], [2, 9, 3, 3, 3, 3, 0]]
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from transformers import PretrainedConfig

from .positions import context_length, position_offset
from .sampler_steps import finish_at_stops

__all__ = ["Canvas", "SpecialIds", "WorkingRows", "check_prompts", "check_settings", "int_list", "prompt_batch"]

REMASKING = ("low_confidence", "random")


def check_settings(
    max_new_tokens: int,
    steps: int,
    block_size: int,
    temperature: float,
    remasking: str,
    cfg_scale: float,
    threshold: float | None,
    repetition_penalty: float = 1.0,
    min_new_tokens: int = 0,
) -> None:
    """Raise ValueError, naming the argument and the fix, for settings the sampler can't run.

    >>> check_settings(64, 32, 64, 0.0, "low_confidence", 0.0, None)
    >>> check_settings(64, 30, 16, 0.0, "low_confidence", 0.0, None)
    Traceback (most recent call last):
    ...
    ValueError: steps=30 must be a positive multiple of the number of blocks 4 (max_new_tokens=64 / block_size=16): each block gets steps // 4 steps, as in the reference sampler; pass steps=28 or 32.
    """
    for name, value in [("max_new_tokens", max_new_tokens), ("steps", steps), ("block_size", block_size)]:
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name}={value!r}: must be a positive int.")
    if max_new_tokens % block_size:
        raise ValueError(
            f"block_size={block_size} must divide max_new_tokens={max_new_tokens} (blocks are "
            f"filled whole, one after another); pass block_size={math.gcd(block_size, max_new_tokens)}"
            f" or max_new_tokens={-(-max_new_tokens // block_size) * block_size}."
        )
    num_blocks = max_new_tokens // block_size
    if steps < num_blocks or steps % num_blocks:
        below, above = steps // num_blocks * num_blocks, (steps // num_blocks + 1) * num_blocks
        fix = f"steps={above}" if below == 0 else f"steps={below} or {above}"
        raise ValueError(
            f"steps={steps} must be a positive multiple of the number of blocks {num_blocks} "
            f"(max_new_tokens={max_new_tokens} / block_size={block_size}): each block gets "
            f"steps // {num_blocks} steps, as in the reference sampler; pass {fix}."
        )
    if remasking not in REMASKING:
        raise ValueError(f"remasking={remasking!r}: allowed values are {REMASKING}.")
    if not 0 <= temperature < math.inf:  # also rejects NaN
        raise ValueError(f"temperature={temperature!r}: must be >= 0 and finite (0 = argmax, no sampling).")
    if not 0 <= cfg_scale < math.inf:
        raise ValueError(f"cfg_scale={cfg_scale!r}: must be >= 0 and finite (0 = no guidance).")
    if not 0 < repetition_penalty < math.inf:
        raise ValueError(f"repetition_penalty={repetition_penalty!r}: must be > 0 and finite "
                         "(1.0 = off; 1.1-1.5 discourages repeated words).")
    if not _integer(min_new_tokens) or not 0 <= min_new_tokens <= max_new_tokens:
        raise ValueError(f"min_new_tokens={min_new_tokens!r}: must be a whole number from 0 (off) to "
                         f"max_new_tokens={max_new_tokens} (answer tokens written before it may end).")
    if threshold is not None:
        if not 0 < threshold <= 1:
            raise ValueError(
                f"threshold={threshold!r}: must be in (0, 1] (a probability), or None for the "
                "reference schedule."
            )
        if remasking != "low_confidence":
            raise ValueError(
                f"threshold={threshold} needs remasking='low_confidence' (it thresholds the "
                f"model's confidence), got remasking={remasking!r}; pass threshold=None for random "
                "remasking."
            )


def _token_id(value: int | None, config, name: str, fix: str) -> int:
    """The explicit id, else the model config's, else a ValueError saying what to pass."""
    value = getattr(config, name, None) if value is None else value
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise ValueError(
            f"{name}={value!r}: the sampler needs one token id and model.config.{name} gives none;"
            f" pass {name}={fix}."
        )
    vocab = getattr(config, "vocab_size", None)
    if value < 0 or (vocab is not None and value >= vocab):
        raise ValueError(f"{name}={value} is outside the vocabulary [0, {vocab}); pass {name}={fix}.")
    return int(value)


def _stop_sequences(stop_sequences: Sequence[Sequence[int]], mask_id: int) -> list[list[int]]:
    """``stop_sequences`` as lists of ints, or a ValueError saying what to pass."""
    fix = "pass a list of token-id lists, e.g. [tokenizer('[/Answer]', add_special_tokens=False)['input_ids']]"
    if isinstance(stop_sequences, (str, bytes)) or not isinstance(stop_sequences, Sequence):
        raise ValueError(f"stop_sequences={stop_sequences!r}: {fix}.")
    result = []
    for stop in stop_sequences:
        ids = int_list(stop)
        if not ids:
            raise ValueError(f"stop_sequences: {stop!r} is not a non-empty sequence of token ids; {fix}.")
        if mask_id in ids:
            raise ValueError(f"stop_sequences: {ids} contains mask_token_id={mask_id}; a stop must be real tokens.")
        result.append(ids)
    return result


def _integer(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


@dataclass(frozen=True)
class SpecialIds:
    """The token ids the sampler writes or looks for, resolved from the arguments and the model config."""

    mask: int  #: what a not-yet-written position holds
    pad: int  #: right padding of the canvas (the config's pad id, else 0)
    fill: int  #: what fills a finished row's remaining masks: EOS if known, else the pad id
    eos: int | None = None  #: ends a row under ``stop_at_eos``
    stops: list[list[int]] = field(default_factory=list)  #: token sequences that also end a row

    @classmethod
    def resolve(
        cls, config: PretrainedConfig | None, *, mask_token_id: int | None = None, eos_token_id: int | None = None,
        stop_at_eos: bool = False, stop_sequences: Sequence[Sequence[int]] = (),
    ) -> SpecialIds:
        """The ids for a model ``config`` (None: only the explicit ids), or a ValueError saying what to pass."""
        mask = _token_id(mask_token_id, config, "mask_token_id", "tokenizer.mask_token_id")
        eos = None
        if stop_at_eos:
            eos = _token_id(eos_token_id, config, "eos_token_id", "tokenizer.eos_token_id")
            if eos == mask:
                raise ValueError(f"eos_token_id={eos} equals mask_token_id; pass the id that ends an answer.")
        stops = _stop_sequences(stop_sequences, mask)
        pad = getattr(config, "pad_token_id", None)
        pad = pad if isinstance(pad, int) else 0
        fill = eos if eos is not None else next(
            (int(v) for v in (eos_token_id, getattr(config, "eos_token_id", None)) if _integer(v)), pad)
        return cls(mask, pad, fill, eos, stops)

    @property
    def ends(self) -> list[list[int]]:
        """Every sequence that ends a row: EOS (under ``stop_at_eos``) and the stop sequences."""
        return ([[self.eos]] if self.eos is not None else []) + self.stops

    @property
    def end_tokens(self) -> list[int]:
        """Tokens that end an answer (EOS, its padding, each stop sequence's first token): what
        ``min_new_tokens`` keeps out of an answer's first positions."""
        return sorted({self.pad, self.fill, *(s[0] for s in self.stops)})  # fill is the EOS when there is one

    @property
    def exempt(self) -> list[int]:
        """Tokens the repetition penalty never counts: masks, padding, the EOS fill, stop tags."""
        return sorted({self.mask, self.pad, self.fill, *(t for stop in self.stops for t in stop)})


def int_list(ids: object) -> list[int] | None:
    """A 1-D sequence of integer ids (list, tuple, numpy array, tensor) as a list; else None.

    >>> int_list(np.array([3, 4])), int_list([1.5])
    ([3, 4], None)
    """
    if isinstance(ids, (np.ndarray, torch.Tensor)):
        integer = ids.dtype.kind in "iu" if isinstance(ids, np.ndarray) else not (
            ids.dtype.is_floating_point or ids.dtype.is_complex or ids.dtype is torch.bool)
        return [int(t) for t in ids.tolist()] if ids.ndim == 1 and integer else None
    if not isinstance(ids, (list, tuple)):
        return None
    if not all(_integer(t) for t in ids):
        return None
    return [int(t) for t in ids]


def prompt_batch(
    input_ids: torch.Tensor | Sequence[Sequence[int]],
    attention_mask: torch.Tensor | None,
    pad_id: int,
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Prompts as ([B, P_max] long, right-padded with ``pad_id``; [B] lengths) on ``device``.

    Tensor prompts may be left- or right-padded (``attention_mask``); lists may differ in length.
    """
    if isinstance(input_ids, np.ndarray):
        if input_ids.dtype.kind not in "iu":
            raise ValueError(
                f"input_ids: expected integer token ids, got a numpy array of {input_ids.dtype}; "
                "pass input_ids.astype('int64')."
            )
        input_ids = torch.from_numpy(input_ids.astype(np.int64))
    if isinstance(input_ids, torch.Tensor):
        if input_ids.dim() != 2 or input_ids.dtype.is_floating_point or input_ids.dtype is torch.bool:
            raise ValueError(
                f"input_ids: expected an integer tensor [B, P], got {input_ids.dtype} of shape "
                f"{tuple(input_ids.shape)}; for one prompt pass input_ids[None]."
            )
        ids = input_ids.to(device=device, dtype=torch.long)
        if attention_mask is None:
            keep = torch.ones_like(ids, dtype=torch.bool)
        elif attention_mask.shape != input_ids.shape:
            raise ValueError(
                f"attention_mask has shape {tuple(attention_mask.shape)}, input_ids "
                f"{tuple(input_ids.shape)}; they must match."
            )
        else:
            keep = attention_mask.to(device) != 0
        # Move each row's real tokens to the front, in order (left padding becomes right padding).
        order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)
        ids, lengths = ids.gather(1, order), keep.sum(1)
    else:
        if attention_mask is not None:
            raise ValueError(
                "attention_mask is for tensor input_ids; a list of prompts already gives each length."
            )
        # prompts may be lists of Python or numpy ints, numpy arrays or 1-D tensors
        prompts = [int_list(p) for p in input_ids] if isinstance(input_ids, (list, tuple)) else []
        if not prompts or any(p is None for p in prompts):
            raise ValueError(
                "input_ids: expected a [B, P] tensor or a list of prompts (lists of ints), got "
                f"{type(input_ids).__name__}; for one prompt pass [ids]."
            )
        lengths = torch.tensor([len(p) for p in prompts], device=device)
        ids = torch.full((len(prompts), max(int(lengths.max()), 1)), pad_id, dtype=torch.long)
        for row, p in enumerate(prompts):
            ids[row, : len(p)] = torch.tensor(p, dtype=torch.long)
        ids = ids.to(device)
    if ids.shape[0] == 0 or bool((lengths == 0).any()):
        empty = [] if ids.shape[0] == 0 else (lengths == 0).nonzero().flatten().tolist()
        raise ValueError(
            f"input_ids: empty prompt (rows {empty} have no real tokens); every prompt needs at "
            "least one token, e.g. the tokenizer's [CLS]/BOS."
        )
    p_max = int(lengths.max())
    ids = ids[:, :p_max]
    ids = ids.masked_fill(torch.arange(p_max, device=device) >= lengths[:, None], pad_id)
    return ids, lengths


def check_prompts(
    prompts: torch.Tensor,
    lengths: torch.Tensor,
    mask_id: int,
    max_new_tokens: int,
    block_size: int,
    model: torch.nn.Module,
) -> None:
    """Raise ValueError for prompts the model cannot take: too long, ids outside its vocabulary, mask tokens."""
    p_max, config = prompts.shape[1], model.config
    limit = context_length(model)
    if limit is not None and p_max + max_new_tokens > limit:
        offset = position_offset(model)
        source = f"model.config.max_position_embeddings={config.max_position_embeddings}" + (
            f" less the {offset} position ids this RoBERTa-style model skips" if offset else "")
        room = limit - p_max
        fixes = []
        if max_new_tokens < limit:
            fixes.append(f"shorten the prompt to at most {limit - max_new_tokens} tokens (e.g. keep its last ones)")
        if room >= block_size:
            fixes.append(f"lower max_new_tokens to {room // block_size * block_size} or less (a multiple of "
                         f"block_size={block_size})")
        elif room >= 1:
            fixes.append(f"lower max_new_tokens and block_size to {room} or less")
        raise ValueError(
            f"the longest prompt has {p_max} tokens and max_new_tokens={max_new_tokens}: {p_max + max_new_tokens} "
            f"positions exceed the model's context of {limit} ({source}); " + " or ".join(fixes) + "."
        )
    real = torch.arange(p_max, device=prompts.device) < lengths[:, None]
    embeddings = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    vocab = getattr(embeddings, "num_embeddings", None) or getattr(config, "vocab_size", None)
    if vocab is not None and bool(((prompts < 0) | (prompts >= vocab))[real].any()):
        worst = int(prompts[real].max()) if bool((prompts >= vocab)[real].any()) else int(prompts[real].min())
        raise ValueError(
            f"input_ids: token id {worst} is outside the model's vocabulary [0, {vocab}). A tokenizer with more "
            "tokens than the model's embeddings (tokens added after loading?) needs "
            "model.resize_token_embeddings(len(tokenizer)); or load both with dlm_kit.backbones.load_backbone."
        )
    if bool((prompts == mask_id)[real].any()):
        raise ValueError(
            f"input_ids: the prompt contains mask_token_id={mask_id}; the sampler only fills the "
            "max_new_tokens positions after each prompt. Remove mask tokens from the prompt."
        )


@dataclass
class Canvas:
    """The whole canvas [B, L]: L = longest prompt + max_new_tokens."""

    x: torch.Tensor  #: [B, L] long: prompt tokens, then masks, then padding
    lengths: torch.Tensor  #: [B] real prompt tokens per row
    in_prompt: torch.Tensor  #: [B, L] bool
    in_new: torch.Tensor  #: [B, L] bool, the new-token positions
    attention_mask: torch.Tensor | None  #: [B, L] long, None when no row is padded (as the reference)

    @classmethod
    def build(cls, prompts: torch.Tensor, lengths: torch.Tensor, *, max_new_tokens: int, mask_id: int, pad_id: int) -> Canvas:
        """The canvas of right-padded ``prompts`` [B, P] with ``lengths`` [B] (from :func:`prompt_batch`)."""
        p_max = prompts.shape[1]
        arange = torch.arange(p_max + max_new_tokens, device=prompts.device)
        in_prompt = arange < lengths[:, None]
        real = arange < (lengths + max_new_tokens)[:, None]  # prompt and new tokens
        x = torch.where(real, mask_id, pad_id)
        x[in_prompt] = prompts[in_prompt[:, :p_max]]
        # Without padding, pass no mask at all, exactly like the reference (same kernels, same bits).
        return cls(x, lengths, in_prompt, real & ~in_prompt, None if bool(real.all()) else real.long())


class WorkingRows:
    """The rows of a :class:`Canvas` still being written, as one smaller canvas.

    ``x`` is the canvas itself while every row works; once rows leave (finished, or nothing left
    in the block) the others are copied out once, not at every step, and copied back by
    :meth:`synced`. ``on_select(rows, kept)`` tells the denoiser which rows remain. With
    ``static=True`` (compiled code wants fixed shapes) rows never leave.
    """

    def __init__(self, canvas: Canvas, *, on_select: Callable[[torch.Tensor, torch.Tensor | None], None],
                 static: bool = False) -> None:
        self.canvas, self.on_select, self.static = canvas, on_select, static
        self.rows = torch.arange(canvas.x.shape[0], device=canvas.x.device)  #: canvas row of each working row
        self.x, self.in_prompt, self.in_new, self.lengths = canvas.x, canvas.in_prompt, canvas.in_new, canvas.lengths
        self.finished = torch.zeros(canvas.x.shape[0], dtype=torch.bool, device=canvas.x.device)  #: [B]

    def synced(self) -> torch.Tensor:
        """The whole canvas [B, L], with the working rows' progress copied back."""
        if self.x is not self.canvas.x:
            self.canvas.x[self.rows] = self.x
        return self.canvas.x

    def start_block(self) -> None:
        """Every unfinished row works again (rows done with the last block come back; rows that
        finished on its final step leave)."""
        unfinished = (~self.finished).nonzero().squeeze(1)
        if self.static or torch.equal(self.rows, unfinished):
            return
        x = self.synced()
        # only rows that finished leave (no row comes back): the denoiser keeps the others' caches
        same = self.rows[None, :] == unfinished[:, None]  # [U, R]
        kept = same.int().argmax(1) if bool(same.any(1).all()) else None
        self.rows = unfinished
        c = self.canvas
        self.x, self.in_prompt, self.in_new, self.lengths = x[unfinished], c.in_prompt[unfinished], c.in_new[unfinished], c.lengths[unfinished]
        self.on_select(unfinished, kept)

    def keep(self, live: torch.Tensor, *per_row: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Only the ``live`` [R] (bool) rows work on; returns ``per_row`` tensors cut to them."""
        if self.static:
            return per_row
        x = self.synced()
        keep = live.nonzero().squeeze(1)
        self.rows = self.rows[keep]
        self.x, self.in_prompt, self.in_new, self.lengths = x[self.rows], self.in_prompt[keep], self.in_new[keep], self.lengths[keep]
        self.on_select(self.rows, keep)
        return tuple(t[keep] for t in per_row)

    def finish_at_stops(self, ids: SpecialIds) -> torch.Tensor:
        """Finish the working rows whose answer is complete (:func:`dlm_kit.sampler_steps.finish_at_stops`);
        returns the positions filled, bool [R, L]."""
        filled, done = finish_at_stops(self.x, self.in_new, ids.ends, ids.fill, ids.mask)
        self.finished[self.rows] |= done
        return filled
