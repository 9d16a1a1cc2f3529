"""Benchmark diffusion BERTs with lm-evaluation-harness: the ``dlm_kit`` model type.

Importing this module registers :class:`DiffusionLM` with lm-eval as ``model="dlm_kit"``:

    >>> import lm_eval, dlm_kit.evaluation
    >>> from dlm_kit.evaluation import task_manager
    >>> results = lm_eval.simple_evaluate(model="dlm_kit", model_args="pretrained=tiny-chat",
    ...     tasks=["dlm_kit_synthetic_mc"], task_manager=task_manager(), limit=4,
    ...     apply_chat_template=True, verbosity="ERROR")  # doctest: +SKIP

or from a shell: ``dlm-kit eval --model tiny-chat --tasks dlm_kit_synthetic_gen``.

How a masked LM answers lm-eval's three questions:

- ``loglikelihood(context, continuation)``: a masked diffusion model has no left-to-right
  factorisation, so it scores the continuation with the MDLM bound, estimated by Monte Carlo:
  draw a number of masks l (stratified over 1..L for the L continuation tokens), mask l random
  continuation tokens, and add (L / l) x the log-probabilities of the masked tokens; average over
  samples. Its expectation is the log-likelihood averaged over all generation orders (for L = 1 it
  is the exact log-likelihood); :func:`exact_loglikelihood` computes that expectation exactly for
  short continuations, and the estimator uses it whenever it needs fewer forward passes than
  sampling would (2**L - 1 <= ``mc_num``). ``is_greedy`` checks whether the kit's greedy sampler,
  given the context, writes exactly the continuation.
- ``loglikelihood_rolling(text)``: the same bound on the whole text, in lm-eval's rolling windows
  (a lower bound on the log-likelihood, so the perplexities it yields are upper bounds).
- ``generate_until(context, kwargs)``: :func:`dlm_kit.sampling.generate`, answers cut at the
  end-of-answer tag, EOS and lm-eval's stop strings. Chat models want their chat template: pass
  ``apply_chat_template=True`` to lm-eval (``dlm-kit eval`` does by default).

Tokenisation is the training one: ``tokenizer(text, add_special_tokens=False)``, no [CLS] / [SEP]
between context and continuation.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

try:
    from lm_eval.api.model import LM
    from lm_eval.api.registry import register_model
    from lm_eval.utils import get_rolling_token_windows, make_disjoint_window
except ImportError as error:  # an extra, not a core dependency
    raise ImportError(
        "dlm_kit.evaluation needs lm-evaluation-harness: pip install 'dlm-kit[eval]' "
        "(or pip install lm-eval)."
    ) from error

from .backbones import load_backbone
from .chat import trim_answer
from .sampling import generate

__all__ = [
    "DiffusionLM",
    "encode_pair",
    "mc_loglikelihood",
    "exact_loglikelihood",
    "task_manager",
    "run_tasks",
    "scores_by_field",
    "TASKS_DIR",
    "LOCAL_TASKS",
    "SEED_TABLE_TASKS",
]

logger = logging.getLogger(__name__)

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}

_PACKAGED_TASKS = Path(__file__).resolve().parent / "_tasks"  # only in an installed wheel (pyproject.toml)
TASKS_DIR = _PACKAGED_TASKS if _PACKAGED_TASKS.is_dir() else Path(__file__).resolve().parents[1] / "data" / "tasks"
"""The offline lm-eval tasks (project-authored YAML + JSONL): the wheel's copy, else the checkout's data/tasks."""

LOCAL_TASKS = ("dlm_kit_synthetic_gen", "dlm_kit_synthetic_mc")
"""Offline tasks in :data:`TASKS_DIR`: exact match by generation, and multiple choice by likelihood."""

SEED_TABLE_TASKS = {
    "LAMBADA": "lambada_openai",
    "GSM8K": "gsm8k",
    "CEVAL-valid": "ceval-valid",
    "BBH": "bbh",
    "Minerva-Math": "minerva_math",
    "MMLU": "mmlu",
    "Winogrande": "winogrande",
    "HellaSwag": "hellaswag",
    "CMMLU": "cmmlu",
}
"""The columns of the seed's results table and the lm-eval task behind each (hub data, `full`)."""


