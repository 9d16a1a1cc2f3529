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
import warnings
from dataclasses import dataclass
from typing import Callable, Literal, Sequence

import torch

from .canvas import Canvas, SpecialIds, WorkingRows, check_prompts, check_settings, prompt_batch
from .denoiser import Denoiser, canvas_position_ids, check_denoiser_settings, check_mode  # check_mode: re-exported
from .positions import context_length, position_offset  # re-exported
from .sampler_steps import forbid_early_ends, penalize_repeats, unmask_step, written_tokens  # penalize_repeats, written_tokens: re-exported

__all__ = ["Cache", "GenerationOutput", "GenerationStep", "Mode", "Remasking", "check_mode", "context_length", "generate",
           "penalize_repeats", "position_offset", "written_tokens"]

Remasking = Literal["low_confidence", "random"]
Mode = Literal["exact", "fast"]
Cache = Literal["none", "prefix", "dual", "blocks"]


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
    min_new_tokens: int = 0,
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
            "blocks" is exact, for block-causal models (:class:`dlm_kit.a2d.CausalToDiffusion`
            with a block size dividing `block_size`): the prompt's and the committed blocks'
            keys and values are computed once per block, and each step runs only the block being
            written (same tokens; `nfe` counts the steps, not the once-per-block prefix pass).
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
        min_new_tokens: the answer's first `min_new_tokens` positions never take an end token
            (EOS, the pad id, a stop sequence's first token; :func:`forbid_early_ends`), so no
            answer ends, or comes out empty, before that many tokens (Hugging Face's
            `min_new_tokens`). 0 (default) changes nothing.

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
    check_settings(max_new_tokens, steps, block_size, temperature, remasking, cfg_scale, threshold, repetition_penalty,
                   min_new_tokens)
    check_denoiser_settings(mode, cache, compile)
    ids = SpecialIds.resolve(model.config, mask_token_id=mask_token_id, eos_token_id=eos_token_id,
                             stop_at_eos=stop_at_eos, stop_sequences=stop_sequences)
    if model.training:
        warnings.warn("model is in training mode: dropout makes generation random; call model.eval().")
    device = next(model.parameters()).device
    prompts, lengths = prompt_batch(input_ids, attention_mask, ids.pad, device)
    check_prompts(prompts, lengths, ids.mask, max_new_tokens, block_size, model)
    canvas = Canvas.build(prompts, lengths, max_new_tokens=max_new_tokens, mask_id=ids.mask, pad_id=ids.pad)
    batch, length = canvas.x.shape
    denoiser = Denoiser(model, mode=mode, mask_id=ids.mask, batch=batch, length=length, cfg_scale=cfg_scale,
                        cache=cache, compile=compile, attention_mask=canvas.attention_mask, block_size=block_size,
                        positions=canvas_position_ids(model, batch, length, device))
    rows = WorkingRows(canvas, on_select=denoiser.select, static=denoiser.static)
    stopping = bool(ids.ends)
    columns = torch.arange(length, device=device)
    num_blocks = max_new_tokens // block_size
    steps_per_block = steps // num_blocks
    history: list[GenerationStep] | None = [] if return_history else None
    nfe = steps_taken = 0

    for block in range(num_blocks):
        rows.start_block()
        # Candidates are the masked positions before the block's end: the block's own, plus (as in
        # the reference) any left in earlier blocks where the model predicted the mask token.
        before_end = columns < (rows.lengths + (block + 1) * block_size)[:, None]  # [R, L]
        denoiser.new_block(int(rows.lengths.max()) + (block + 1) * block_size, answer_offset=block * block_size)
        for i in range(steps_per_block):
            candidates = (rows.x == ids.mask) & before_end
            live = candidates.any(1)
            if not bool(live.all()):
                if not bool(live.any()):
                    break  # block done early (threshold, EOS, steps > tokens): skip its other steps
                candidates, before_end = rows.keep(live, candidates, before_end)  # rows with no work leave

            logits = denoiser.candidate_logits(rows.x, rows.in_prompt, candidates)
            nfe += 2 if cfg_scale > 0 else 1
            if repetition_penalty != 1.0:
                written = written_tokens(rows.x, rows.in_new, logits.shape[-1], ids.exempt)
                logits = penalize_repeats(logits, written[candidates.nonzero()[:, 0]], repetition_penalty)
            if min_new_tokens:
                offset = (columns - rows.lengths[:, None])[candidates]  # [M] place in the answer
                logits = forbid_early_ends(logits, offset, min_new_tokens, ids.end_tokens)
            revealed, prob = unmask_step(
                rows.x, candidates, logits, mask_id=ids.mask, step=i, steps_per_block=steps_per_block,
                block_size=block_size, temperature=temperature, remasking=remasking, threshold=threshold,
                generator=generator, want_prob=return_history or on_step is not None)
            filled = rows.finish_at_stops(ids) if stopping else None
            if history is not None or on_step is not None:
                record = _record(rows.synced(), rows.rows, revealed, filled, candidates, prob, block, steps_taken)
                if history is not None:
                    history.append(record)
                if on_step is not None:
                    on_step(record)
            steps_taken += 1
            if stopping and bool(rows.finished.all()):
                break
        if stopping and bool(rows.finished.all()):
            break
    return GenerationOutput(rows.synced(), lengths, nfe, steps_taken, history)


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
