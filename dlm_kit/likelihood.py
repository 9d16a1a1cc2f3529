"""How likely is a continuation under a masked diffusion LM? The MDLM bound, exact or sampled.

A masked diffusion model has no left-to-right factorisation, so a continuation of L tokens is
scored with the MDLM bound (Sahoo et al. 2024, "Simple and Effective Masked Diffusion Language
Models"; Nie et al. 2025, "Large Language Diffusion Models"): draw a number of masks l in
1..L, mask l random continuation tokens, and add (L / l) x the log-probabilities of the masked
tokens given the context and the unmasked ones. Its expectation is the log-likelihood averaged over all L!
generation orders (for L = 1 the exact log-likelihood).

- :func:`exact_loglikelihood` computes that expectation by enumerating the 2**L - 1 mask sets;
- :func:`mc_loglikelihood` estimates it by Monte Carlo (and enumerates when that is cheaper);
- :func:`rolling_windows` cuts a long text into windows, each with the text before it as context;
- :func:`is_greedy` says whether the greedy sampler would write the continuation;
- :func:`encode_pair` tokenises a (context, continuation) pair as training does.

Only masked positions are ever scored, so by default (``head_on_masked_only=True``) the MLM head runs only on
them (:func:`dlm_kit.heads.masked_lm_logits`); ``head_on_masked_only=False`` takes the full forward's logits,
the same numbers up to float rounding. Every function accepts an empty context.

    >>> from dlm_kit.backbones import load_backbone
    >>> model, tok = load_backbone("tiny-bert", seed=0)
    >>> exact = exact_loglikelihood(model.eval(), [[5, 6]], [[7, 8]], mask_token_id=tok.mask_token_id)
    >>> mc = mc_loglikelihood(model, [[5, 6]], [[7, 8]], mask_token_id=tok.mask_token_id, num_samples=3)
    >>> mc == exact  # 2**2 - 1 rows <= 3 samples: the estimator enumerates
    True
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from itertools import combinations

import torch
import torch.nn.functional as F
from transformers import PreTrainedTokenizerBase
from tqdm.auto import tqdm

from .heads import masked_lm_forward, masked_lm_logits
from .positions import context_length, position_ids
from .sampler_steps import commit_top_k, predict_tokens, ranking_score

__all__ = ["encode_pair", "fit_context", "exact_loglikelihood", "mc_loglikelihood", "model_max_length", "rolling_windows",
           "is_greedy"]

logger = logging.getLogger(__name__)


def encode_pair(tokenizer: PreTrainedTokenizerBase, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """Token ids of ``context`` and ``continuation`` as training sees ``context + continuation``.

    The pair is encoded whole and split where the context ends, so a word cut across the seam
    is tokenised as in training; spaces at the end of the context move to the continuation (as
    lm-eval's Hugging Face model does). No special tokens are added. An empty context gives [].

    >>> from dlm_kit.backbones import build_tiny_tokenizer
    >>> tok = build_tiny_tokenizer()
    >>> ctx, cont = encode_pair(tok, "Sort the letters: c a b", " a b c")
    >>> tok.decode(cont), ctx + cont == tok("Sort the letters: c a b a b c")["input_ids"]
    ('a b c', True)
    """
    stripped = context.rstrip(" ")
    continuation = context[len(stripped) :] + continuation
    whole = tokenizer(stripped + continuation, add_special_tokens=False)["input_ids"]
    context_ids = tokenizer(stripped, add_special_tokens=False)["input_ids"] if stripped else []
    if whole[: len(context_ids)] != context_ids:  # the seam fell inside a token: keep them apart
        return context_ids, tokenizer(continuation, add_special_tokens=False)["input_ids"]
    return context_ids, whole[len(context_ids) :]


def _old_keyword_fast(fast: bool | None, head_on_masked_only: bool, where: str) -> bool:
    """The value of the renamed keyword: ``fast`` (the old name) wins when given, with a warning."""
    if fast is None:
        return head_on_masked_only
    warnings.warn(f"{where}(fast=...) is now head_on_masked_only=...; fast will be removed.", FutureWarning, stacklevel=3)
    return bool(fast)


def _logits_at(model, input_ids: torch.Tensor, attention_mask: torch.Tensor | None, rows: torch.Tensor,
               head_on_masked_only: bool) -> torch.Tensor:
    """Logits [N, V] at the N True positions of ``rows`` [B, L], in row-major order.

    RoBERTa-style models get explicit positions, so an EOS = PAD token inside a scored text does
    not shift the positions after it (:mod:`dlm_kit.positions`).
    """
    positions = position_ids(model, input_ids, attention_mask)
    if head_on_masked_only:
        return masked_lm_logits(model, input_ids, rows, attention_mask=attention_mask, position_ids=positions)
    return masked_lm_forward(model, input_ids, attention_mask=attention_mask, position_ids=positions).logits[rows]


def _pad(rows: Sequence[Sequence[int]], pad_token_id: int, device) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Right-padded ids [B, W] and the attention mask (None when no row is padded, as the sampler)."""
    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for b, row in enumerate(rows):
        input_ids[b, : len(row)] = torch.tensor(row, dtype=torch.long)
        attention_mask[b, : len(row)] = 1
    mask = None if bool(attention_mask.all()) else attention_mask.to(device)
    return input_ids.to(device), mask


def _masked_rows(context: list[int], continuation: list[int], masks: list[tuple[int, ...]], mask_token_id: int):
    for masked in masks:
        row = list(context) + list(continuation)
        for i in masked:
            row[len(context) + i] = mask_token_id
        yield row, [len(context) + i for i in masked], [continuation[i] for i in masked]


@torch.no_grad()
def _score_rows(model, rows: list[tuple[list[int], list[int], list[int]]], *, pad_token_id: int, batch_size: int,
                head_on_masked_only: bool) -> list[float]:
    """Sum of log p(target | row) over each row's masked positions, in batches of similar length.

    ``head_on_masked_only``: the head runs only on the masked positions, and identical inputs (the all-masked
    row that every sample of a request draws, one-token choices after one question) run once.
    """
    device = next(model.parameters()).device
    groups: dict[object, list[int]] = {}  # one input -> the rows that score targets on it
    for i, (ids, positions, _) in enumerate(rows):
        groups.setdefault((tuple(ids), tuple(sorted(positions))) if head_on_masked_only else i, []).append(i)
    inputs = sorted(groups.values(), key=lambda members: len(rows[members[0]][0]))
    scores = [0.0] * len(rows)
    for start in range(0, len(inputs), batch_size):
        chunk = inputs[start : start + batch_size]
        input_ids, attention_mask = _pad([rows[members[0]][0] for members in chunk], pad_token_id, device)
        scored = torch.zeros(input_ids.shape, dtype=torch.bool)
        for b, members in enumerate(chunk):
            scored[b, rows[members[0]][1]] = True
        logits = _logits_at(model, input_ids, attention_mask, scored.to(device), head_on_masked_only)  # [N, V]: scored only
        logp = F.log_softmax(logits.float(), dim=-1)
        flat = (scored.flatten().cumsum(0) - 1).view(scored.shape)  # (b, position) -> its row in logits
        where, targets, owners = [], [], []
        for b, members in enumerate(chunk):
            for i in members:
                positions = rows[i][1]
                where += flat[b, positions].tolist()
                targets += rows[i][2]
                owners += [i] * len(positions)
        values = logp[torch.tensor(where, device=device), torch.tensor(targets, device=device)]
        owner_ids = sorted(set(owners))
        local = {i: k for k, i in enumerate(owner_ids)}
        per_row = torch.zeros(len(owner_ids), dtype=torch.float64, device=device).index_add_(
            0, torch.tensor([local[i] for i in owners], device=device), values.double())
        for k, i in enumerate(owner_ids):
            scores[i] = per_row[k].item()
    return scores


def _check_lengths(contexts, continuations, max_length: int | None):
    if len(contexts) != len(continuations):
        raise ValueError(f"{len(contexts)} contexts but {len(continuations)} continuations; pass one of each per request.")
    for i, continuation in enumerate(continuations):
        if len(continuation) == 0:
            raise ValueError(f"Continuation {i} has no tokens: there is nothing to score (log-likelihood 0).")
        if max_length is not None and len(continuation) > max_length:
            raise ValueError(
                f"Continuation {i} has {len(continuation)} tokens, more than max_length={max_length}; "
                "score it with loglikelihood_rolling, which splits it into windows."
            )


def model_max_length(model: torch.nn.Module, max_length: int | None) -> int | None:
    """``max_length`` within the model's context: its positions when None, clamped (with a warning) when larger.

    >>> from dlm_kit.backbones import load_backbone
    >>> model, _ = load_backbone("tiny-bert", seed=0)
    >>> model_max_length(model, None) == model.config.max_position_embeddings, model_max_length(model, 8)
    (True, 8)
    """
    limit = context_length(model)
    if max_length is None:
        return limit
    if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 1:
        raise ValueError(f"max_length={max_length!r}: must be a positive int (positions per scored row), or None for the model's.")
    if limit is not None and max_length > limit:
        logger.warning("max_length=%d is more than the model's %d positions: using %d (older context tokens are dropped).",
                       max_length, limit, limit)
        return limit
    return max_length


def fit_context(context: Sequence[int], continuation: Sequence[int], max_length: int | None) -> list[int]:
    """Drop the oldest context tokens so that context + continuation fits ``max_length`` (maybe all of them).

    >>> fit_context([1, 2, 3, 4], [5, 6], 4), fit_context([1, 2], [3], None)
    ([3, 4], [1, 2])
    """
    if max_length is None or len(context) + len(continuation) <= max_length:
        return list(context)
    return list(context[len(context) + len(continuation) - max_length :])


_fit = fit_context  # the old private name


def exact_loglikelihood(
    model: torch.nn.Module,
    contexts: Sequence[Sequence[int]],
    continuations: Sequence[Sequence[int]],
    *,
    mask_token_id: int,
    pad_token_id: int | None = None,
    batch_size: int = 32,
    max_length: int | None = None,
    head_on_masked_only: bool = True,
    fast: bool | None = None,
) -> list[float]:
    """The MDLM log-likelihood bound of each continuation, computed exactly by enumeration.

    Sums over every non-empty set M of masked continuation tokens:
    ``sum_M 1 / (C(L, |M|) |M|) * sum_{i in M} log p(x_i | context, unmasked)``, which is the
    log-likelihood averaged over all L! generation orders (exact for L = 1; for a model whose
    conditionals agree with one joint distribution, exact for every L). Costs 2**L - 1 rows per
    continuation: for short continuations and for checking :func:`mc_loglikelihood`. Contexts
    longer than ``max_length`` (default and upper bound: the model's positions) minus the
    continuation lose their oldest tokens.

    >>> from dlm_kit.backbones import load_backbone
    >>> model, tok = load_backbone("tiny-bert", seed=0)
    >>> exact_loglikelihood(model.eval(), [[], [5]], [[7], [7]], mask_token_id=tok.mask_token_id)[0] < 0
    True
    """
    head_on_masked_only = _old_keyword_fast(fast, head_on_masked_only, "exact_loglikelihood")
    max_length = model_max_length(model, max_length)
    _check_lengths(contexts, continuations, max_length)
    pad = mask_token_id if pad_token_id is None else pad_token_id
    totals = [0.0] * len(contexts)
    for first in range(0, len(contexts), 128):  # bounded memory on large benchmarks
        rows, owners, weights = [], [], []
        for r in range(first, min(first + 128, len(contexts))):
            context, size = fit_context(contexts[r], continuations[r], max_length), len(continuations[r])
            if size > 16:
                raise ValueError(f"Continuation {r} has {size} tokens: 2**{size} rows is too many; use mc_loglikelihood.")
            masks = [m for count in range(1, size + 1) for m in combinations(range(size), count)]
            rows += list(_masked_rows(context, continuations[r], masks, mask_token_id))
            owners += [r] * len(masks)
            weights += [1 / (math.comb(size, len(m)) * len(m)) for m in masks]
        scores = _score_rows(model, rows, pad_token_id=pad, batch_size=batch_size, head_on_masked_only=head_on_masked_only)
        for owner, weight, score in zip(owners, weights, scores):
            totals[owner] += weight * score
    return totals


def mc_loglikelihood(
    model: torch.nn.Module,
    contexts: Sequence[Sequence[int]],
    continuations: Sequence[Sequence[int]],
    *,
    mask_token_id: int,
    pad_token_id: int | None = None,
    num_samples: int = 32,
    batch_size: int = 32,
    max_length: int | None = None,
    exact_when_cheaper: bool = True,
    generator: torch.Generator | None = None,
    progress: bool = False,
    head_on_masked_only: bool = True,
    fast: bool | None = None,
) -> list[float]:
    """Monte Carlo estimate of the MDLM log-likelihood bound of each continuation given its context.

    Sample j of ``num_samples`` masks l_j continuation tokens, l_j stratified over 1..L (every
    count equally often when L divides ``num_samples``), at random positions, and scores
    ``(L / l_j) * sum of log p(masked token | context, unmasked)``; the estimate is the mean. It is
    unbiased for the value :func:`exact_loglikelihood` computes, which it returns instead when
    that takes no more rows (2**L - 1 <= ``num_samples``, so always for L = 1) unless
    ``exact_when_cheaper=False``. Contexts longer than ``max_length`` minus the continuation lose
    their oldest tokens (all of them when the continuation fills ``max_length``). ``head_on_masked_only=True``
    runs the MLM head only on the masked positions; ``head_on_masked_only=False`` takes the full forward's logits
    (same numbers up to float rounding; ``benchmarks/likelihood_speed.py`` compares the two).

    >>> from dlm_kit.backbones import load_backbone
    >>> model, tok = load_backbone("tiny-bert", seed=0)
    >>> est = mc_loglikelihood(model.eval(), [[5, 6]], [[7, 8, 9]], mask_token_id=tok.mask_token_id)
    >>> est[0] < 0
    True
    """
    head_on_masked_only = _old_keyword_fast(fast, head_on_masked_only, "mc_loglikelihood")
    if not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"num_samples={num_samples!r}: must be a positive int (Monte Carlo samples per request).")
    max_length = model_max_length(model, max_length)
    _check_lengths(contexts, continuations, max_length)
    pad = mask_token_id if pad_token_id is None else pad_token_id
    generator = generator or torch.Generator().manual_seed(0)
    totals = [0.0] * len(contexts)
    exact = [r for r, c in enumerate(continuations) if exact_when_cheaper and 2 ** len(c) - 1 <= num_samples]
    if exact:
        values = exact_loglikelihood(
            model, [contexts[r] for r in exact], [continuations[r] for r in exact],
            mask_token_id=mask_token_id, pad_token_id=pad, batch_size=batch_size, max_length=max_length,
            head_on_masked_only=head_on_masked_only,
        )
        for r, value in zip(exact, values):
            totals[r] = value
    exact_set = set(exact)
    sampled = [r for r in range(len(contexts)) if r not in exact_set]
    # longest first, a few thousand rows at a time: similar lengths share a batch, and a large
    # benchmark never holds all of its masked rows in memory at once
    sampled.sort(key=lambda r: -(len(contexts[r]) + len(continuations[r])))
    per_chunk = max(1, 4096 // num_samples)
    bar = tqdm(total=len(sampled), desc="log-likelihood", disable=not progress, leave=False)
    for first in range(0, len(sampled), per_chunk):
        rows, owners, weights = [], [], []
        for r in sampled[first : first + per_chunk]:
            context, size = fit_context(contexts[r], continuations[r], max_length), len(continuations[r])
            shift = torch.rand((), generator=generator).item()
            counts = [1 + int((j + shift) * size / num_samples) for j in range(num_samples)]
            masks = [tuple(torch.randperm(size, generator=generator)[:count].tolist()) for count in counts]
            rows += list(_masked_rows(context, continuations[r], masks, mask_token_id))
            owners += [r] * num_samples
            weights += [size / (count * num_samples) for count in counts]
        scores = _score_rows(model, rows, pad_token_id=pad, batch_size=batch_size, head_on_masked_only=head_on_masked_only)
        for owner, weight, score in zip(owners, weights, scores):
            totals[owner] += weight * score
        bar.update(len(sampled[first : first + per_chunk]))
    bar.close()
    return totals


def rolling_windows(tokens: Sequence[int], *, max_length: int, context: int) -> list[tuple[list[int], list[int]]]:
    """Cut ``tokens`` into (context, continuation) windows that each fit ``max_length`` positions.

    The first window scores the first ``max_length`` tokens with no context; each later one scores
    the next ``max_length - context`` tokens given the ``context`` tokens before them. Summing
    each window's log-likelihood gives the chain rule log p(text) = sum_k log p(chunk_k | text
    before it), with the text before each chunk cut to its last ``context`` tokens (as every
    rolling evaluation cuts it, lm-eval's for autoregressive models too). ``context=0`` scores
    the windows independently.

    >>> rolling_windows(list(range(7)), max_length=4, context=2)
    [([], [0, 1, 2, 3]), ([2, 3], [4, 5]), ([4, 5], [6])]
    """
    if not isinstance(max_length, int) or max_length < 1:
        raise ValueError(f"max_length={max_length!r}: must be a positive int (positions per window).")
    if not isinstance(context, int) or not 0 <= context < max_length:
        raise ValueError(
            f"context={context!r}: must be an int in [0, max_length={max_length}) so each window scores "
            f"at least one new token; e.g. context={max_length // 2}."
        )
    tokens = list(tokens)
    windows = [([], tokens[:max_length])] if tokens else []
    stride = max_length - context
    for start in range(max_length, len(tokens), stride):
        windows.append((tokens[max(0, start - context) : start], tokens[start : start + stride]))
    return windows


def _unique_rows(key: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For a [R, W] tensor: the index of each distinct row's first occurrence [U], and which
    distinct row each row is [R]."""
    unique, inverse = torch.unique(key, dim=0, return_inverse=True)
    first = torch.full((len(unique),), key.shape[0], dtype=torch.long, device=key.device)
    first = first.scatter_reduce(0, inverse, torch.arange(key.shape[0], device=key.device), reduce="amin")
    return first, inverse


@torch.no_grad()
def is_greedy(
    model: torch.nn.Module,
    contexts: Sequence[Sequence[int]],
    continuations: Sequence[Sequence[int]],
    *,
    mask_token_id: int,
    pad_token_id: int | None = None,
    batch_size: int = 32,
    max_length: int | None = None,
    head_on_masked_only: bool = True,
    fast: bool | None = None,
) -> list[bool]:
    """Would the greedy sampler write exactly each continuation after its context?

    The sampler meant is :func:`dlm_kit.sampling.generate` at temperature 0 with one token per
    step over the whole continuation (``max_new_tokens = steps = block_size = L``, low-confidence
    remasking): each step commits the argmax token at the most confident masked position. The
    check replays that run teacher-forced: a continuation is greedy when at every step the most
    confident masked position predicts the continuation's own token there; a row leaves the batch
    at its first miss. Unlike ``generate``, an empty context is fine (the model writes from
    nothing). Contexts are cut to fit ``max_length`` as in :func:`mc_loglikelihood`. A
    continuation holding ``mask_token_id`` is never greedy (the sampler leaves a committed mask
    masked; it does not write it).

    >>> from dlm_kit.backbones import load_backbone
    >>> model, tok = load_backbone("tiny-bert", seed=0)
    >>> is_greedy(model.eval(), [[5, 6], []], [[7, 8], [9]], mask_token_id=tok.mask_token_id)
    [False, False]
    """
    head_on_masked_only = _old_keyword_fast(fast, head_on_masked_only, "is_greedy")
    max_length = model_max_length(model, max_length)
    _check_lengths(contexts, continuations, max_length)
    pad = mask_token_id if pad_token_id is None else pad_token_id
    device = next(model.parameters()).device
    fitted = [fit_context(c, t, max_length) for c, t in zip(contexts, continuations)]
    # a mask token in the continuation is never written (a committed [MASK] stays masked): False
    checked = [r for r, c in enumerate(continuations) if mask_token_id not in c]
    order = sorted(checked, key=lambda r: len(fitted[r]) + len(continuations[r]))
    result = [False] * len(contexts)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        x, attention_mask = _pad([fitted[r] + [mask_token_id] * len(continuations[r]) for r in chunk], pad, device)
        target, _ = _pad([fitted[r] + list(continuations[r]) for r in chunk], pad, device)
        starts = torch.tensor([len(fitted[r]) for r in chunk], device=device)
        ends = starts + torch.tensor([len(continuations[r]) for r in chunk], device=device)
        positions = torch.arange(x.shape[1], device=device)
        # [B, W]; the pad id may be the mask id (pad_token_id=None), so padding is excluded by position
        in_continuation = (positions >= starts[:, None]) & (positions < ends[:, None])
        alive = torch.ones(len(chunk), dtype=torch.bool, device=device)
        while True:
            masked = (x == mask_token_id) & in_continuation
            live = (masked.any(1) & alive).nonzero()[:, 0]  # rows still to check
            if len(live) == 0:
                break
            xr, candidates = x[live], masked[live]
            attn = None if attention_mask is None else attention_mask[live]
            if head_on_masked_only:  # identical canvases (choices of one length after one question) run once
                key = torch.cat([xr, candidates.long()] + ([] if attn is None else [attn]), dim=1)
                first, inverse = _unique_rows(key)
                inputs, at, attn_u = xr[first], candidates[first], None if attn is None else attn[first]
                logits = _logits_at(model, inputs, attn_u, at, head_on_masked_only)  # [M', V] at the unique canvases
                offset = (at.flatten().cumsum(0) - 1).view(at.shape)[inverse]  # [R, W]
                logits = logits[offset[candidates]]  # [M, V]
            else:
                logits = _logits_at(model, xr, attn, candidates, head_on_masked_only)  # [M, V]
            # the sampler's own step pieces: argmax and its probability, the low-confidence ranking,
            # one token committed per row (torch.topk, as the sampler)
            tokens, prob = predict_tokens(logits)
            score = ranking_score(candidates, prob)
            best = commit_top_k(score, torch.ones(len(live), dtype=torch.long, device=device)).int().argmax(1)  # [R]
            written = xr.masked_scatter(candidates, tokens).gather(1, best[:, None])[:, 0]
            wanted = target[live].gather(1, best[:, None])[:, 0]
            alive[live] &= written == wanted
            x[live, best] = wanted
        for b, r in enumerate(chunk):
            result[r] = bool(alive[b])
    return result
