"""Benchmark diffusion BERTs with lm-evaluation-harness: the ``dlm_kit`` model type.

Importing this module registers :class:`DiffusionLM` with lm-eval as ``model="dlm_kit"``:

    >>> import lm_eval, dlm_kit.evaluation
    >>> from dlm_kit.evaluation import task_manager
    >>> results = lm_eval.simple_evaluate(model="dlm_kit", model_args="pretrained=tiny-chat",
    ...     tasks=["dlm_kit_synthetic_mc"], task_manager=task_manager(), limit=4,
    ...     apply_chat_template=True, verbosity="ERROR")  # doctest: +SKIP

or from a shell: ``dlm-kit eval --model tiny-chat --tasks dlm_kit_synthetic_gen``.

How a masked LM answers lm-eval's three questions (the estimators live in :mod:`dlm_kit.likelihood`,
re-exported here):

- ``loglikelihood(context, continuation)``: a masked diffusion model has no left-to-right
  factorisation, so it scores the continuation with the MDLM bound, estimated by Monte Carlo:
  draw a number of masks l (stratified over 1..L for the L continuation tokens), mask l random
  continuation tokens, and add (L / l) x the log-probabilities of the masked tokens; average over
  samples. Its expectation is the log-likelihood averaged over all generation orders (for L = 1 it
  is the exact log-likelihood); :func:`exact_loglikelihood` computes that expectation exactly for
  short continuations, and the estimator uses it whenever it needs fewer forward passes than
  sampling would (2**L - 1 <= ``mc_num``). :func:`is_greedy` checks whether the kit's greedy
  sampler, given the context, writes exactly the continuation. An empty context (lm-eval's
  unconditional scoring, ``acc_mutual_info``) is scored without one, as is a continuation that
  fills ``max_length``.
- ``loglikelihood_rolling(text)``: the text in windows of ``max_length`` positions
  (:func:`rolling_windows`): the first window scores the first ``max_length`` tokens, each later
  one the next ``max_length - rolling_context`` tokens given the ``rolling_context`` tokens
  before them; the sum of the windows' bounds is the chain rule with each chunk's context cut to
  ``rolling_context`` tokens (a bound on the log-likelihood, so the perplexities are upper bounds).
- ``generate_until(context, kwargs)``: :func:`dlm_kit.sampling.generate`, answers cut at the
  end-of-answer tag, EOS and lm-eval's stop strings. Chat models want their chat template: pass
  ``apply_chat_template=True`` to lm-eval (``dlm-kit eval`` does by default). A ``max_gen_toks``
  that leaves no room for the prompt in ``max_length`` is cut to ``max_length - 1`` tokens, with
  a warning.

Tokenisation is the training one: ``tokenizer(text, add_special_tokens=False)``, no [CLS] / [SEP]
between context and continuation.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from tqdm.auto import tqdm

try:
    from lm_eval.api.instance import Instance
    from lm_eval.api.model import LM
    from lm_eval.api.registry import register_model
except ImportError as error:  # an extra, not a core dependency
    raise ImportError(
        "dlm_kit.evaluation needs lm-evaluation-harness: pip install 'dlm-kit[eval]' "
        "(or pip install lm-eval)."
    ) from error

from .sampling_config import SamplingConfig
if TYPE_CHECKING:
    from lm_eval.tasks import TaskManager

from .chat_format import answer_stop_sequences, generation_prompt_suffix, trim_answer
from .eval_args import SAMPLER_KEYS, DiffusionLMArgs
from .likelihood import (encode_pair, exact_loglikelihood, fit_context, is_greedy, mc_loglikelihood, model_max_length,
                         rolling_windows)
from .paths import TASKS_DIR  # re-exported
from .profiles import LOCAL_TASKS  # re-exported
from .sampling import generate

__all__ = [
    "DiffusionLM",
    "encode_pair",
    "mc_loglikelihood",
    "exact_loglikelihood",
    "is_greedy",
    "rolling_windows",
    "task_manager",
    "run_tasks",
    "scores_by_field",
    "TASKS_DIR",
    "LOCAL_TASKS",
    "SEED_TABLE_TASKS",
    "SEED_RESULTS",
    "document_scores",
    "headline_score",
    "generation_settings",
    "cut_at_stop_strings",
]

logger = logging.getLogger(__name__)


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

_SEED_ROWS = {
    "ModernBERT-base-chat-v0 (evaluated)": (49.3, 5.9, 25.0, 17.9, 3.1, 26.1, 49.7, 41.0, 24.3),
    "ModernBERT-large-chat-v0 (evaluated)": (46.3, 17.1, 24.6, 25.1, 3.8, 33.5, 53.1, 45.0, 27.5),
    "Qwen1.5-0.5B (reported)": (48.6, 22.0, 50.5, 18.3, 3.1, 39.2, 55.0, 48.2, 46.6),
    "Qwen1.5-0.5B-chat (reported)": (None, 11.3, 37.2, None, 3.1, 35.0, None, None, None),
}
SEED_RESULTS: dict[str, dict[str, float | None]] = {
    model: dict(zip(SEED_TABLE_TASKS, row)) for model, row in _SEED_ROWS.items()
}
"""The seed's published table (the blog post "BERTs that chat", section Evaluation Results), in %:
model -> column of :data:`SEED_TABLE_TASKS` -> score, None where the post prints "/". Quoted, not
computed here: "evaluated" rows were run by the seed's authors with their framework, "reported"
rows they copied from the Qwen1.5 blog and the Qwen2-0.5B-Instruct model card."""


def task_manager(include_path: str | os.PathLike | None = None, **kwargs: Any) -> TaskManager:
    """An lm-eval ``TaskManager`` that also knows the kit's offline tasks.

    >>> "dlm_kit_synthetic_mc" in task_manager(include_defaults=False).all_tasks
    True
    """
    path = Path(include_path) if include_path is not None else TASKS_DIR
    if not path.is_dir():
        raise FileNotFoundError(
            f"No task folder at {path}. The offline tasks come with the dlm-kit wheel and the "
            "repository's data/tasks/: reinstall dlm-kit, or pass include_path= "
            "to a folder of lm-eval task YAMLs."
        )
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=str(path), **kwargs)


def run_tasks(model: LM, tasks: Sequence[str] = LOCAL_TASKS, *, limit: int | float | None = None, num_fewshot: int | None = None,
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


def _samples_and_metric(results: dict, task: str, metric: str | None) -> tuple[list[dict], str]:
    """``task``'s logged samples and the metric to read (default: exact_match or acc)."""
    samples = results.get("samples", {}).get(task)
    if not samples:
        raise ValueError(f"No per-document samples for {task!r}: run it with log_samples=True (run_tasks does).")
    if metric is None:
        metric = next((k for k in ("exact_match", "acc") if k in samples[0]), None)
        if metric is None:
            raise ValueError(f"{task!r} logs neither exact_match nor acc per document; pass metric= one of "
                             f"{sorted(k for k, v in samples[0].items() if isinstance(v, (int, float)))}.")
    elif metric not in samples[0]:
        raise ValueError(f"{task!r} logs no {metric!r} per document; it logs {sorted(samples[0])}.")
    return samples, metric


