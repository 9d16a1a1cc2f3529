"""Chat: prompts through the chat template, block-diffusion sampling, answers trimmed at their end.

One sampler serves chat, the widget and evaluation, so they decode the same way:

    >>> from dlm_kit.backbones import load_backbone
    >>> model, tok = load_backbone("tiny-bert", seed=0)
    >>> replies = answer(model.eval(), tok, ["Sort the letters: c a b"],
    ...                  sampling=SamplingConfig(max_new_tokens=8, block_size=8))
    >>> len(replies)
    1

:class:`ChatSession` keeps a multi-turn conversation; :func:`evaluate_tasks` scores exact match
on the synthetic tasks per family.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from .chat_format import (  # re-exported: the chat format's old home
    END_OF_ANSWER,
    answer_stop_sequences,
    build_prompt,
    find_end_of_answer,
    strip_tag_fragment,
    trim_answer,
)
from .corpora import exact_match
from .paths import SAMPLING_CONFIG_FILE  # re-exported
from .sampling import GenerationOutput, GenerationStep, context_length, generate
from .sampling_config import PRESETS, SamplingConfig  # re-exported: its old home

logger = logging.getLogger(__name__)

__all__ = [
    "SamplingConfig",
    "SAMPLING_CONFIG_FILE",
    "END_OF_ANSWER",
    "PRESETS",
    "answer_stop_sequences",
    "find_end_of_answer",
    "build_prompt",
    "trim_answer",
    "strip_tag_fragment",
    "generate_answers",
    "answer",
    "ChatSession",
    "evaluate_tasks",
    "length_sweep",
    "speed_quality_sweep",
    "speed_quality_row",
]


def generate_answers(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[list[int]],
    sampling: SamplingConfig,
    **extra,
) -> GenerationOutput:
    """One :func:`dlm_kit.sampling.generate` call for chat prompts under ``sampling``: the sampler call
    that :func:`answer`, :class:`ChatSession`, :func:`evaluate_tasks` and ``dlm-kit chat`` share.

    ``prompts``: token ids from :func:`build_prompt`. Passes the tokenizer's mask and EOS ids and,
    when ``sampling.stop_at_eos``, the end-of-answer tag as a stop sequence. ``extra``: further
    keywords of ``generate`` (``return_history``, ``on_step``, ...); a misspelt one raises ``TypeError`` there.

    >>> from dlm_kit.backbones import load_backbone
    >>> model, tok = load_backbone("tiny-bert", seed=0)
    >>> out = generate_answers(model.eval(), tok, [build_prompt(tok, "Hi")], SamplingConfig(max_new_tokens=4))
    >>> out.new_tokens.shape
    torch.Size([1, 4])
    """
    stops = answer_stop_sequences(tokenizer) if sampling.stop_at_eos else []
    return generate(
        model,
        prompts,
        mask_token_id=tokenizer.mask_token_id,
        eos_token_id=tokenizer.eos_token_id,
        stop_sequences=stops,
        **sampling.generate_kwargs(),
        **extra,
    )


_generate = generate_answers  # the old private name


def answer(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    questions: Sequence[str | Sequence[dict]],
    *,
    sampling: SamplingConfig | None = None,
    batch_size: int = 64,
) -> list[str]:
    """Answer each question (a string or a message list) in batches; returns the trimmed texts.

    ``sampling=None`` uses the model's recommended settings (its folder's :data:`SAMPLING_CONFIG_FILE`)
    or, if it has none, the kit's defaults; which one is logged at INFO level.
    """
    if isinstance(questions, str):
        raise TypeError("answer() takes a list of questions; wrap a single one: answer(model, tok, [question]).")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r}: use a whole number of questions per batch, at least 1.")
    if sampling is None:
        sampling, source = SamplingConfig.for_model(model)
        logger.info("answer(): sampling with %s: %s", source, sampling)
    prompts = [build_prompt(tokenizer, q) for q in questions]
    replies: list[str] = []
    for start in range(0, len(prompts), batch_size):
        out = generate_answers(model, tokenizer, prompts[start : start + batch_size], sampling)
        replies += [trim_answer(row.tolist(), tokenizer) for row in out.new_tokens]
    return replies


@dataclass
class ChatSession:
    """A multi-turn conversation: each :meth:`send` adds the question and the model's answer.

    >>> from dlm_kit.backbones import load_backbone
    >>> model, tok = load_backbone("tiny-bert", seed=0)
    >>> chat = ChatSession(model.eval(), tok, sampling=SamplingConfig(max_new_tokens=8))
    >>> _ = chat.send("Hello")
    >>> [m["role"] for m in chat.messages]
    ['user', 'assistant']
    """

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    system: str | None = None
    sampling: SamplingConfig | None = None
    """None: the model's recommended settings, or the kit's defaults (see :attr:`sampling_source`)."""
    messages: list[dict] = field(default_factory=list)
    last_output: GenerationOutput | None = None
    """The sampler's output for the last answer (with history), for the widget or the CLI."""
    sampling_source: str = "the caller's settings"
    """Where :attr:`sampling` came from."""

    def __post_init__(self) -> None:
        if self.sampling is None:
            self.sampling, self.sampling_source = SamplingConfig.for_model(self.model)

    def send(self, text: str, *, on_step: Callable[[GenerationStep], None] | None = None) -> str:
        """Answer ``text`` in the conversation so far; returns the reply.

        A turn the sampler refuses (e.g. a question holding a ``[MASK]`` token) raises with the
        reason and leaves the conversation as it was, so the session goes on. When the
        conversation would no longer fit the model's context with a full answer canvas, the
        oldest turns are dropped (``dropped_turns`` counts them; a warning says so).
        """
        self.messages.append({"role": "user", "content": text})
        try:
            prompt = self._fitted_prompt()
            self.last_output = generate_answers(self.model, self.tokenizer, [prompt], self.sampling, return_history=True, on_step=on_step)
        except Exception:
            self.messages.pop()  # the rejected question must not poison every later turn
            raise
        reply = trim_answer(self.last_output.new_tokens[0].tolist(), self.tokenizer)
        self.messages.append({"role": "assistant", "content": reply})
        return reply

    dropped_turns: int = 0
    """How many of the oldest messages were dropped to keep the conversation inside the context."""

    def conversation(self, text: str | None = None) -> list[dict]:
        """The messages the model is shown: the system message (if any), the turns so far, and ``text`` as the next question."""
        system = [{"role": "system", "content": self.system}] if self.system else []
        return system + self.messages + ([{"role": "user", "content": text}] if text is not None else [])

    def _fitted_prompt(self) -> list[int]:
        limit = context_length(self.model)
        while True:
            prompt = build_prompt(self.tokenizer, self.conversation())
            if limit is None or len(prompt) + self.sampling.max_new_tokens <= limit or len(self.messages) <= 1:
                return prompt  # a single question that is too long is refused by the sampler, naming the limit
            # drop the oldest question and its answer together, so turns stay paired
            drop = 2 if len(self.messages) > 2 else 1
            del self.messages[:drop]
            self.dropped_turns += drop
            warnings.warn(
                f"ChatSession: dropped the oldest {drop} message(s) so the conversation ({len(prompt)} tokens + "
                f"{self.sampling.max_new_tokens} for the answer) fits the model's context of {limit} tokens.",
                stacklevel=3,
            )

    def reset(self) -> None:
        self.messages.clear()
        self.last_output = None
        self.dropped_turns = 0