def task_manager(include_path: str | os.PathLike | None = None, **kwargs: Any):
    """An lm-eval ``TaskManager`` that also knows the kit's offline tasks.

    >>> "dlm_kit_synthetic_mc" in task_manager(include_defaults=False).all_tasks
    True
    """
    from lm_eval.tasks import TaskManager

    path = Path(include_path) if include_path is not None else TASKS_DIR
    if not path.is_dir():
        raise FileNotFoundError(
            f"No task folder at {path}. The offline tasks come with the dlm-kit wheel and the "
            "repository's data/tasks/: reinstall dlm-kit, or pass include_path= "
            "to a folder of lm-eval task YAMLs."
        )
    return TaskManager(include_path=str(path), **kwargs)


def run_tasks(model, tasks: Sequence[str] = LOCAL_TASKS, *, limit: int | float | None = None, num_fewshot: int | None = None,
              apply_chat_template: bool = True, **kwargs: Any) -> dict:
    """``lm_eval.simple_evaluate`` with the kit's tasks found, chat template on, and per-document samples kept.

    ``model`` is any lm-eval ``LM`` object: a :class:`DiffusionLM`, or lm-eval's ``HFLM`` wrapping
    an autoregressive model, so every model is scored by the same harness and the same prompts.
    """
    import lm_eval

    kwargs.setdefault("bootstrap_iters", 0)
    kwargs.setdefault("verbosity", "ERROR")
    return lm_eval.simple_evaluate(
        model=model, tasks=list(tasks), task_manager=kwargs.pop("task_manager", None) or task_manager(),
        limit=limit, num_fewshot=num_fewshot, apply_chat_template=apply_chat_template, log_samples=True, **kwargs,
    )


def scores_by_field(results: dict, task: str, *, field: str = "family", metric: str | None = None) -> dict[str, float]:
    """Mean per-document score of ``task`` grouped by a document field (e.g. the task family).

    ``metric`` defaults to the task's first one (exact_match for generation, acc for choice).
    """
    samples = results.get("samples", {}).get(task)
    if not samples:
        raise ValueError(f"No per-document samples for {task!r}: run it with log_samples=True (run_tasks does).")
    metric = metric or next(k for k in samples[0] if k in ("exact_match", "acc"))
    groups: dict[str, list[float]] = {}
    for sample in samples:
        groups.setdefault(sample["doc"][field], []).append(float(sample[metric]))
    return {key: sum(v) / len(v) for key, v in sorted(groups.items())}


def encode_pair(tokenizer, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """Token ids of ``context`` and ``continuation`` as training sees ``context + continuation``.

    The pair is encoded whole and split where the context ends, so a word cut across the seam
    is tokenised as in training; spaces at the end of the context move to the continuation (as
    lm-eval's Hugging Face model does). No special tokens are added.

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


def _masked_rows(context: list[int], continuation: list[int], masks: list[tuple[int, ...]], mask_token_id: int):
    for masked in masks:
        row = list(context) + list(continuation)
        for i in masked:
            row[len(context) + i] = mask_token_id
        yield row, [len(context) + i for i in masked], [continuation[i] for i in masked]


@torch.no_grad()
def _score_rows(model, rows: list[tuple[list[int], list[int], list[int]]], *, pad_token_id: int, batch_size: int) -> list[float]:
    """Sum of log p(target | row) over each row's masked positions, in batches of similar length."""
    device = next(model.parameters()).device
    order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]))
    scores = [0.0] * len(rows)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        width = max(len(rows[i][0]) for i in chunk)
        input_ids = torch.full((len(chunk), width), pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for b, i in enumerate(chunk):
            input_ids[b, : len(rows[i][0])] = torch.tensor(rows[i][0])
            attention_mask[b, : len(rows[i][0])] = 1
        logits = model(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device)).logits
        batch_index = torch.cat([torch.full((len(rows[i][1]),), b) for b, i in enumerate(chunk)]).to(device)
        positions = torch.cat([torch.tensor(rows[i][1], dtype=torch.long) for i in chunk]).to(device)
        targets = torch.cat([torch.tensor(rows[i][2], dtype=torch.long) for i in chunk]).to(device)
        # softmax only over the masked positions: the rest of the canvas is never scored
        logp = F.log_softmax(logits[batch_index, positions].float(), dim=-1).gather(1, targets[:, None])[:, 0]
        per_row = torch.zeros(len(chunk), dtype=torch.float64, device=device).index_add_(0, batch_index, logp.double())
        for b, i in enumerate(chunk):
            scores[i] = per_row[b].item()
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


def _fit(context: list[int], continuation: list[int], max_length: int | None) -> list[int]:
    """Drop the oldest context tokens so that context + continuation fits the model."""
    if max_length is None or len(context) + len(continuation) <= max_length:
        return list(context)
    return list(context[len(context) + len(continuation) - max_length :])