def scores_by_field(results: dict, task: str, *, field: str = "family", metric: str | None = None) -> dict[str, float]:
    """Mean per-document score of ``task`` grouped by a document field (e.g. the task family).

    ``metric`` defaults to the task's first one (exact_match for generation, acc for choice).
    """
    samples, metric = _samples_and_metric(results, task, metric)
    groups: dict[str, list[float]] = {}
    for sample in samples:
        groups.setdefault(sample["doc"][field], []).append(float(sample[metric]))
    return {key: sum(v) / len(v) for key, v in sorted(groups.items())}


def document_scores(results: dict, task: str, *, metric: str | None = None) -> list[float]:
    """Per-document scores of ``task`` in document order: the raw material of an interval.

    ``metric`` defaults to the task's first one (exact_match for generation, acc for choice); a
    paired comparison of two models on the same task zips their lists.
    """
    samples, metric = _samples_and_metric(results, task, metric)
    return [float(s[metric]) for s in sorted(samples, key=lambda s: s["doc_id"])]


_HEADLINE_METRICS = ("acc,none", "exact_match,strict-match", "exact_match,get-answer", "exact_match,strip",
                     "exact_match,none", "math_verify,none", "exact_match,flexible-extract")


def headline_score(results: dict, task: str) -> float:
    """The score a results table shows for ``task`` (a fraction): accuracy for choice tasks, exact
    match for generation (GSM8K's strict match, BBH's extracted answer), as the seed's table.

    Works for lm-eval groups (MMLU, BBH), whose aggregate sits under the group's name.
    """
    scores = results.get("results", {}).get(task)
    if scores is None:
        raise ValueError(f"No results for {task!r}; these tasks ran: {sorted(results.get('results', {}))}.")
    for key in _HEADLINE_METRICS:
        if isinstance(scores.get(key), (int, float)):
            return float(scores[key])
    raise ValueError(f"{task!r} has none of the metrics {_HEADLINE_METRICS}: {sorted(scores)}.")


