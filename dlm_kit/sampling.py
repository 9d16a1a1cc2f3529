"""Block-diffusion sampling: fill a masked canvas after the prompt, block by block.

A masked diffusion LM (MDLM; Sahoo et al. 2024, arXiv:2406.07524) generates by starting from
`max_new_tokens` mask tokens after the prompt and *unmasking* them over `steps` forward passes.
As in LLaDA (Nie et al. 2025, arXiv:2502.09992) the new tokens are split into blocks of
`block_size` filled left to right (semi-autoregressive, cf. Block Diffusion, Arriola et al. 2025,
arXiv:2503.09573); within a block each step predicts every masked position and *commits* the
`k` most confident predictions, the rest stay masked ("low-confidence remasking").

`generate` computes exactly what the reference `generate` of the ModernBERT-large-chat model card
computes (same tokens for the same float32 model and inputs, with or without classifier-free
guidance, and for remasking="random" with the same seed), but does the per-step work only where
it matters:

- softmax, argmax and the float64 Gumbel noise run on the M masked positions up to the current
  block's end, [M, V], not on the whole [B, L, V] canvas (cf. LLaDA PR #124 on noise memory);
- one vectorised top-k replaces the reference's per-row Python loop;
- prompts of different lengths share a batch, each row laid out as it would be alone;
- extras the reference lacks: confidence-threshold parallel decoding (Fast-dLLM, Wu et al.
  2025, arXiv:2505.22618), exact early exit at EOS, and a step-by-step history.

As in the reference, a position where the model predicts the mask token itself stays masked and
competes again at later steps (it can even stay masked to the end: a trained model almost never
predicts [MASK], random ones do).

Two modes. `mode="exact"` (the default of `generate`) computes the model's logits for the whole
canvas, like the reference: running the output layer on fewer rows changes the BLAS blocking and,
measured on a 50k vocabulary, the logits' last bits, which breaks token identity at near-ties.
`mode="fast"` (the default of chat, the widget and evaluation) runs the encoder on the whole
canvas and the MLM head only on the candidate positions (`dlm_kit.heads`), the same numbers up
to float rounding; its agreement with the exact mode is measured in `docs/performance.md`.
For BERT, RoBERTa and ModernBERT fast mode runs the encoder through
`dlm_kit.layerwise.LayerwiseEncoder` (attention masks, rotary tables and positions built once per call,
bit-identical to the model's encoder), which also provides `compile=` (`torch.compile` of the
encoder, rows kept in the batch for fixed shapes) and the approximate `cache="prefix" | "dual"`
(Fast-dLLM's idea: the whole canvas on each block's first step, then only a window of positions).
`stop_sequences` ends a row at a token sequence such as the end-of-answer tag, as exactly as
`stop_at_eos` ends it at EOS.

Positions: `context_length(model)` is how many tokens a model takes (RoBERTa numbers positions
from `pad_token_id + 1`, so it takes fewer than `max_position_embeddings`), and RoBERTa-style
models get explicit position ids, so a committed EOS that equals the pad id is not taken for
padding (which would shift every later position).
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass
from typing import Callable, Literal, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .heads import masked_lm_forward, masked_lm_logits, split_masked_lm
from .layerwise import LayerwiseEncoder
from .positions import context_length, position_ids, position_offset  # context_length, position_offset: re-exported

__all__ = ["Cache", "GenerationOutput", "GenerationStep", "Mode", "Remasking", "context_length", "generate", "penalize_repeats",
           "position_offset", "written_tokens"]

Remasking = Literal["low_confidence", "random"]
_REMASKING = ("low_confidence", "random")
Mode = Literal["exact", "fast"]
_MODES = ("exact", "fast")
Cache = Literal["none", "prefix", "dual"]
_CACHES = ("none", "prefix", "dual")
_COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


@dataclass
class GenerationStep:
    """The canvas after one denoising step (what a notebook widget plays back).

    Shapes use the layout of `GenerationOutput.sequences` ([B, L], L = longest prompt +
    max_new_tokens); all tensors are on the CPU.
    """

    canvas: torch.Tensor  #: [B, L] long, the tokens after this step (mask id where still masked)
    revealed: torch.Tensor  #: [B, L] bool, positions committed at this step
    confidence: torch.Tensor  #: [B, L] float32, model probability of each token committed at this
    #: step (NaN elsewhere, and NaN for positions filled with EOS after an early exit)
    block: int  #: index of the block being filled
    step: int  #: index of this step over the whole generation (0-based)


@dataclass
class GenerationOutput:
    """What `generate` returns.

    Layout of padded batches: row i of `sequences` is its real prompt tokens (padding removed,
    whatever side it was on), then its `max_new_tokens` new tokens, then right padding
    (`model.config.pad_token_id`, 0 if unset) up to the longest prompt + max_new_tokens.
    A new position keeps the mask id only where the model itself kept predicting the mask token
    (as the reference does; trained models practically never do). After an early exit at EOS the
    tokens past a row's first EOS are filler: what was committed, and EOS for the masks.
    """

    sequences: torch.Tensor  #: [B, P_max + max_new_tokens] long, prompt then new tokens per row
    prompt_lengths: torch.Tensor  #: [B] long, real prompt tokens per row (new tokens start there)
    nfe: int  #: function evaluations: one per step, two per step with cfg_scale > 0 (cond+uncond)
    steps_taken: int  #: denoising steps run (fewer than `steps` after skipped steps, see generate)
    history: list[GenerationStep] | None = None  #: one record per step if return_history=True

    @property
    def new_tokens(self) -> torch.Tensor:
        """[B, max_new_tokens] long: only the generated tokens of each row."""
        n = self.sequences.shape[1] - int(self.prompt_lengths.max())
        pos = self.prompt_lengths[:, None] + torch.arange(n, device=self.sequences.device)
        return self.sequences.gather(1, pos)


@torch.no_grad()
def generate(
    model: torch.nn.Module,
    input_ids: torch.Tensor | Sequence[Sequence[int]],
    *,
    max_new_tokens: int = 128,
    steps: int = 128,
    block_size: int = 64,
    temperature: float = 0.0,
    remasking: Remasking = "low_confidence",
    cfg_scale: float = 0.0,
    threshold: float | None = None,
    stop_at_eos: bool = False,
    mask_token_id: int | None = None,
    return_history: bool = False,
    generator: torch.Generator | None = None,
    attention_mask: torch.Tensor | None = None,
    eos_token_id: int | None = None,
    on_step: Callable[[GenerationStep], None] | None = None,
    mode: Mode = "exact",
    stop_sequences: Sequence[Sequence[int]] = (),
    cache: Cache = "none",
    compile: bool | str = False,
    repetition_penalty: float = 1.0,
) -> GenerationOutput:
    """Generate `max_new_tokens` tokens after each prompt with a masked LM.

    Args:
        model: any Hugging Face masked LM (`model(input_ids=, attention_mask=).logits`). Put it in
            eval mode first (dropout would make generation random); gradients are off inside.
        input_ids: [B, P] long tensor, or a list of prompts (lists of ints) of any lengths.
        max_new_tokens: tokens to generate per prompt; a multiple of `block_size`.
        steps: denoising steps in all; each of the `max_new_tokens // block_size` blocks gets
            `steps_per_block = steps // num_blocks` (must divide evenly, as in the reference).
            Each step commits about `block_size / steps_per_block` tokens (the reference's
            schedule). Steps left once a block has no masks (more steps than tokens, threshold,
            early exit) are skipped without a forward pass: same tokens, fewer NFE.
        block_size: tokens per block; blocks are filled left to right, one after the other.
        temperature: 0 takes the argmax token; > 0 samples it with Gumbel-max noise (float64,
            as the model card) from softmax(logits / temperature).
        remasking: which masked positions to commit: "low_confidence" the most probable
            predictions (deterministic at temperature 0), "random" uniformly drawn ones. At
            temperature 0, "random" with a CPU `generator` seeded s replays the reference run
            after `torch.manual_seed(s)` (same draws), unless steps_per_block > block_size.
        cfg_scale: classifier-free guidance w: logits = uncond + (w + 1) * (cond - uncond), the
            unconditional pass seeing the prompt masked. Costs two NFE per step.
        threshold: p in (0, 1] switches to parallel decoding: each step commits every masked
            token of the block with confidence >= p, at least one, and at least enough that the
            block still ends within its `steps_per_block` steps (an upper bound, not a fixed
            count); a block ends as soon as it has no masks. Needs remasking="low_confidence".
        stop_at_eos: exact early exit: a row is finished once it has committed an EOS with no
            mask before it (its text up to that EOS can no longer change); its remaining masked
            positions are filled with `eos_token_id` and it leaves the batch; generation stops
            when every row is finished. Tokens up to the first EOS equal a run without it
            (in float32 up to the batch caveat below).
        mask_token_id: id of the mask token; default `model.config.mask_token_id`. Usually
            `tokenizer.mask_token_id`.
        return_history: record a `GenerationStep` after every step.
        generator: torch.Generator (on the model's device) for the random draws (temperature > 0
            or remasking="random"), so a run replays; None uses torch's global RNG.
        attention_mask: [B, P] with 1 on real prompt tokens, for padded tensor prompts (left or
            right padding).
        eos_token_id: for `stop_at_eos`; default `model.config.eos_token_id`.
        on_step: called with each step's `GenerationStep` as soon as the step is done (live
            views: the terminal, the widget); an addition to the reference's arguments.
        mode: "exact" computes the logits over the whole canvas, as the reference (same tokens);
            "fast" runs the MLM head only on the candidate positions (same logits up to float
            rounding, so the same tokens except at float32 near-ties; for architectures
            `dlm_kit.heads.split_masked_lm` does not know, the full forward, indexed).
        stop_sequences: token-id sequences that end an answer, e.g. the ids of the end-of-answer
            tag `[/Answer]`: a row is also finished once one of them is committed whole with no
            mask before it (exact, like `stop_at_eos`: the text before it cannot change); its
            remaining masks are filled with `eos_token_id` (or the config's EOS, else the pad id).
        cache: "none" (default) computes every step on the whole canvas. "prefix" and "dual" are
            approximate (Fast-dLLM's idea, for BERT, RoBERTa and ModernBERT in fast mode): the
            first step of each block runs the whole canvas and keeps every layer's keys and
            values; the block's other steps recompute only the positions from the block's first
            candidate to the end of the canvas ("prefix") or to the block's end ("dual"), the
            other positions attending with the keys and values of the block's first step. Not
            the reference's tokens: its agreement and accuracy are in `docs/performance.md`.
        compile: False (default), True or a `torch.compile` mode ("reduce-overhead" uses CUDA
            graphs on a GPU): fast mode runs the encoder on the whole canvas under
            `torch.compile`. Rows then stay in the batch to the end (fixed shapes, no
            recompilation); the first call compiles (tens of seconds), later ones reuse it.
        repetition_penalty: > 1 makes a token already written in the row's answer less likely
            at every other position (Hugging Face's `repetition_penalty`: a positive logit is
            divided by it, a negative one multiplied; :func:`penalize_repeats`). Only the
            answer counts, not the prompt (an answer may reuse the question's words); EOS, the
            pad id and the stop sequences' tokens are exempt (padding an answer repeats EOS).
            1.0 (default) changes nothing.

    Returns:
        GenerationOutput with `.sequences` [B, P_max + max_new_tokens] (layout in its docstring),
        `.new_tokens` [B, max_new_tokens], `.prompt_lengths`, `.nfe`, `.steps_taken`,
        `.history`.

    Batched == one at a time, precisely: each row keeps the positions it has alone and padding is
    hidden by the attention mask, so a row computes the same function batched or alone, and in
    float64 the tokens are identical (tested). In float32 a different batch shape (padding, rows
    leaving the batch) changes the kernels' rounding, so logits move by ~1e-6 and a near-tie
    between two candidates can flip (measured: 1 prompt in 41 on random ModernBERTs).

    Example:
        >>> from transformers import BertConfig, BertForMaskedLM
        >>> _ = torch.manual_seed(0)
        >>> config = BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=1,
        ...                     num_attention_heads=2, intermediate_size=64)
        >>> model = BertForMaskedLM(config).eval()
        >>> out = generate(model, [[2, 5, 7], [2, 9]], max_new_tokens=8, steps=8, block_size=4,
        ...                mask_token_id=3)
        >>> out.sequences.shape, out.new_tokens.shape, out.nfe
        (torch.Size([2, 11]), torch.Size([2, 8]), 8)
    """
    config = model.config
    _check_settings(max_new_tokens, steps, block_size, temperature, remasking, cfg_scale, threshold, repetition_penalty)
    check_mode(mode)
    if cache not in _CACHES:
        raise ValueError(f"cache={cache!r}: allowed values are {_CACHES} ('none' = exact forward passes).")
    if compile not in (False, True) and compile not in _COMPILE_MODES:
        raise ValueError(f"compile={compile!r}: pass False, True or a torch.compile mode {_COMPILE_MODES}.")
    if compile and mode != "fast":
        raise ValueError(f"compile={compile!r} needs mode='fast' (exact mode runs the model's own forward).")
    mask_id = _token_id(mask_token_id, config, "mask_token_id", "tokenizer.mask_token_id")
    eos_id = None
    if stop_at_eos:
        eos_id = _token_id(eos_token_id, config, "eos_token_id", "tokenizer.eos_token_id")
        if eos_id == mask_id:
            raise ValueError(f"eos_token_id={eos_id} equals mask_token_id; pass the id that ends an answer.")
    stops = _stop_sequences(stop_sequences, mask_id)
    if model.training:
        warnings.warn("model is in training mode: dropout makes generation random; call model.eval().")

    device = next(model.parameters()).device
    pad_id = getattr(config, "pad_token_id", None)
    pad_id = pad_id if isinstance(pad_id, int) else 0
    prompts, lengths = _prompt_batch(input_ids, attention_mask, pad_id, device)
    _check_prompts(prompts, lengths, mask_id, max_new_tokens, block_size, model)
    fill_id = eos_id if eos_id is not None else _fill_id(eos_token_id, config, pad_id)

    # Canvas, row i = [prompt_i, max_new_tokens masks, pads]: every row keeps the positions it
    # would have alone, so batched == one at a time; pads are hidden by the attention mask.
    batch, p_max = prompts.shape
    length = p_max + max_new_tokens
    arange = torch.arange(length, device=device)
    in_prompt = arange < lengths[:, None]  # [B, L]
    real = arange < (lengths + max_new_tokens)[:, None]  # [B, L] prompt and new tokens
    in_new = real & ~in_prompt  # [B, L] new tokens
    x = torch.where(real, mask_id, pad_id)
    x[in_prompt] = prompts[in_prompt[:, :p_max]]
    # Without padding, pass no mask at all, exactly like the reference (same kernels, same bits).
    attn = None if bool(real.all()) else real.long()
    # RoBERTa-style models: explicit positions (else a committed EOS = pad id is read as padding)
    positions = _position_ids(model, batch, length, device)
    forward = _Forward(model, mode, positions, attn, cfg_scale, mask_id, cache, compile, batch, length)
    stopping = eos_id is not None or bool(stops)
    ends = ([[eos_id]] if eos_id is not None else []) + stops
    want_prob = remasking == "low_confidence" or return_history or on_step is not None
    # tokens a repeat does not count for: padding an answer with EOS, a stop tag, masks, pads
    exempt = sorted({mask_id, pad_id, fill_id, *(t for stop in stops for t in stop)})

    num_blocks = max_new_tokens // block_size
    steps_per_block = steps // num_blocks
    finished = torch.zeros(batch, dtype=torch.bool, device=device)
    history: list[GenerationStep] | None = [] if return_history else None
    nfe = steps_taken = 0
    # The working rows: one canvas for the whole call. `xw` is `x` itself while every row works;
    # once rows are done (finished, or no masks left in the block) the others are copied out
    # once, not at every step. With compile, rows never leave (static shapes: no recompilation).
    work = torch.arange(batch, device=device)
    xw, in_prompt_w, in_new_w, lengths_w = x, in_prompt, in_new, lengths

    for block in range(num_blocks):
        # Candidates are the masked positions before the block's end: the block's own, plus (as in
        # the reference) any left in earlier blocks where the model predicted the mask token.
        unfinished = (~finished).nonzero().squeeze(1)
        if not forward.static and not torch.equal(work, unfinished):
            # rows done with the last block but not finished work again; rows that finished on
            # the last block's final step (still in the batch) leave
            if xw is not x:
                x[work] = xw
            work = unfinished
            xw, in_prompt_w, in_new_w, lengths_w = x[work], in_prompt[work], in_new[work], lengths[work]
            forward.select(work, None)
        before_end = arange < (lengths_w + (block + 1) * block_size)[:, None]  # [R, L]
        forward.new_block(int(lengths_w.max()) + (block + 1) * block_size)
        for i in range(steps_per_block):
            cand = (xw == mask_id) & before_end
            live = cand.any(1)
            if not bool(live.all()):
                if not bool(live.any()):
                    break  # block done early (threshold, EOS, steps > tokens): skip its other steps
                if not forward.static:  # rows with no work left leave the batch
                    if xw is not x:
                        x[work] = xw
                    keep = live.nonzero().squeeze(1)
                    work, xw, cand, before_end = work[keep], x[work[keep]], cand[keep], before_end[keep]
                    in_prompt_w, in_new_w, lengths_w = in_prompt_w[keep], in_new_w[keep], lengths_w[keep]
                    forward.select(work, keep)

            logits = forward.candidate_logits(xw, in_prompt_w, cand)
            nfe += 2 if cfg_scale > 0 else 1
            if repetition_penalty != 1.0:
                written = written_tokens(xw, in_new_w, logits.shape[-1], exempt)
                logits = penalize_repeats(logits, written[cand.nonzero()[:, 0]], repetition_penalty)
            tokens, prob = _predict(logits, temperature, generator, want_prob)  # [M], [M]
            proposal = xw.masked_scatter(cand, tokens)  # [R, L], every candidate filled in
            score = _ranking_score(cand, prob, remasking, generator)  # [R, L]
            k = _tokens_to_commit(cand.sum(1), score, i, steps_per_block, block_size, threshold)
            commit = _top_k_mask(score, k)  # [R, L]
            xw.copy_(torch.where(commit, proposal, xw))
            # a committed mask token (the model predicted [MASK]) leaves the position masked
            revealed = commit & (proposal != mask_id)

            filled = None
            if stopping:
                filled, done = _finish_at_stops(xw, in_new_w, ends, fill_id, mask_id)
                finished[work] |= done
            if history is not None or on_step is not None:
                if xw is not x:
                    x[work] = xw
                record = _record(x, work, revealed, filled, cand, prob, block, steps_taken)
                if history is not None:
                    history.append(record)
                if on_step is not None:
                    on_step(record)
            steps_taken += 1
            if stopping and bool(finished.all()):
                break
        if stopping and bool(finished.all()):
            break

    if xw is not x:
        x[work] = xw
    return GenerationOutput(x, lengths, nfe, steps_taken, history)


def check_mode(mode: str) -> str:
    """``mode`` if it is a sampler mode ('exact' or 'fast'), else a ValueError naming both.

    >>> check_mode("fast")
    'fast'
    """
    if mode not in _MODES:
        raise ValueError(f"mode={mode!r}: allowed values are {_MODES} ('exact' = the reference's tokens).")
    return mode


def _position_ids(model: torch.nn.Module, batch: int, length: int, device: torch.device) -> torch.Tensor | None:
    """[B, L] explicit positions for RoBERTa-style models, else None (the model's own arange).

    RoBERTa derives positions from the input, skipping every pad id: with EOS = PAD (the tiny
    tokenizer) each committed EOS would count as padding and shift the positions after it.
    """
    return position_ids(model, torch.zeros(batch, length, dtype=torch.long, device=device))


class _Forward:
    """The model's logits at the candidate positions of the working canvas.

    "exact": the whole canvas's logits, indexed (as the reference). "fast": the encoder on the
    canvas and the MLM head only on the candidates; for BERT, RoBERTa and ModernBERT through
    `LayerwiseEncoder` (its masks and rotary tables built once per call), optionally compiled,
    optionally with the approximate prefix / dual cache. Keeps the attention mask and position
    ids of the working rows (`select` drops the rows that leave).
    """

    def __init__(self, model, mode: str, positions, attention_mask, cfg_scale: float, mask_id: int,
                 cache: str, compile: bool | str, batch: int, length: int) -> None:
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
        if cache != "none" and self.layerwise is None:
            raise ValueError(f"cache={cache!r} needs mode='fast' and a BERT, RoBERTa or ModernBERT masked LM "
                             f"(got mode={mode!r}, {type(model).__name__}); pass cache='none'.")
        if compile and (self.layerwise is None or cache != "none"):
            raise ValueError(
                f"compile={compile!r} compiles the fast mode's layer-wise encoder of a BERT, RoBERTa or "
                f"ModernBERT masked LM over the whole canvas (got mode={mode!r}, cache={cache!r}, "
                f"{type(model).__name__}); pass compile=False, or mode='fast' with cache='none'.")
        self.block_end = length

    def new_block(self, block_end: int) -> None:
        """A new block starts, ending before column `block_end` in every working row: the next step
        refreshes the cache from the whole canvas."""
        self.block_end = block_end
        if self.layerwise is not None:
            self.layerwise.cache = None

    def select(self, work: torch.Tensor, kept: torch.Tensor | None) -> None:
        """Work on the canvas rows `work` from now on; `kept`: the same rows as indices into the
        rows worked on so far (they keep their cache), None when rows come back."""
        self.positions = None if self._positions is None else self._positions[work]
        self.attention_mask = None if self._attention_mask is None else self._attention_mask[work]
        if self.layerwise is not None:
            twice = (lambda r, n: r) if self.cfg_scale <= 0 else (lambda r, n: torch.cat([r, r + n]))
            self.layerwise.select(twice(work, self.batch), None if kept is None else twice(kept, self.rows))
        self.rows = len(work)

    def candidate_logits(self, x: torch.Tensor, in_prompt: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """Logits [M, V] at the `candidates` [R, L] (bool) of the working canvas `x` [R, L]."""
        if self.cfg_scale > 0:
            # Classifier-free guidance: the unconditional input hides the prompt behind masks. Both
            # halves run in one batch, conditional first, and combine in the reference's order.
            x = torch.cat([x, x.masked_fill(in_prompt, self.mask_id)])
            candidates = candidates.repeat(2, 1)
        logits = self._logits_at(x, candidates)
        if self.cfg_scale <= 0:
            return logits
        cond, uncond = logits.chunk(2)
        return uncond + (self.cfg_scale + 1) * (cond - uncond)

    def _logits_at(self, x: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
        attention_mask = _twice(self.attention_mask, 2 if self.cfg_scale > 0 else 1)
        positions = _twice(self.positions, 2 if self.cfg_scale > 0 else 1)
        if self.layerwise is not None:
            return self.head(self._hidden(x, where))
        if self.fast:  # an architecture LayerwiseEncoder does not know: the head, still only where needed
            return masked_lm_logits(self.model, x, where, attention_mask=attention_mask, position_ids=positions)
        return masked_lm_forward(self.model, x, attention_mask=attention_mask, position_ids=positions).logits[where]

    def _hidden(self, x: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
        """Last hidden states [M, H] at `where`: the whole canvas, or with a cache a window of it
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


def _twice(t: torch.Tensor | None, times: int) -> torch.Tensor | None:
    """`t` [R, ...] stacked `times` over the batch (guidance's conditional and unconditional rows)."""
    return t if t is None or times == 1 else t.repeat(times, *[1] * (t.dim() - 1))


_COMPILED: dict[str, Callable] = {}


def _compiled_encoder(compile: bool | str) -> Callable:
    """`LayerwiseEncoder.encode` of the whole canvas under torch.compile (one per compile mode,
    shared by all calls, so a second `generate` reuses the compiled code)."""
    mode = "default" if compile is True else compile
    if mode not in _COMPILED:
        _COMPILED[mode] = torch.compile(LayerwiseEncoder.encode, dynamic=False, mode=mode)
    return _COMPILED[mode]


def _predict(
    logits: torch.Tensor, temperature: float, generator: torch.Generator | None, want_prob: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A token for each row of `logits` [M, V] and, if wanted, its probability: ([M], [M])."""
    if temperature > 0:
        # Gumbel-max as the card's add_gumbel_noise, in float64, but on [M, V] instead of the
        # whole [B, L, V] canvas: argmax exp(l) / (-log u)^T is a sample of softmax(l / T).
        u = torch.rand(logits.shape, dtype=torch.float64, device=logits.device, generator=generator)
        tokens = (logits.double().exp() / (-torch.log(u)) ** temperature).argmax(-1)
    else:
        tokens = logits.argmax(-1)
    if not want_prob:
        return tokens, None
    return tokens, F.softmax(logits, dim=-1).gather(-1, tokens[:, None]).squeeze(-1)


def written_tokens(canvas: torch.Tensor, in_answer: torch.Tensor, vocab_size: int, exempt: Sequence[int] = ()) -> torch.Tensor:
    """Bool [R, V]: which tokens each canvas row [R, L] has written at its answer positions.

    ``in_answer`` [R, L] marks the answer positions; a token in ``exempt`` (the mask id, EOS,
    padding) never counts.

    >>> canvas = torch.tensor([[1, 4, 4, 0], [1, 2, 0, 0]])  # 0 = mask
    >>> written_tokens(canvas, canvas != 1, 5, exempt=[0]).int()
    tensor([[0, 0, 0, 0, 1],
            [0, 0, 1, 0, 0]], dtype=torch.int32)
    """
    ids = torch.where(in_answer, canvas, exempt[0] if exempt else 0)
    written = torch.zeros(canvas.shape[0], vocab_size, dtype=torch.bool, device=canvas.device)
    written.scatter_(1, ids, in_answer)
    if exempt:
        written[:, list(exempt)] = False
    return written


def penalize_repeats(logits: torch.Tensor, written: torch.Tensor, penalty: float) -> torch.Tensor:
    """Hugging Face's repetition penalty: logits [M, V] of tokens ``written`` [M, V] made less likely.

    A positive logit is divided by ``penalty``, a negative one multiplied by it, so a written
    token always loses probability for ``penalty > 1``.

    >>> penalize_repeats(torch.tensor([[2.0, -1.0, 3.0]]), torch.tensor([[True, True, False]]), 2.0)
    tensor([[ 1., -2.,  3.]])
    """
    penalized = torch.where(logits > 0, logits / penalty, logits * penalty)
    return torch.where(written, penalized, logits)


def _ranking_score(
    candidates: torch.Tensor,
    prob: torch.Tensor | None,
    remasking: str,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """[R, L] score that decides which candidates to commit first; -inf off the candidates."""
    if remasking == "low_confidence":
        score = torch.full(candidates.shape, -math.inf, dtype=prob.dtype, device=candidates.device)
        return score.masked_scatter(candidates, prob)
    # Drawn over whole canvas rows like the reference, so a seeded single-prompt run replays it.
    score = torch.rand(candidates.shape, device=candidates.device, generator=generator)
    return score.masked_fill(~candidates, -math.inf)


def _tokens_to_commit(
    left: torch.Tensor,
    score: torch.Tensor,
    step: int,
    steps_per_block: int,
    block_size: int,
    threshold: float | None,
) -> torch.Tensor:
    """How many of its `left` [R] candidates each row commits at this step of the block, [R]."""
    if threshold is None:
        # The reference schedule (get_num_transfer_tokens): block_size tokens spread evenly over
        # the block's steps, the remainder on the first steps.
        k = block_size // steps_per_block + int(step < block_size % steps_per_block)
        return torch.clamp(left, max=k)
    confident = (score >= threshold).sum(1)
    steps_left = steps_per_block - step
    catch_up = (left + steps_left - 1) // steps_left  # keeps the block within its step budget
    return torch.maximum(torch.maximum(confident, catch_up), torch.ones_like(left)).minimum(left)


def _top_k_mask(score: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Bool [R, L]: the k[r] highest scores of each row (torch.topk, as the reference)."""
    k_max = int(k.max())
    top = score.topk(k_max, dim=1).indices  # sorted, highest first
    keep = torch.arange(k_max, device=score.device) < k[:, None]
    return torch.zeros_like(score, dtype=torch.bool).scatter(1, top, keep)


def _finish_at_stops(
    xw: torch.Tensor,
    in_new: torch.Tensor,
    stops: list[list[int]],
    fill_id: int,
    mask_id: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Finish the rows of the canvas `xw` [R, L] whose first stop sequence (EOS, an end tag) is
    committed whole with no mask before it, filling their remaining masks with `fill_id`.

    `in_new` [R, L] marks the new-token positions. Updates `xw` in place; returns the filled
    positions, bool [R, L], and the rows finished, bool [R].
    """
    end = xw.shape[1]
    is_mask = (xw == mask_id) & in_new
    at_stop = torch.zeros_like(is_mask)  # [R, L]: a stop sequence starts here
    for stop in stops:
        n = len(stop)
        if n > end:
            continue
        windows = xw.unfold(1, n, 1)  # [R, L - n + 1, n]
        match = (windows == torch.tensor(stop, device=xw.device)).all(-1)
        match &= in_new[:, : end - n + 1] & in_new[:, n - 1 :]  # whole sequence among new tokens
        at_stop[:, : end - n + 1] |= match
    first_stop = torch.where(at_stop.any(1), at_stop.int().argmax(1), end)  # argmax: first True
    first_mask = torch.where(is_mask.any(1), is_mask.int().argmax(1), end)
    done = at_stop.any(1) & (first_mask > first_stop)
    filled = done[:, None] & is_mask
    xw.masked_fill_(filled, fill_id)
    return filled, done


def _stop_sequences(stop_sequences: Sequence[Sequence[int]], mask_id: int) -> list[list[int]]:
    """`stop_sequences` as lists of ints, or a ValueError saying what to pass."""
    fix = "pass a list of token-id lists, e.g. [tokenizer('[/Answer]', add_special_tokens=False)['input_ids']]"
    if isinstance(stop_sequences, (str, bytes)) or not isinstance(stop_sequences, Sequence):
        raise ValueError(f"stop_sequences={stop_sequences!r}: {fix}.")
    result = []
    for stop in stop_sequences:
        ids = _int_list(stop)
        if not ids:
            raise ValueError(f"stop_sequences: {stop!r} is not a non-empty sequence of token ids; {fix}.")
        if mask_id in ids:
            raise ValueError(f"stop_sequences: {ids} contains mask_token_id={mask_id}; a stop must be real tokens.")
        result.append(ids)
    return result


def _int_list(ids) -> list[int] | None:
    """A 1-D sequence of integer ids (list, tuple, numpy array, tensor) as a list; else None."""
    if isinstance(ids, (np.ndarray, torch.Tensor)):
        integer = ids.dtype.kind in "iu" if isinstance(ids, np.ndarray) else not (
            ids.dtype.is_floating_point or ids.dtype.is_complex or ids.dtype is torch.bool)
        return [int(t) for t in ids.tolist()] if ids.ndim == 1 and integer else None
    if not isinstance(ids, (list, tuple)):
        return None
    if not all(isinstance(t, numbers.Integral) and not isinstance(t, bool) for t in ids):
        return None
    return [int(t) for t in ids]


def _fill_id(eos_token_id: int | None, config, pad_id: int) -> int:
    """What fills a row's masks after a stop sequence: the EOS id if known, else the pad id."""
    for value in (eos_token_id, getattr(config, "eos_token_id", None)):
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)
    return pad_id


def _record(
    x: torch.Tensor,
    rows: torch.Tensor,
    revealed: torch.Tensor,
    filled: torch.Tensor | None,
    candidates: torch.Tensor,
    prob: torch.Tensor,
    block: int,
    step: int,
) -> GenerationStep:
    """Snapshot the canvas [B, L] after a step, on the CPU; the other tensors cover `rows` only."""
    nan = torch.full(candidates.shape, math.nan, device=x.device)
    confidence = nan.masked_scatter(candidates, prob.float()).masked_fill(~revealed, math.nan)
    if filled is not None:  # EOS fill-ins count as revealed, without a confidence
        revealed = revealed | filled
    all_revealed = torch.zeros_like(x, dtype=torch.bool)
    all_revealed[rows] = revealed
    all_confidence = torch.full(x.shape, math.nan)
    all_confidence[rows.cpu()] = confidence.cpu()
    # copy=True: on a CPU model .cpu() would alias the canvas that later steps overwrite
    return GenerationStep(x.to("cpu", copy=True), all_revealed.cpu(), all_confidence, block, step)


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


def _check_settings(
    max_new_tokens: int,
    steps: int,
    block_size: int,
    temperature: float,
    remasking: str,
    cfg_scale: float,
    threshold: float | None,
    repetition_penalty: float = 1.0,
) -> None:
    """Raise ValueError, naming the argument and the fix, for settings the sampler can't run."""
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
    if remasking not in _REMASKING:
        raise ValueError(f"remasking={remasking!r}: allowed values are {_REMASKING}.")
    if not 0 <= temperature < math.inf:  # also rejects NaN
        raise ValueError(f"temperature={temperature!r}: must be >= 0 and finite (0 = argmax, no sampling).")
    if not 0 <= cfg_scale < math.inf:
        raise ValueError(f"cfg_scale={cfg_scale!r}: must be >= 0 and finite (0 = no guidance).")
    if not 0 < repetition_penalty < math.inf:
        raise ValueError(f"repetition_penalty={repetition_penalty!r}: must be > 0 and finite "
                         "(1.0 = off; 1.1-1.5 discourages repeated words).")
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


def _prompt_batch(
    input_ids: torch.Tensor | Sequence[Sequence[int]],
    attention_mask: torch.Tensor | None,
    pad_id: int,
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Prompts as ([B, P_max] long, right-padded with pad_id; [B] lengths) on `device`."""
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
        prompts = [_int_list(p) for p in input_ids] if isinstance(input_ids, (list, tuple)) else []
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


def _check_prompts(
    prompts: torch.Tensor,
    lengths: torch.Tensor,
    mask_id: int,
    max_new_tokens: int,
    block_size: int,
    model: torch.nn.Module,
) -> None:
    """Raise ValueError for prompts the model cannot take."""
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
