"""The pieces of one denoising step, each a small pure function on tensors.

One step of block diffusion, as notebook 04 writes it by hand:

1. :func:`predict_tokens`: a token for every candidate (masked) position, by argmax or, at a
   temperature, by Gumbel-max sampling, and its probability;
2. :func:`ranking_score`: which candidates to trust first: their probability
   ("low_confidence" remasking) or a random draw ("random");
3. :func:`tokens_to_commit`: how many to commit now: the reference schedule
   (:func:`tokens_per_step`) or, with a confidence threshold, every confident one
   (:func:`threshold_quota`);
4. :func:`commit_top_k`: the k best-ranked candidates of each row;
5. :func:`unmask_step`: steps 1–4 applied to a canvas;
6. :func:`finish_at_stops`: a row whose answer is complete (EOS or an end tag with no mask
   before it) is finished, its remaining masks filled.

:func:`written_tokens` and :func:`penalize_repeats` are the optional repetition penalty;
:func:`forbid_early_ends` the optional minimum answer length.
:func:`dlm_kit.sampling.generate` is the loop around these; :func:`dlm_kit.likelihood.is_greedy`
replays the same ranking teacher-forced. Shapes: ``R`` rows, ``L`` canvas positions, ``M``
candidate positions in all, ``V`` the vocabulary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = [
    "commit_top_k",
    "finish_at_stops",
    "forbid_early_ends",
    "penalize_repeats",
    "predict_tokens",
    "ranking_score",
    "threshold_quota",
    "tokens_per_step",
    "tokens_to_commit",
    "unmask_step",
    "written_tokens",
]


def predict_tokens(
    logits: torch.Tensor, temperature: float = 0.0, generator: torch.Generator | None = None, want_prob: bool = True
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A token for each row of ``logits`` [M, V] and, if wanted, its probability: ([M], [M] or None).

    At temperature 0 the argmax; above it Gumbel-max noise in float64, as the reference model
    card's ``add_gumbel_noise``: argmax exp(l) / (-log u)^T is a sample of softmax(l / T).

    >>> predict_tokens(torch.tensor([[0.0, 2.0, 1.0], [3.0, 0.0, 0.0]]))[0]
    tensor([1, 0])
    """
    if temperature > 0:
        u = torch.rand(logits.shape, dtype=torch.float64, device=logits.device, generator=generator)
        tokens = (logits.double().exp() / (-torch.log(u)) ** temperature).argmax(-1)
    else:
        tokens = logits.argmax(-1)
    if not want_prob:
        return tokens, None
    return tokens, F.softmax(logits, dim=-1).gather(-1, tokens[:, None]).squeeze(-1)


