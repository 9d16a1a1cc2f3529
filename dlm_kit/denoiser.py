"""The denoiser: the model's logits at the candidate positions of the working canvas.

One object hides the ways of computing them, all chosen once per :func:`dlm_kit.sampling.generate` call:

- ``mode="exact"``: the model's own forward over the whole canvas, indexed (the reference's tokens);
- ``mode="fast"``: the encoder over the canvas and the MLM head only at the candidates (the idea
  that training and :mod:`dlm_kit.likelihood` call ``head_on_masked_only``; "fast" is the released
  ``sampling_config.json`` value, so it keeps its name); for
  BERT, RoBERTa and ModernBERT through :class:`dlm_kit.layerwise.LayerwiseEncoder` (masks and
  rotary tables built once per call), optionally under ``torch.compile``, optionally with the
  approximate ``cache="prefix" | "dual"`` (Fast-dLLM's idea);
- ``cache="blocks"``: for a block-causal model (:class:`dlm_kit.a2d.CausalToDiffusion`), the exact
  key-value cache of the prompt and the committed blocks (:class:`dlm_kit.a2d.CommittedBlockCache`):
  each step runs only the block being written, and a written block is appended to the cache once;
- classifier-free guidance (``cfg_scale > 0``): a second, unconditional pass with the prompt masked,
  run in the same batch.

    >>> from dlm_kit.backbones import load_backbone
    >>> model, tok = load_backbone("tiny-bert", seed=0)
    >>> x = torch.tensor([[5, 6, tok.mask_token_id]])
    >>> denoiser = Denoiser(model.eval(), mode="fast", mask_id=tok.mask_token_id, batch=1, length=3)
    >>> denoiser.candidate_logits(x, x == 5, x == tok.mask_token_id).shape == (1, len(tok))
    True
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .a2d import CommittedBlockCache
from .heads import masked_lm_forward, masked_lm_logits, split_masked_lm
from .layerwise import LayerwiseEncoder
from .positions import position_ids

__all__ = ["CACHES", "COMPILE_MODES", "MODES", "Denoiser", "canvas_position_ids", "check_denoiser_settings", "check_mode"]

MODES = ("exact", "fast")
CACHES = ("none", "prefix", "dual", "blocks")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def check_mode(mode: str) -> str:
    """``mode`` if it is a sampler mode ('exact' or 'fast'), else a ValueError naming both.

    >>> check_mode("fast")
    'fast'
    """
    if mode not in MODES:
        raise ValueError(f"mode={mode!r}: allowed values are {MODES} ('exact' = the reference's tokens).")
    return mode


def check_denoiser_settings(mode: str, cache: str, compile: bool | str) -> None:
    """Raise ValueError for a mode, cache or compile value the denoiser does not know, or a bad mix.

    >>> check_denoiser_settings("exact", "none", True)
    Traceback (most recent call last):
    ...
    ValueError: compile=True needs mode='fast' (exact mode runs the model's own forward).
    """
    check_mode(mode)
    if cache not in CACHES:
        raise ValueError(f"cache={cache!r}: allowed values are {CACHES} ('none' = exact forward passes).")
    if compile not in (False, True) and compile not in COMPILE_MODES:
        raise ValueError(f"compile={compile!r}: pass False, True or a torch.compile mode {COMPILE_MODES}.")
    if compile and mode != "fast":
        raise ValueError(f"compile={compile!r} needs mode='fast' (exact mode runs the model's own forward).")


def canvas_position_ids(model: torch.nn.Module, batch: int, length: int, device: torch.device) -> torch.Tensor | None:
    """[B, L] explicit positions for RoBERTa-style models, else None (the model's own arange).

    RoBERTa derives positions from the input, skipping every pad id: with EOS = PAD (the tiny
    tokenizer) each committed EOS would count as padding and shift the positions after it.
    """
    return position_ids(model, torch.zeros(batch, length, dtype=torch.long, device=device))


def _twice(t: torch.Tensor | None, times: int) -> torch.Tensor | None:
    """``t`` [R, ...] stacked ``times`` over the batch (guidance's conditional and unconditional rows)."""
    return t if t is None or times == 1 else t.repeat(times, *[1] * (t.dim() - 1))


_COMPILED: dict[str, Callable] = {}


def _compiled_encoder(compile: bool | str) -> Callable:
    """``LayerwiseEncoder.encode`` of the whole canvas under torch.compile (one per compile mode,
    shared by all calls, so a second ``generate`` reuses the compiled code)."""
    mode = "default" if compile is True else compile
    if mode not in _COMPILED:
        _COMPILED[mode] = torch.compile(LayerwiseEncoder.encode, dynamic=False, mode=mode)
    return _COMPILED[mode]


class Denoiser:
    """The model's logits at the candidates of the working canvas; :meth:`select` follows the rows that remain.

    Args:
        model: a masked LM in eval mode.
        mode: "exact" or "fast" (see the module docstring).
        mask_id: the mask token (guidance hides the prompt behind it).
        batch, length: the canvas's shape [B, L].
        cfg_scale: classifier-free guidance weight w (0 = none).
        cache: "none", or the approximate "prefix" / "dual" cache (fast mode, BERT-family models), or
            the exact "blocks" cache (block-causal models from :mod:`dlm_kit.a2d`).
        compile: False, True or a ``torch.compile`` mode (fast mode, BERT-family, no cache).
        positions: [B, L] explicit position ids (RoBERTa-style models), or None.
        attention_mask: [B, L], or None when no row is padded.
        block_size: the sampler's block size (``cache="blocks"`` runs one block per step).
    """

    def __init__(self, model: torch.nn.Module, *, mode: str, mask_id: int, batch: int, length: int,
                 cfg_scale: float = 0.0, cache: str = "none", compile: bool | str = False,
                 positions: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                 block_size: int | None = None) -> None:
        self.model, self.fast, self.cfg_scale, self.mask_id = model, mode == "fast", cfg_scale, mask_id
        self.cache = cache
        self.positions, self.attention_mask = positions, attention_mask
        self.head, self.layerwise, self.encode_all = None, None, None
        self.static = bool(compile)  # compiled code wants fixed shapes: rows never leave the batch
        self.rows, self.batch = batch, batch  # working rows of the canvas (each twice under guidance)
        self._positions, self._attention_mask = positions, attention_mask  # of every row, for select
        if self.fast:
            parts = split_masked_lm(model)
            halves = 2 if cfg_scale > 0 else 1  # guidance runs conditional and unconditional rows together
            self.layerwise = None if parts is None else LayerwiseEncoder.build(
                model, batch=batch * halves, length=length, attention_mask=_twice(attention_mask, halves),
                position_ids=_twice(positions, halves))
            self.head = None if parts is None else parts[1]
            if self.layerwise is not None and compile:
                self.encode_all = _compiled_encoder(compile)
        self.block_size, self.answer_offset, self.committed = block_size, 0, None
        if cache == "blocks" and (not getattr(model, "reads_prompt_lengths", False) or model.block_size is None
                                  or cfg_scale > 0 or block_size is None):
            raise ValueError(f"cache='blocks' is the exact cache of a block-causal model (dlm_kit.a2d.CausalToDiffusion "
                             f"with a block_size), without guidance (got {type(model).__name__}, cfg_scale={cfg_scale}); "
                             "pass cache='none'.")
        if cache in ("prefix", "dual") and self.layerwise is None:
            raise ValueError(f"cache={cache!r} needs mode='fast' and a BERT, RoBERTa or ModernBERT masked LM "
                             f"(got mode={mode!r}, {type(model).__name__}); pass cache='none'.")
        if compile and (self.layerwise is None or cache != "none"):
            raise ValueError(
                f"compile={compile!r} compiles the fast mode's layer-wise encoder of a BERT, RoBERTa or "
                f"ModernBERT masked LM over the whole canvas (got mode={mode!r}, cache={cache!r}, "
                f"{type(model).__name__}); pass compile=False, or mode='fast' with cache='none'.")
        self.block_end = length

    def new_block(self, block_end: int, answer_offset: int = 0) -> None:
        """A new block starts, ending before column ``block_end`` in every working row and
        ``answer_offset`` tokens into each answer: the next step refreshes the cache from the canvas
        (the block cache appends the block just written instead)."""
        self.block_end, self.answer_offset = block_end, answer_offset
        if self.layerwise is not None:
            self.layerwise.cache = None

    def select(self, work: torch.Tensor, kept: torch.Tensor | None) -> None:
        """Work on the canvas rows ``work`` from now on; ``kept``: the same rows as indices into the
        rows worked on so far (they keep their cache), None when rows come back."""
        self.positions = None if self._positions is None else self._positions[work]
        self.attention_mask = None if self._attention_mask is None else self._attention_mask[work]
        if self.layerwise is not None:
            twice = (lambda r, n: r) if self.cfg_scale <= 0 else (lambda r, n: torch.cat([r, r + n]))
            self.layerwise.select(twice(work, self.batch), None if kept is None else twice(kept, self.rows))
        self.rows = len(work)
        if kept is not None and self.committed is not None:
            self.committed.keep_rows(kept)
        else:
            self.committed = None  # rows come back: the block cache is built again

    def candidate_logits(self, x: torch.Tensor, in_prompt: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """Logits [M, V] at the ``candidates`` [R, L] (bool) of the working canvas ``x`` [R, L]."""
        if self.cfg_scale > 0:
            # Classifier-free guidance: the unconditional input hides the prompt behind masks. Both
            # halves run in one batch, conditional first, and combine in the reference's order.
            x = torch.cat([x, x.masked_fill(in_prompt, self.mask_id)])
            candidates = candidates.repeat(2, 1)
        # a block-causal model counts its blocks from each row's answer start, as the sampler does
        starts = in_prompt.sum(1) if getattr(self.model, "reads_prompt_lengths", False) else None
        if self.cache == "blocks":
            return self._block_logits(x, starts, candidates)
        logits = self._logits_at(x, candidates, _twice(starts, 2 if self.cfg_scale > 0 else 1))
        if self.cfg_scale <= 0:
            return logits
        cond, uncond = logits.chunk(2)
        return uncond + (self.cfg_scale + 1) * (cond - uncond)

    def _logits_at(self, x: torch.Tensor, where: torch.Tensor, prompt_lengths: torch.Tensor | None = None) -> torch.Tensor:
        attention_mask = _twice(self.attention_mask, 2 if self.cfg_scale > 0 else 1)
        positions = _twice(self.positions, 2 if self.cfg_scale > 0 else 1)
        if self.layerwise is not None:
            return self.head(self._hidden(x, where))
        if self.fast:  # an architecture LayerwiseEncoder does not know: the head, still only where needed
            return masked_lm_logits(self.model, x, where, attention_mask=attention_mask, position_ids=positions,
                                    prompt_lengths=prompt_lengths)
        return masked_lm_forward(self.model, x, attention_mask=attention_mask, position_ids=positions,
                                 prompt_lengths=prompt_lengths).logits[where]

    def _block_logits(self, x: torch.Tensor, prompt_lengths: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
        """Logits at ``where`` from the committed blocks' cache and the current block alone."""
        starts = prompt_lengths + self.answer_offset
        offset = torch.arange(x.shape[1], device=x.device)[None, :] - starts[:, None]
        if bool((where & ((offset < 0) | (offset >= self.block_size))).any()):
            # a mask left in an earlier block (the model predicted [MASK] there): the full forward, exact
            return self._logits_at(x, where, prompt_lengths)
        if self.committed is not None and not torch.equal(self.committed.starts, starts):
            # the block before is written: append it, unless the canvas moved on otherwise (a block skipped)
            if bool((starts - self.committed.starts == self.block_size).all()) and self.committed.still_valid(x):
                self.committed.advance(x)
            else:
                self.committed = None
        if self.committed is None or not self.committed.still_valid(x):
            self.committed = CommittedBlockCache(self.model, x, prompt_lengths=prompt_lengths, starts=starts,
                                                 block_size=self.block_size, attention_mask=self.attention_mask)
        logits, columns = self.committed.block_logits(x)
        return logits[where.gather(1, columns)]

    def _hidden(self, x: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
        """Last hidden states [M, H] at ``where``: the whole canvas, or with a cache a window of it
        from the first candidate column to the block's end (dual) or the canvas's end (prefix)."""
        lw = self.layerwise
        if self.cache == "none":
            hidden = self.encode_all(lw, x) if self.encode_all is not None else lw.encode(x)
            return hidden[where]
        if lw.cache is None:  # the block's first step (or rows left): refresh every layer's keys and values
            return lw.encode(x, store=True)[where]
        start = int(where.any(0).int().argmax())  # the first column with a candidate
        end = self.block_end if self.cache == "dual" else x.shape[1]
        return lw.encode(x, start, end)[where[:, start:end]]