def generation_settings(sampling: dict, gen_kwargs: dict, *, default_tokens: int, max_length: int | None) -> dict:
    """The keywords of :func:`dlm_kit.sampling.generate` for one lm-eval ``generate_until`` request.

    ``max_gen_toks`` (else ``default_tokens``) rounded up to whole blocks; a canvas that leaves
    the prompt no room in ``max_length`` is shortened, with a warning; ``do_sample`` with a
    temperature samples.

    >>> generation_settings({"block_size": 8, "steps": None}, {"max_gen_toks": 12}, default_tokens=64, max_length=None)
    {'block_size': 8, 'steps': 16, 'max_new_tokens': 16}
    """
    wanted = int(gen_kwargs.get("max_gen_toks", default_tokens))
    if wanted < 1:
        raise ValueError(f"max_gen_toks={wanted}: generate_until needs at least 1 new token "
                         "(lm-eval --gen_kwargs max_gen_toks=N with N >= 1).")
    block = sampling["block_size"] or wanted
    canvas = -(-wanted // block) * block
    if max_length is not None and canvas >= max_length:
        # the prompt needs at least one position: shorten the answer rather than fail the run
        rounded, block = canvas, min(block, max_length - 1)
        canvas = (max_length - 1) // block * block
        logger.warning(
            "max_gen_toks=%d (%d in whole blocks) leaves no room for the prompt in max_length=%d: "
            "generating %d tokens after the last %d context tokens. Pass a smaller max_gen_toks "
            "(lm-eval --gen_kwargs max_gen_toks=N) or a larger max_length (up to the model's positions).",
            wanted, rounded, max_length, canvas, max_length - canvas,
        )
    settings = dict(sampling, max_new_tokens=canvas, block_size=min(block, canvas))
    settings["steps"] = sampling["steps"] or canvas
    if "min_new_tokens" in sampling:  # a model's minimum answer length never exceeds a short task's canvas
        settings["min_new_tokens"] = min(sampling["min_new_tokens"] or 0, canvas)
    if gen_kwargs.get("do_sample") and float(gen_kwargs.get("temperature", 0) or 0) > 0:
        settings["temperature"] = float(gen_kwargs["temperature"])
    return settings


def cut_at_stop_strings(text: str, until: str | Sequence[str]) -> str:
    """``text`` up to the earliest of lm-eval's ``until`` strings that it contains.

    >>> cut_at_stop_strings("4\\n\\nQuestion: next", ["Question:", "\\n\\n"])
    '4'
    """
    for stop in [until] if isinstance(until, str) else until:
        if stop and stop in text:
            text = text[: text.index(stop)]
    return text


@register_model("dlm_kit")
class DiffusionLM(LM):
    """lm-eval's view of a masked diffusion LM (any Hugging Face masked LM the kit can load).

    ``model_args`` are the fields of :class:`dlm_kit.eval_args.DiffusionLMArgs` (all optional but
    ``pretrained``; an unknown key is refused): ``pretrained`` a folder, hub id or kit name, or a
    model object with ``tokenizer=``; Monte Carlo samples ``mc_num``; ``batch_size``; ``device``;
    ``dtype``; ``max_length``; the sampler settings of ``generate_until`` (those not given come
    from the model's ``sampling_config.json``, else the kit's defaults); ``seed``;
    ``rolling_context`` and ``head_on_masked_only`` for scoring.
    """

    def __init__(self, pretrained: Any = None, tokenizer: Any = None, **model_args: Any) -> None:
        super().__init__()
        args = DiffusionLMArgs.parse(pretrained=pretrained, tokenizer=tokenizer, **model_args)
        model, self.tokenizer, self._device = args.load()
        self.model = model.to(self._device).eval()
        self.name = pretrained if isinstance(pretrained, str) else type(model).__name__
        self.mc_num, self.batch_size, self.seed = args.mc_num, args.batch_size, args.seed
        self.max_length = model_max_length(model, args.max_length)
        self.max_new_tokens, self.head_on_masked_only = args.max_new_tokens, args.head_on_masked_only
        # settings not given here come from the model's recommended ones (sampling_config.json), if any
        recommended, self.sampling_source = SamplingConfig.for_model(model)
        self.sampling = {key: getattr(recommended, key) for key in SAMPLER_KEYS} | args.sampler_overrides()
        self.sampling["mode"] = args.mode
        logger.info("DiffusionLM: generation settings not given in model_args come from %s", self.sampling_source)
        window = self.max_length or 512
        self.rolling_context = window // 2 if args.rolling_context is None else args.rolling_context
        rolling_windows([], max_length=window, context=self.rolling_context)  # a ValueError names a bad value now
        self._warned_template = False
        self._generation_prompt = generation_prompt_suffix(self.tokenizer)
        if self._generation_prompt is None and getattr(self.tokenizer, "chat_template", None):
            logger.info("The chat template writes nothing after a user turn: generate_until cannot check contexts for it.")

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
            head_on_masked_only=self.head_on_masked_only,
        )

    def loglikelihood(self, requests: list[Instance], disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        pairs = [encode_pair(self.tokenizer, *request.args) for request in requests]
        contexts, continuations = [p[0] for p in pairs], [p[1] for p in pairs]
        scores = self._mc_loglikelihood(contexts, continuations, progress=not disable_tqdm)
        greedy = is_greedy(self.model, contexts, continuations, mask_token_id=self.tokenizer.mask_token_id,
                           pad_token_id=self.tokenizer.pad_token_id, batch_size=self.batch_size,
                           max_length=self.max_length, head_on_masked_only=self.head_on_masked_only)
        return list(zip(scores, greedy))

    def loglikelihood_rolling(self, requests: list[Instance], disable_tqdm: bool = False) -> list[float]:
        """The sum over :func:`rolling_windows` of each window's MDLM bound given the text before it.

        Windows of ``max_length`` positions: the first holds the first ``max_length`` tokens, each
        later one the next ``max_length - rolling_context`` tokens after ``rolling_context`` tokens
        of context. lm-eval turns the sums into (upper bounds on) perplexities.
        """
        windows = [list(rolling_windows(self._encode(r.args[0]), max_length=self.max_length or 512, context=self.rolling_context))
                   for r in requests]
        pairs = [pair for text in windows for pair in text]
        scores = iter(self._mc_loglikelihood([c for c, _ in pairs], [t for _, t in pairs], progress=not disable_tqdm))
        return [sum((next(scores) for _ in text), 0.0) for text in windows]

    # -- generation --------------------------------------------------------------------------------
    @torch.no_grad()
    def generate_until(self, requests: list[Instance], disable_tqdm: bool = False) -> list[str]:
        replies: list[str] = [""] * len(requests)
        groups: dict[str, list[int]] = {}
        for i, request in enumerate(requests):
            groups.setdefault(repr(sorted(request.args[1].items())), []).append(i)
        generator = torch.Generator(device=self._device).manual_seed(self.seed)
        bar = tqdm(total=len(requests), desc="generate_until", disable=disable_tqdm, leave=False)
        answer_stops = answer_stop_sequences(self.tokenizer)
        for members in groups.values():
            gen_kwargs = dict(requests[members[0]].args[1])
            until = gen_kwargs.get("until") or []
            settings = generation_settings(self.sampling, gen_kwargs, default_tokens=self.max_new_tokens,
                                           max_length=self.max_length)
            for start in range(0, len(members), self.batch_size):
                chunk = members[start : start + self.batch_size]
                contexts = [requests[i].args[0] for i in chunk]
                if not self._warned_template and not all(map(self._is_templated, contexts)):
                    self._warned_template = True
                    logger.warning(
                        "generate_until got a context without the chat template: a chat model answers best "
                        "when lm-eval is run with apply_chat_template=True (--apply_chat_template)."
                    )
                prompts = [fit_context(self._encode(c), [0] * settings["max_new_tokens"], self.max_length) for c in contexts]
                # rows also stop at the end-of-answer tag, where trim_answer cuts them anyway:
                # the text before a stop cannot change, so this is exact and saves the steps after
                out = generate(self.model, prompts, mask_token_id=self.tokenizer.mask_token_id,
                               eos_token_id=self.tokenizer.eos_token_id, stop_at_eos=True,
                               stop_sequences=answer_stops, generator=generator, **settings)
                for i, row in zip(chunk, out.new_tokens.tolist()):
                    replies[i] = text = cut_at_stop_strings(trim_answer(row, self.tokenizer), until)
                    self.cache_hook.add_partial("generate_until", requests[i].args, text)
                bar.update(len(chunk))
        bar.close()
        return replies

    def _is_templated(self, context: str) -> bool:
        """Does ``context`` end with the template's generation prompt ("[Answer]")? True if nothing to check."""
        return self._generation_prompt is None or context.rstrip().endswith(self._generation_prompt)