def exact_loglikelihood(
    model,
    contexts: Sequence[Sequence[int]],
    continuations: Sequence[Sequence[int]],
    *,
    mask_token_id: int,
    pad_token_id: int | None = None,
    batch_size: int = 32,
    max_length: int | None = None,
) -> list[float]:
    """The MDLM log-likelihood bound of each continuation, computed exactly by enumeration.

    Sums over every non-empty set M of masked continuation tokens:
    ``sum_M 1 / (C(L, |M|) |M|) * sum_{i in M} log p(x_i | context, unmasked)``, which is the
    log-likelihood averaged over all L! generation orders (exact for L = 1; for a model whose
    conditionals agree with one joint distribution, exact for every L). Costs 2**L - 1 rows per
    continuation: for short continuations and for checking :func:`mc_loglikelihood`.
    """
    _check_lengths(contexts, continuations, max_length)
    pad = mask_token_id if pad_token_id is None else pad_token_id
    totals = [0.0] * len(contexts)
    for first in range(0, len(contexts), 128):  # bounded memory on large benchmarks
        rows, owners, weights = [], [], []
        for r in range(first, min(first + 128, len(contexts))):
            context, size = _fit(contexts[r], continuations[r], max_length), len(continuations[r])
            if size > 16:
                raise ValueError(f"Continuation {r} has {size} tokens: 2**{size} rows is too many; use mc_loglikelihood.")
            masks = [m for count in range(1, size + 1) for m in combinations(range(size), count)]
            rows += list(_masked_rows(context, continuations[r], masks, mask_token_id))
            owners += [r] * len(masks)
            weights += [1 / (math.comb(size, len(m)) * len(m)) for m in masks]
        for owner, weight, score in zip(owners, weights, _score_rows(model, rows, pad_token_id=pad, batch_size=batch_size)):
            totals[owner] += weight * score
    return totals


