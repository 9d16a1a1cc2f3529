"""Block-diffusion sampling: fill a masked canvas after the prompt, block by block.

A masked diffusion LM (MDLM; Sahoo et al. 2024, arXiv:2406.07524) generates by starting from
`max_new_tokens` mask tokens after the prompt and *unmasking* them over `steps` forward passes.
As in LLaDA (Nie et al. 2025, arXiv:2502.09992) the new tokens are split into blocks of
`block_size` filled left to right (semi-autoregressive, cf. Block Diffusion, Arriola et al. 2025,
arXiv:2503.09573); within a block each step predicts every masked position and *commits* the
`k` most confident predictions, the rest stay masked ("low-confidence remasking").

`generate` computes exactly what the reference `generate` of the ModernBERT-large-chat model card
computes (same tokens for the same float32 model and inputs, with or without classifier-free
guidance), while doing the per-step work only on the current block:

- softmax, Gumbel noise and top-k run on the block's `[B, block_size, V]` logits, not the
  whole canvas, and the float64 noise only on the block's masked positions (LLaDA PR #124);
- one vectorised top-k replaces the reference's per-row Python loop;
- prompts of different lengths share a batch (each row laid out as it would be alone);
- optional extras that the reference lacks: confidence-threshold parallel decoding (Fast-dLLM,
  Wu et al. 2025, arXiv:2505.22618), exact early exit at EOS, and a step-by-step history.

The model's logits are still computed for the whole canvas: slicing the hidden states before the
output layer changes the BLAS blocking and, measured on a 50k vocabulary, the logits' last bits,
which would break the same-tokens contract at near-ties.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal, Sequence

import torch
import torch.nn.functional as F

__all__ = ["GenerationOutput", "GenerationStep", "Remasking", "generate"]

Remasking = Literal["low_confidence", "random"]
_REMASKING = ("low_confidence", "random")


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
    """

    sequences: torch.Tensor  #: [B, P_max + max_new_tokens] long, prompt then new tokens per row
    prompt_lengths: torch.Tensor  #: [B] long, real prompt tokens per row (new tokens start there)
    nfe: int  #: function evaluations: one per step, two per step with cfg_scale > 0 (cond+uncond)
    steps_taken: int  #: denoising steps run (fewer than `steps` with threshold or early exit)
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
) -> GenerationOutput:
    """Generate `max_new_tokens` tokens after each prompt with a masked LM.

    Args:
        model: any Hugging Face masked LM (`model(input_ids=, attention_mask=).logits`). Put it in
            eval mode first (dropout would make generation random); gradients are off inside.
        input_ids: [B, P] long tensor, or a list of prompts (lists of ints) of any lengths.
        max_new_tokens: tokens to generate per prompt; a multiple of `block_size`.
        steps: denoising steps in all; each of the `max_new_tokens // block_size` blocks gets
            `steps // num_blocks` (must divide evenly, as in the reference). Each step commits
            about `block_size / steps_per_block` tokens (the reference's schedule).
        block_size: tokens per block; blocks are filled left to right, one after the other.
        temperature: 0 takes the argmax token; > 0 samples it with Gumbel-max noise (float64,
            as the model card) from softmax(logits / temperature).
        remasking: which masked positions to commit: "low_confidence" the most probable
            predictions (deterministic at temperature 0), "random" uniformly drawn ones.
        cfg_scale: classifier-free guidance w: logits = uncond + (w + 1) * (cond - uncond), the
            unconditional pass seeing the prompt masked. Costs two NFE per step.
        threshold: p in (0, 1] switches to parallel decoding: each step commits every masked
            token of the block with confidence >= p, at least one, and at least enough that the
            block still ends within its `steps_per_block` steps (an upper bound, not a fixed
            count); a block ends as soon as it has no masks. Needs remasking="low_confidence".
        stop_at_eos: exact early exit: a row is finished once it has committed an EOS with no
            mask before it (its text up to that EOS can no longer change); its remaining masked
            positions are filled with `eos_token_id` and it leaves the batch; generation stops
            when every row is finished. Tokens up to the first EOS equal a run without it.
        mask_token_id: id of the mask token; default `model.config.mask_token_id`. Usually
            `tokenizer.mask_token_id`.
        return_history: record a `GenerationStep` after every step.
        generator: torch.Generator (on the model's device) for the random draws (temperature > 0
            or remasking="random"), so a run replays; None uses torch's global RNG.
        attention_mask: [B, P] with 1 on real prompt tokens, for padded tensor prompts (left or
            right padding).
        eos_token_id: for `stop_at_eos`; default `model.config.eos_token_id`.

    Returns:
        GenerationOutput with `.sequences` [B, P_max + max_new_tokens] (layout in its docstring),
        `.new_tokens` [B, max_new_tokens], `.prompt_lengths`, `.nfe`, `.steps_taken`,
        `.history`.

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
    _check_settings(max_new_tokens, steps, block_size, temperature, remasking, cfg_scale, threshold)
    mask_id = _token_id(mask_token_id, config, "mask_token_id", "mask_token_id=tokenizer.mask_token_id")
    eos_id = (
        _token_id(eos_token_id, config, "eos_token_id", "eos_token_id=tokenizer.eos_token_id")
        if stop_at_eos
        else None
    )
    if eos_id is not None and eos_id == mask_id:
        raise ValueError(f"eos_token_id={eos_id} equals mask_token_id; pass the id that ends an answer.")
    if model.training:
        warnings.warn("model is in training mode: dropout makes generation random; call model.eval()")

    device = next(model.parameters()).device
    pad_id = getattr(config, "pad_token_id", None)
    pad_id = pad_id if isinstance(pad_id, int) else 0
    prompts, lengths = _prompt_batch(input_ids, attention_mask, pad_id, device)
    _check_prompts(prompts, lengths, mask_id, max_new_tokens, config)

    # Canvas, row i = [prompt_i, max_new_tokens masks, pads]: every row keeps the positions it
    # would have alone, so batched == one at a time; pads are hidden by the attention mask.
    batch, p_max = prompts.shape
    length = p_max + max_new_tokens
    arange = torch.arange(length, device=device)
    in_prompt = arange < lengths[:, None]  # [B, L]
    real = arange < (lengths + max_new_tokens)[:, None]  # [B, L]
    x = torch.where(real, mask_id, pad_id)
    x[in_prompt] = prompts[in_prompt[:, :p_max]]
    # Without padding, pass no mask at all, exactly like the reference (same kernels, same bits).
    attn = None if bool(real.all()) else real.long()

    num_blocks = max_new_tokens // block_size
    steps_per_block = steps // num_blocks
    offsets = torch.arange(block_size, device=device)
    new_pos = lengths[:, None] + torch.arange(max_new_tokens, device=device)  # [B, N]
    finished = torch.zeros(batch, dtype=torch.bool, device=device)
    history: list[GenerationStep] | None = [] if return_history else None
    nfe = steps_taken = 0

    for block in range(num_blocks):
        pos = new_pos[:, block * block_size : (block + 1) * block_size]  # [B, S] canvas positions
        for i in range(steps_per_block):
            masked = x.gather(1, pos) == mask_id  # [B, S]
            live = masked.any(1)  # rows with work left in this block
            if not bool(live.any()):
                break  # threshold or EOS emptied the block early: no forward pass needed
            rows = live.nonzero().squeeze(1)
            xr, pr, mr = x[rows], pos[rows], masked[rows]

            logits = _block_logits(
                model, xr, None if attn is None else attn[rows], pr, in_prompt[rows], mask_id, cfg_scale
            )  # [R, S, V]
            nfe += 2 if cfg_scale > 0 else 1
            tokens, score, prob = _propose(
                logits, mr, pr, length, temperature, remasking, generator, return_history
            )
            k = _tokens_to_commit(mr, prob, i, steps_per_block, threshold)
            commit = _top_k_mask(score.masked_fill(~mr, -math.inf), k)  # [R, S]
            x[rows[:, None], pr] = torch.where(commit, tokens, xr.gather(1, pr))

            filled = None
            if eos_id is not None:
                filled = _finish_at_eos(x, rows, new_pos[rows], finished, eos_id, mask_id)
            if history is not None:
                history.append(
                    _record(x, rows, pr, commit, prob, new_pos[rows], filled, block, steps_taken)
                )
            steps_taken += 1
            if bool(finished.all()):
                break
        if eos_id is not None and bool(finished.all()):
            break

    return GenerationOutput(x, lengths, nfe, steps_taken, history)


def _block_logits(
    model: torch.nn.Module,
    x: torch.Tensor,
    attention_mask: torch.Tensor | None,
    pos: torch.Tensor,
    in_prompt: torch.Tensor,
    mask_id: int,
    cfg_scale: float,
) -> torch.Tensor:
    """Logits [R, S, V] at the block positions `pos` [R, S] of canvases `x` [R, L]."""
    if cfg_scale > 0:
        # Classifier-free guidance: the unconditional input hides the prompt behind masks. Both
        # halves run in one batch, conditional first, as in the reference.
        x = torch.cat([x, x.masked_fill(in_prompt, mask_id)])
        attention_mask = None if attention_mask is None else attention_mask.repeat(2, 1)
        pos = pos.repeat(2, 1)
    logits = model(input_ids=x, attention_mask=attention_mask).logits  # [R(x2), L, V]
    logits = logits.gather(1, pos[..., None].expand(-1, -1, logits.shape[-1]))
    if cfg_scale > 0:
        cond, uncond = logits.chunk(2)
        logits = uncond + (cfg_scale + 1) * (cond - uncond)
    return logits


def _propose(
    logits: torch.Tensor,
    masked: torch.Tensor,
    pos: torch.Tensor,
    length: int,
    temperature: float,
    remasking: str,
    generator: torch.Generator | None,
    want_prob: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Predict a token per block position; return (tokens, ranking score, probability), [R, S]."""
    tokens = logits.argmax(-1)
    if temperature > 0:
        # Gumbel-max as the card's add_gumbel_noise (float64), but only on the masked rows:
        # [M, V] instead of the whole [B, L, V] canvas. exp(l) / (-log u)^T peaks at a sample of
        # softmax(l / T).
        sub = logits[masked].double()
        u = torch.rand(sub.shape, dtype=torch.float64, device=sub.device, generator=generator)
        tokens[masked] = (sub.exp() / (-torch.log(u)) ** temperature).argmax(-1)
    prob = None
    if remasking == "low_confidence" or want_prob:
        prob = F.softmax(logits, dim=-1).gather(-1, tokens[..., None]).squeeze(-1)
    if remasking == "low_confidence":
        return tokens, prob, prob
    # Drawn over whole canvas rows like the reference, so a seeded single-prompt run replays it.
    u = torch.rand((pos.shape[0], length), device=pos.device, generator=generator)
    return tokens, u.gather(1, pos), prob