def evaluate_tasks(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    dataset: Sequence[Mapping],
    *,
    sampling: SamplingConfig = SamplingConfig(max_new_tokens=16),
    batch_size: int = 64,
    answer_fn: Callable[[list[str]], list[str]] | None = None,
) -> dict[str, float]:
    """Exact-match accuracy per task family (and ``"all"``) on synthetic-task rows.

    Each row needs ``messages`` (the question is every message but the last), ``answer`` and
    ``family``. ``answer_fn`` (default :func:`answer`) answers the questions; pass
    :func:`dlm_kit.baselines.answer_causal` to score a left-to-right model the same way.
    """
    was_training = model.training
    model.eval()
    questions = [row["messages"][:-1] for row in dataset]
    with torch.no_grad():
        replies = (answer_fn or answer)(model, tokenizer, questions, sampling=sampling, batch_size=batch_size)
    model.train(was_training)
    hits: dict[str, list[bool]] = defaultdict(list)
    for row, reply in zip(dataset, replies):
        ok = exact_match(reply, row["answer"])
        hits[row["family"]].append(ok)
        hits["all"].append(ok)
    return {family: sum(v) / len(v) for family, v in sorted(hits.items())}


def length_sweep(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    dataset: Sequence[Mapping],
    *,
    lengths: Sequence[int] = (8, 16, 32, 64),
    batch_size: int = 64,
) -> dict[int, dict[str, float]]:
    """Mean answer length (tokens) and exact match as the canvas grows (notebook 03).

    A model whose answers shrink or break as ``max_new_tokens`` grows suffers from "EOS
    overflow"; one whose answers keep their length does not.
    """
    if len(dataset) == 0 or not lengths:
        raise ValueError("length_sweep: needs at least one question and one length.")
    model.eval()
    questions = [row["messages"][:-1] for row in dataset]
    results = {}
    for n in lengths:
        replies = answer(model, tokenizer, questions, sampling=SamplingConfig(max_new_tokens=n), batch_size=batch_size)
        tokens = [len(tokenizer(r, add_special_tokens=False)["input_ids"]) for r in replies]
        hits = [exact_match(r, row["answer"]) for r, row in zip(replies, dataset)]
        results[n] = {"answer_tokens": sum(tokens) / len(tokens), "exact_match": sum(hits) / len(hits)}
    return results