def mc_loglikelihood(
    model,
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
) -> list[float]:
    """Monte Carlo estimate of the MDLM log-likelihood bound of each continuation given its context.

    Sample j of ``num_samples`` masks l_j continuation tokens, l_j stratified over 1..L (every
    count equally often when L divides ``num_samples``), at random positions, and scores
    ``(L / l_j) * sum of log p(masked token | context, unmasked)``; the estimate is the mean. It is
    unbiased for the value :func:`exact_loglikelihood` computes, which it returns instead when
    that takes no more rows (2**L - 1 <= ``num_samples``, so always for L = 1) unless
    ``exact_when_cheaper=False``. Contexts longer than ``max_length`` lose their oldest tokens.

    >>> from dlm_kit.backbones import load_backbone
    >>> model, tok = load_backbone("tiny-bert", seed=0)
    >>> est = mc_loglikelihood(model.eval(), [[5, 6]], [[7, 8, 9]], mask_token_id=tok.mask_token_id)
    >>> est[0] < 0
    True
    """
    if not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"num_samples={num_samples!r}: must be a positive int (Monte Carlo samples per request).")
    _check_lengths(contexts, continuations, max_length)
    pad = mask_token_id if pad_token_id is None else pad_token_id
    generator = generator or torch.Generator().manual_seed(0)
    totals = [0.0] * len(contexts)
    exact = [r for r, c in enumerate(continuations) if exact_when_cheaper and 2 ** len(c) - 1 <= num_samples]
    if exact:
        values = exact_loglikelihood(
            model, [contexts[r] for r in exact], [continuations[r] for r in exact],
            mask_token_id=mask_token_id, pad_token_id=pad, batch_size=batch_size, max_length=max_length,
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
            context, size = _fit(contexts[r], continuations[r], max_length), len(continuations[r])
            shift = torch.rand((), generator=generator).item()
            counts = [1 + int((j + shift) * size / num_samples) for j in range(num_samples)]
            masks = [tuple(torch.randperm(size, generator=generator)[:count].tolist()) for count in counts]
            rows += list(_masked_rows(context, continuations[r], masks, mask_token_id))
            owners += [r] * num_samples
            weights += [size / (count * num_samples) for count in counts]
        scores = _score_rows(model, rows, pad_token_id=pad, batch_size=batch_size)
        for owner, weight, score in zip(owners, weights, scores):
            totals[owner] += weight * score
        bar.update(len(sampled[first : first + per_chunk]))
    bar.close()
    return totals


@register_model("dlm_kit")
class DiffusionLM(LM):
    """lm-eval's view of a masked diffusion LM (any Hugging Face masked LM the kit can load).

    ``model_args`` (all optional but ``pretrained``): ``pretrained`` a folder, hub id or kit
    name (``tiny-chat``); ``mc_num`` Monte Carlo samples per log-likelihood request (32);
    ``batch_size`` rows per forward pass; ``device``; ``dtype`` (float32 | bfloat16 | float16);
    ``max_length`` (default: the model's positions); sampler settings for ``generate_until``:
    ``max_new_tokens`` (lm-eval's ``max_gen_toks`` wins when a task sets it, rounded up to whole
    blocks), ``block_size`` (default: the whole answer), ``steps`` (default: one token per step),
    ``threshold``, ``temperature``, ``remasking``, ``cfg_scale``; ``seed``.
    """

    def __init__(
        self,
        pretrained: Any = None,
        tokenizer: Any = None,
        *,
        mc_num: int = 32,
        batch_size: int | str = 32,
        max_batch_size: int | None = None,
        device: str | None = None,
        dtype: str | torch.dtype | None = None,
        max_length: int | None = None,
        max_new_tokens: int = 64,
        block_size: int | None = None,
        steps: int | None = None,
        threshold: float | None = None,
        temperature: float = 0.0,
        remasking: str = "low_confidence",
        cfg_scale: float = 0.0,
        seed: int = 0,
        **unused: Any,
    ) -> None:
        super().__init__()
        if pretrained is None:
            raise ValueError("model_args needs pretrained=PATH (a saved folder, a hub id, or a kit name such as tiny-chat).")
        if unused:
            logger.warning("dlm_kit ignores model_args %s", sorted(unused))
        if isinstance(dtype, str) and dtype not in ("auto", ""):
            if dtype not in _DTYPES:
                raise ValueError(f"dtype={dtype!r}: use float32, bfloat16 or float16.")
            dtype = _DTYPES[dtype]
        elif not isinstance(dtype, torch.dtype):
            dtype = None
        if isinstance(pretrained, str):
            model, loaded_tokenizer = load_backbone(pretrained, dtype=dtype)
        else:
            if tokenizer is None:
                raise ValueError("Pass tokenizer= with a model object (or pretrained=PATH to load both).")
            model, loaded_tokenizer = pretrained, None
        self.tokenizer = tokenizer if tokenizer is not None and not isinstance(tokenizer, str) else loaded_tokenizer
        if self.tokenizer.mask_token_id is None:
            raise ValueError(f"{pretrained!r} has no mask token: a masked diffusion LM needs one.")
        self._device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model = model.to(self._device).eval()
        self.name = pretrained if isinstance(pretrained, str) else type(model).__name__
        self.mc_num = int(mc_num)
        self.batch_size = 32 if str(batch_size).startswith("auto") else int(batch_size)
        positions = getattr(model.config, "max_position_embeddings", None)
        self.max_length = int(max_length) if max_length else positions
        self.sampling = dict(
            block_size=int(block_size) if block_size else None,
            steps=int(steps) if steps else None,
            threshold=float(threshold) if threshold not in (None, "", "None") else None,
            temperature=float(temperature),
            remasking=remasking,
            cfg_scale=float(cfg_scale),
        )
        self.max_new_tokens = int(max_new_tokens)
        self.seed = int(seed)
        self._warned_template = False
        # the last word of the template's generation prompt (e.g. "[Answer]"): a templated
        # context ends with it
        prompt = self.tokenizer.apply_chat_template([{"role": "user", "content": "x"}], add_generation_prompt=True, tokenize=False)
        self._generation_prompt = prompt[prompt.rindex("x") + 1 :].split()[-1]

    # -- lm-eval's chat-template hooks -----------------------------------------------------------
    @property
    def tokenizer_name(self) -> str:
        return str(self.name).replace("/", "__")

    def chat_template(self, chat_template: bool | str = False) -> str | None:
        return self.tokenizer.chat_template if chat_template else None

    def apply_chat_template(self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        return self.tokenizer.apply_chat_template(chat_history, add_generation_prompt=add_generation_prompt, tokenize=False)

    # -- scoring -----------------------------------------------------------------------------------
    def _encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def _mc_loglikelihood(self, contexts: list[list[int]], continuations: list[list[int]], *, progress: bool) -> list[float]:
        """:func:`mc_loglikelihood` with this model's settings; each call draws the same seeded masks."""
        return mc_loglikelihood(
            self.model, contexts, continuations, mask_token_id=self.tokenizer.mask_token_id,
            pad_token_id=self.tokenizer.pad_token_id, num_samples=self.mc_num, batch_size=self.batch_size,
            max_length=self.max_length, generator=torch.Generator().manual_seed(self.seed), progress=progress,
        )

    def loglikelihood(self, requests, disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        pairs = [encode_pair(self.tokenizer, *request.args) for request in requests]
        contexts, continuations = [p[0] for p in pairs], [p[1] for p in pairs]
        scores = self._mc_loglikelihood(contexts, continuations, progress=not disable_tqdm)
        greedy = self._is_greedy(contexts, continuations)
        return list(zip(scores, greedy))

    @torch.no_grad()
    def _is_greedy(self, contexts: list[list[int]], continuations: list[list[int]]) -> list[bool]:
        """Would the greedy sampler (one token per step) write exactly this continuation?"""
        result = [False] * len(contexts)
        by_length: dict[int, list[int]] = {}
        for i, continuation in enumerate(continuations):
            by_length.setdefault(len(continuation), []).append(i)
        for size, members in by_length.items():
            for start in range(0, len(members), self.batch_size):
                chunk = members[start : start + self.batch_size]
                prompts = [_fit(contexts[i], continuations[i], self.max_length) for i in chunk]
                out = generate(self.model, prompts, max_new_tokens=size, steps=size, block_size=size,
                               mask_token_id=self.tokenizer.mask_token_id)
                for i, row in zip(chunk, out.new_tokens.tolist()):
                    result[i] = row == list(continuations[i])
        return result

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False) -> list[float]:
        contexts, continuations, owners = [], [], []
        window = self.max_length or 512
        for r, request in enumerate(requests):
            tokens = self._encode(request.args[0])
            for context, continuation in map(make_disjoint_window, get_rolling_token_windows(tokens, -1, window, 1)):
                contexts.append([t for t in context if t != -1])  # -1: lm-eval's prefix slot, not needed here
                continuations.append(continuation)
                owners.append(r)
        scores = self._mc_loglikelihood(contexts, continuations, progress=not disable_tqdm)
        totals = [0.0] * len(requests)
        for owner, score in zip(owners, scores):
            totals[owner] += score
        return totals

    # -- generation --------------------------------------------------------------------------------
    def _sampler_settings(self, gen_kwargs: dict) -> dict:
        wanted = int(gen_kwargs.get("max_gen_toks", self.max_new_tokens))
        block = self.sampling["block_size"] or wanted
        canvas = -(-wanted // block) * block
        settings = dict(self.sampling, max_new_tokens=canvas, block_size=min(block, canvas))
        settings["steps"] = self.sampling["steps"] or canvas
        if gen_kwargs.get("do_sample") and float(gen_kwargs.get("temperature", 0) or 0) > 0:
            settings["temperature"] = float(gen_kwargs["temperature"])
        return settings

    @torch.no_grad()
    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        replies: list[str] = [""] * len(requests)
        groups: dict[str, list[int]] = {}
        for i, request in enumerate(requests):
            groups.setdefault(repr(sorted(request.args[1].items())), []).append(i)
        generator = torch.Generator(device=self._device).manual_seed(self.seed)
        bar = tqdm(total=len(requests), desc="generate_until", disable=disable_tqdm, leave=False)
        for members in groups.values():
            gen_kwargs = dict(requests[members[0]].args[1])
            until = gen_kwargs.get("until") or []
            until = [until] if isinstance(until, str) else list(until)
            settings = self._sampler_settings(gen_kwargs)
            for start in range(0, len(members), self.batch_size):
                chunk = members[start : start + self.batch_size]
                contexts = [requests[i].args[0] for i in chunk]
                if not self._warned_template and not all(map(self._is_templated, contexts)):
                    self._warned_template = True
                    logger.warning(
                        "generate_until got a context without the chat template: a chat model answers best "
                        "when lm-eval is run with apply_chat_template=True (--apply_chat_template)."
                    )
                prompts = [_fit(self._encode(c), [0] * settings["max_new_tokens"], self.max_length) for c in contexts]
                out = generate(self.model, prompts, mask_token_id=self.tokenizer.mask_token_id,
                               eos_token_id=self.tokenizer.eos_token_id, stop_at_eos=True,
                               generator=generator, **settings)
                for i, row in zip(chunk, out.new_tokens.tolist()):
                    text = trim_answer(row, self.tokenizer)
                    for stop in until:
                        if stop and stop in text:
                            text = text[: text.index(stop)]
                    replies[i] = text
                    self.cache_hook.add_partial("generate_until", requests[i].args, text)
                bar.update(len(chunk))
        bar.close()
        return replies

    def _is_templated(self, context: str) -> bool:
        """Does the context end with the chat template's generation prompt (e.g. "[Answer]")?"""
        return context.rstrip().endswith(self._generation_prompt)