def ranking_score(
    candidates: torch.Tensor,
    prob: torch.Tensor | None,
    remasking: str = "low_confidence",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """[R, L] score deciding which candidates [R, L] (bool) to commit first; -inf off the candidates.

    "low_confidence": the predicted tokens' probabilities ``prob`` [M]; "random": a uniform draw
    over whole canvas rows, like the reference, so a seeded single-prompt run replays it.

    >>> ranking_score(torch.tensor([[False, True, True]]), torch.tensor([0.25, 0.75]))
    tensor([[  -inf, 0.2500, 0.7500]])
    """
    if remasking == "low_confidence":
        score = torch.full(candidates.shape, -math.inf, dtype=prob.dtype, device=candidates.device)
        return score.masked_scatter(candidates, prob)
    score = torch.rand(candidates.shape, device=candidates.device, generator=generator)
    return score.masked_fill(~candidates, -math.inf)


def tokens_per_step(step: int, steps_per_block: int, block_size: int) -> int:
    """The reference schedule (``get_num_transfer_tokens``): ``block_size`` tokens spread evenly
    over the block's steps, the remainder on the first steps.

    >>> [tokens_per_step(i, 3, 8) for i in range(3)]
    [3, 3, 2]
    """
    return block_size // steps_per_block + int(step < block_size % steps_per_block)


def threshold_quota(left: torch.Tensor, score: torch.Tensor, step: int, steps_per_block: int, threshold: float) -> torch.Tensor:
    """Confidence-threshold decoding (Fast-dLLM): per row [R], every candidate scoring at least
    ``threshold``, at least one, and at least enough that the ``left`` [R] candidates still fit
    in the block's remaining steps; never more than are left.

    >>> threshold_quota(torch.tensor([4, 4]), torch.tensor([[0.95, 0.9, 0.2, 0.1], [0.5, 0.4, 0.3, 0.2]]),
    ...                 step=0, steps_per_block=4, threshold=0.9)
    tensor([2, 1])
    """
    confident = (score >= threshold).sum(1)
    steps_left = steps_per_block - step
    catch_up = (left + steps_left - 1) // steps_left
    return torch.maximum(torch.maximum(confident, catch_up), torch.ones_like(left)).minimum(left)


def tokens_to_commit(
    left: torch.Tensor, score: torch.Tensor, step: int, steps_per_block: int, block_size: int, threshold: float | None
) -> torch.Tensor:
    """How many of its ``left`` [R] candidates each row commits at ``step`` of the block, [R].

    >>> tokens_to_commit(torch.tensor([8, 1]), torch.zeros(2, 8), 0, 4, 8, None)
    tensor([2, 1])
    """
    if threshold is None:
        return torch.clamp(left, max=tokens_per_step(step, steps_per_block, block_size))
    return threshold_quota(left, score, step, steps_per_block, threshold)


def commit_top_k(score: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Bool [R, L]: the ``k[r]`` highest scores of each row of ``score`` [R, L] (``torch.topk``, as the reference).

    >>> commit_top_k(torch.tensor([[0.1, 0.9, 0.5], [0.3, 0.2, 0.1]]), torch.tensor([2, 1]))
    tensor([[False,  True,  True],
            [ True, False, False]])
    """
    k_max = int(k.max())
    top = score.topk(k_max, dim=1).indices  # sorted, highest first
    keep = torch.arange(k_max, device=score.device) < k[:, None]
    return torch.zeros_like(score, dtype=torch.bool).scatter(1, top, keep)


def unmask_step(
    canvas: torch.Tensor,
    candidates: torch.Tensor,
    logits: torch.Tensor,
    *,
    mask_id: int,
    step: int,
    steps_per_block: int,
    block_size: int,
    temperature: float = 0.0,
    remasking: str = "low_confidence",
    threshold: float | None = None,
    generator: torch.Generator | None = None,
    want_prob: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One unmasking step: commit the best-ranked predictions at the ``candidates`` of ``canvas``.

    ``canvas`` [R, L] is updated in place; ``logits`` [M, V] are the model's at the candidates
    [R, L] (bool, M of them). Returns the positions revealed, bool [R, L] (a committed mask
    token, the model predicting [MASK], leaves its position masked), and the probabilities [M]
    of the predicted tokens (None when not wanted and not needed).

    >>> canvas = torch.tensor([[5, 0, 0]])  # 0 = mask
    >>> logits = torch.tensor([[0.0, 0.0, 4.0], [0.0, 1.0, 0.0]])  # position 1 sure of token 2
    >>> revealed, _ = unmask_step(canvas, canvas == 0, logits, mask_id=0, step=0, steps_per_block=2, block_size=2)
    >>> canvas, revealed
    (tensor([[5, 2, 0]]), tensor([[False,  True, False]]))
    """
    tokens, prob = predict_tokens(logits, temperature, generator, want_prob or remasking == "low_confidence")
    proposal = canvas.masked_scatter(candidates, tokens)  # every candidate filled in
    score = ranking_score(candidates, prob, remasking, generator)
    k = tokens_to_commit(candidates.sum(1), score, step, steps_per_block, block_size, threshold)
    commit = commit_top_k(score, k)
    canvas.copy_(torch.where(commit, proposal, canvas))
    return commit & (proposal != mask_id), prob


def finish_at_stops(
    canvas: torch.Tensor, in_new: torch.Tensor, stops: list[list[int]], fill_id: int, mask_id: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Finish the rows of ``canvas`` [R, L] whose first stop sequence (EOS, an end tag) is committed
    whole with no mask before it, filling their remaining masks with ``fill_id``.

    ``in_new`` [R, L] marks the new-token positions. Updates ``canvas`` in place; returns the
    filled positions, bool [R, L], and the rows finished, bool [R]. Exact: the text before the
    stop can no longer change.

    >>> canvas = torch.tensor([[1, 7, 9, 0], [1, 0, 9, 0]])  # 0 = mask, 9 = EOS
    >>> filled, done = finish_at_stops(canvas, canvas != 1, [[9]], fill_id=9, mask_id=0)
    >>> canvas.tolist(), done.tolist()
    ([[1, 7, 9, 9], [1, 0, 9, 0]], [True, False])
    """
    end = canvas.shape[1]
    is_mask = (canvas == mask_id) & in_new
    at_stop = torch.zeros_like(is_mask)  # [R, L]: a stop sequence starts here
    for stop in stops:
        n = len(stop)
        if n > end:
            continue
        windows = canvas.unfold(1, n, 1)  # [R, L - n + 1, n]
        match = (windows == torch.tensor(stop, device=canvas.device)).all(-1)
        match &= in_new[:, : end - n + 1] & in_new[:, n - 1 :]  # whole sequence among new tokens
        at_stop[:, : end - n + 1] |= match
    first_stop = torch.where(at_stop.any(1), at_stop.int().argmax(1), end)  # argmax: first True
    first_mask = torch.where(is_mask.any(1), is_mask.int().argmax(1), end)
    done = at_stop.any(1) & (first_mask > first_stop)
    filled = done[:, None] & is_mask
    canvas.masked_fill_(filled, fill_id)
    return filled, done


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


def forbid_early_ends(logits: torch.Tensor, answer_offset: torch.Tensor, min_new_tokens: int, end_ids: Sequence[int]) -> torch.Tensor:
    """Hugging Face's ``min_new_tokens`` for a canvas: no end token among the answer's first positions.

    ``logits`` [M, V] are the model's at M candidate positions, ``answer_offset`` [M] each
    candidate's place in its row's answer (0 = the first new token). Where the offset is below
    ``min_new_tokens`` the ``end_ids`` (EOS, padding, the end-of-answer tag) get -inf, so every
    answer holds at least ``min_new_tokens`` tokens before it can end. An autoregressive model
    simply writes on; a diffusion model must commit some other token at those positions.

    >>> logits = torch.tensor([[0.0, 5.0, 1.0], [0.0, 5.0, 1.0]])  # token 1 ends the answer
    >>> forbid_early_ends(logits, torch.tensor([0, 3]), 2, [1]).argmax(-1)
    tensor([2, 1])
    """
    if min_new_tokens <= 0 or not end_ids:
        return logits
    early = (answer_offset < min_new_tokens)[:, None]  # [M, 1]
    is_end = torch.zeros(logits.shape[-1], dtype=torch.bool, device=logits.device)
    is_end[list(end_ids)] = True
    return logits.masked_fill(early & is_end, -math.inf)