def _tokens_to_commit(
    masked: torch.Tensor, prob: torch.Tensor | None, step: int, steps_per_block: int, threshold: float | None
) -> torch.Tensor:
    """How many tokens each row commits at this step of the block, [R] long."""
    left = masked.sum(1)
    block_size = masked.shape[1]
    if threshold is None:
        # The reference schedule (get_num_transfer_tokens): block_size tokens spread evenly over
        # the block's steps, the remainder on the first steps.
        k = block_size // steps_per_block + int(step < block_size % steps_per_block)
        return torch.clamp(left, max=k)
    confident = ((prob >= threshold) & masked).sum(1)
    steps_left = steps_per_block - step
    catch_up = (left + steps_left - 1) // steps_left  # keeps the block within its step budget
    return torch.minimum(torch.maximum(torch.maximum(confident, catch_up), torch.ones_like(left)), left)


def _top_k_mask(score: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Bool [R, S]: the k[r] highest scores of each row (torch.topk order, as the reference)."""
    k_max = int(k.max())
    top = score.topk(k_max, dim=1).indices  # sorted, highest first
    keep = torch.arange(k_max, device=score.device) < k[:, None]
    return torch.zeros_like(score, dtype=torch.bool).scatter(1, top, keep)


def _finish_at_eos(
    x: torch.Tensor, rows: torch.Tensor, new_pos: torch.Tensor, finished: torch.Tensor, eos_id: int, mask_id: int
) -> torch.Tensor:
    """Finish rows whose first new EOS has no mask before it; fill their masks with EOS.

    Updates `x` and `finished` in place; returns the filled positions, bool [R, N].
    """
    new = x[rows].gather(1, new_pos)  # [R, N]
    n = new.shape[1]
    is_eos, is_mask = new == eos_id, new == mask_id
    first_eos = torch.where(is_eos.any(1), is_eos.int().argmax(1), n)
    first_mask = torch.where(is_mask.any(1), is_mask.int().argmax(1), n)
    done = is_eos.any(1) & (first_mask > first_eos)
    filled = done[:, None] & is_mask
    x[rows[:, None], new_pos] = new.masked_fill(filled, eos_id)
    finished[rows] |= done
    return filled


def _record(
    x: torch.Tensor,
    rows: torch.Tensor,
    pos: torch.Tensor,
    commit: torch.Tensor,
    prob: torch.Tensor,
    new_pos: torch.Tensor,
    filled: torch.Tensor | None,
    block: int,
    step: int,
) -> GenerationStep:
    """Snapshot the canvas after a step, on the CPU."""
    revealed = torch.zeros_like(x, dtype=torch.bool)
    revealed[rows[:, None], pos] = commit
    confidence = torch.full(x.shape, math.nan, dtype=torch.float32, device=x.device)
    confidence[rows[:, None], pos] = torch.where(commit, prob.float(), math.nan)
    if filled is not None:
        revealed[rows[:, None], new_pos] |= filled
    return GenerationStep(x.cpu(), revealed.cpu(), confidence.cpu(), block, step)


def _token_id(value: int | None, config, name: str, fix: str) -> int:
    """The explicit id, else the model config's, else a ValueError saying what to pass."""
    value = getattr(config, name, None) if value is None else value
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(
            f"{name}={value!r}: need one token id and model.config has none usable; pass {fix}."
        )
    vocab = getattr(config, "vocab_size", None)
    if value < 0 or (vocab is not None and value >= vocab):
        raise ValueError(f"{name}={value} is outside the vocabulary [0, {vocab}); pass {fix}.")
    return value


def _check_settings(
    max_new_tokens: int,
    steps: int,
    block_size: int,
    temperature: float,
    remasking: str,
    cfg_scale: float,
    threshold: float | None,
) -> None:
    """Raise ValueError, naming the argument and the fix, for settings the sampler can't run."""
    for name, value in (("max_new_tokens", max_new_tokens), ("steps", steps), ("block_size", block_size)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r}: must be a positive int.")
    if max_new_tokens % block_size:
        raise ValueError(
            f"block_size={block_size} must divide max_new_tokens={max_new_tokens} (blocks are "
            f"filled whole, one after another); pass block_size={math.gcd(block_size, max_new_tokens)} "
            f"or max_new_tokens={-(-max_new_tokens // block_size) * block_size}."
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
    if not temperature >= 0:  # also rejects NaN
        raise ValueError(f"temperature={temperature!r}: must be >= 0 (0 = argmax, no sampling).")
    if not cfg_scale >= 0:
        raise ValueError(f"cfg_scale={cfg_scale!r}: must be >= 0 (0 = no guidance).")
    if threshold is not None:
        if not 0 < threshold <= 1:
            raise ValueError(
                f"threshold={threshold!r}: must be in (0, 1] (a probability), or None for the "
                "reference schedule."
            )
        if remasking != "low_confidence":
            raise ValueError(
                f"threshold={threshold} needs remasking='low_confidence' (it thresholds the model's "
                f"confidence), got remasking={remasking!r}; pass threshold=None for random remasking."
            )


def _prompt_batch(
    input_ids: torch.Tensor | Sequence[Sequence[int]],
    attention_mask: torch.Tensor | None,
    pad_id: int,
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Prompts as ([B, P_max] long, right-padded with pad_id; [B] lengths) on `device`."""
    if isinstance(input_ids, torch.Tensor):
        if input_ids.dim() != 2 or input_ids.dtype.is_floating_point or input_ids.dtype == torch.bool:
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
            raise ValueError("attention_mask is for tensor input_ids; a list of prompts gives each length.")
        prompts = [list(p) for p in input_ids] if not isinstance(input_ids, (str, bytes)) else []
        if not prompts or any(not isinstance(t, int) for p in prompts for t in p):
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
    prompts: torch.Tensor, lengths: torch.Tensor, mask_id: int, max_new_tokens: int, config
) -> None:
    """Raise ValueError for prompts the model cannot take."""
    p_max = prompts.shape[1]
    limit = getattr(config, "max_position_embeddings", None)
    if limit is not None and p_max + max_new_tokens > limit:
        raise ValueError(
            f"prompt length {p_max} + max_new_tokens={max_new_tokens} = {p_max + max_new_tokens} "
            f"exceeds model.config.max_position_embeddings={limit}; shorten the prompt or pass "
            f"max_new_tokens<={max(limit - p_max, 0)} (a multiple of block_size)."
        )
    real = torch.arange(p_max, device=prompts.device) < lengths[:, None]
    vocab = getattr(config, "vocab_size", None)
    if vocab is not None and bool(((prompts < 0) | (prompts >= vocab))[real].any()):
        raise ValueError(f"input_ids: token ids must be in [0, vocab_size={vocab}).")
    if bool((prompts == mask_id)[real].any()):
        raise ValueError(
            f"input_ids: the prompt contains mask_token_id={mask_id}; the sampler only fills the "
            "max_new_tokens positions after each prompt. Remove mask tokens from the prompt."
        )