def speed_quality_sweep(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    dataset: Sequence[Mapping],
    configs: Mapping[str, SamplingConfig],
    *,
    batch_size: int = 128,
) -> list[dict]:
    """Exact match, forward passes and speed of each named sampler setting (notebook 05).

    Rows like :func:`evaluate_tasks`'s. ``forward_passes`` counts model calls over all batches;
    ``answer_tokens_per_s`` divides the tokens of the trimmed answers by the wall time; ``hits``
    holds each question's 1.0/0.0, so two settings compare paired (:func:`dlm_kit.stats.compare`).

    >>> from dlm_kit.backbones import load_backbone
    >>> from dlm_kit.data import make_synthetic_tasks
    >>> model, tok = load_backbone("tiny-bert", seed=0)
    >>> rows = make_synthetic_tasks(["copy"], n_train=1, n_test=2)["test"]
    >>> [r["forward_passes"] for r in speed_quality_sweep(model.eval(), tok, rows, {"8 steps": SamplingConfig(max_new_tokens=8, stop_at_eos=False)})]
    [8]
    """
    if len(dataset) == 0 or not configs:
        raise ValueError("speed_quality_sweep: needs at least one question and one sampler setting.")
    prompts = [build_prompt(tokenizer, row["messages"][:-1]) for row in dataset]
    results = []
    for name, sampling in configs.items():
        start, nfe, replies = time.perf_counter(), 0, []
        for first in range(0, len(prompts), batch_size):
            out = generate_answers(model, tokenizer, prompts[first : first + batch_size], sampling)
            nfe += out.nfe
            replies += [trim_answer(row.tolist(), tokenizer) for row in out.new_tokens]
        results.append(speed_quality_row(name, replies, dataset, tokenizer, seconds=time.perf_counter() - start, forward_passes=nfe))
    return results


def speed_quality_row(name: str, replies: Sequence[str], dataset: Sequence[Mapping], tokenizer: PreTrainedTokenizerBase, *, seconds: float, forward_passes: int,
                      kind: Literal["diffusion", "autoregressive"] = "diffusion") -> dict:
    """One row of :func:`speed_quality_sweep` from answers already produced and timed."""
    tokens = sum(len(tokenizer(r, add_special_tokens=False)["input_ids"]) for r in replies)
    hits = [exact_match(r, row["answer"]) for r, row in zip(replies, dataset)]
    return {"setting": name, "kind": kind, "forward_passes": forward_passes, "exact_match": sum(hits) / len(hits),
            "hits": [float(h) for h in hits], "seconds": seconds, "answer_tokens_per_s": tokens / seconds}
