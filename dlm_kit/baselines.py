"""Autoregressive baselines for notebook 05: a GPT-2 of the diffusion model's size, same tokenizer.

The fair comparison for a diffusion BERT is a left-to-right model with the same parameters,
tokenizer, data and training budget; only the objective differs (next token vs masked tokens):

    >>> model, tok = load_causal_baseline("tiny-gpt2", seed=0)
    >>> type(model).__name__, round(model.num_parameters() / 1e6, 1)
    ('GPT2LMHeadModel', 1.4)

Train it with :func:`dlm_kit.training.train` and ``TrainConfig(objective="ar")``; the recipe of
the committed one is ``scripts/train_tiny_chat.py --objective ar``. SmolLM2-135M-Instruct, the
outside reference, is :func:`dlm_kit.judges.load_smollm2`. All of them run through lm-eval's own
``hf`` model, so they are scored by the same harness as the ``dlm_kit`` model.
"""

from __future__ import annotations

import time
from pathlib import Path

from collections.abc import Mapping, Sequence

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config, GPT2LMHeadModel, PreTrainedModel, PreTrainedTokenizerBase

from .backbones import build_tiny_tokenizer, tiny_config
from .chat import SamplingConfig, speed_quality_row
from .chat_format import build_prompt, prepare_tokenizer, trim_answer
from .paths import MODELS_DIR

__all__ = ["tiny_gpt2_config", "load_causal_baseline", "answer_causal", "causal_speed_quality"]

CAUSAL_KIT_MODELS = {"tiny-chat-ar": "scripts/train_tiny_chat.py --objective ar"}
"""Causal models committed in the repository's models/ folder, and the recipe of each."""


def tiny_gpt2_config(tokenizer: PreTrainedTokenizerBase, **shape: int) -> GPT2Config:
    """A GPT-2 with the shape of the kit's ``tiny-bert`` (same width, depth, heads, vocabulary; no dropout).

    ``shape`` overrides :func:`dlm_kit.backbones.tiny_config`'s keywords (``hidden_size``,
    ``num_layers``, ...) for both, so the pair stays the same size.

    >>> tiny_gpt2_config(build_tiny_tokenizer()).n_layer
    4
    """
    bert = tiny_config("bert", tokenizer, **shape)
    return GPT2Config(
        vocab_size=bert.vocab_size,
        n_positions=bert.max_position_embeddings,
        n_embd=bert.hidden_size,
        n_layer=bert.num_hidden_layers,
        n_head=bert.num_attention_heads,
        n_inner=bert.intermediate_size,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def load_causal_baseline(name_or_path: str, *, seed: int | None = None) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """``tiny-gpt2`` (random init), ``tiny-chat-ar`` (the committed baseline) or a causal-LM folder."""
    if seed is not None:
        torch.manual_seed(seed)
    if name_or_path == "tiny-gpt2":
        tokenizer = build_tiny_tokenizer()
        return GPT2LMHeadModel(tiny_gpt2_config(tokenizer)), tokenizer
    path = MODELS_DIR / name_or_path if name_or_path in CAUSAL_KIT_MODELS else Path(name_or_path)
    if name_or_path in CAUSAL_KIT_MODELS and not (path / "config.json").exists():
        raise FileNotFoundError(
            f"{name_or_path!r} lives in the repository's models/ folder and {path} is missing: clone the "
            f"repository or recreate it with: python {CAUSAL_KIT_MODELS[name_or_path]}"
        )
    tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(str(path)))
    return AutoModelForCausalLM.from_pretrained(str(path)), tokenizer


@torch.no_grad()
def answer_causal(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    questions: Sequence[str],
    *,
    sampling: SamplingConfig = SamplingConfig(max_new_tokens=16),
    batch_size: int = 64,
) -> list[str]:
    """Greedy left-to-right answers through the same chat template, trimmed like :func:`dlm_kit.chat.answer`.

    Only ``sampling.max_new_tokens`` applies (a causal LM writes one token per forward pass).

    >>> model, tok = load_causal_baseline("tiny-gpt2", seed=0)
    >>> len(answer_causal(model.eval(), tok, ["Sort the letters: c a b"], sampling=SamplingConfig(max_new_tokens=4)))
    1
    """
    replies, _ = _answer_causal(model, tokenizer, questions, sampling.max_new_tokens, batch_size)
    return replies


def _answer_causal(model, tokenizer, questions, max_new_tokens: int, batch_size: int) -> tuple[list[str], int]:
    prompts = [build_prompt(tokenizer, q) for q in questions]
    replies: list[str] = []
    forward_passes = 0
    device = next(model.parameters()).device
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start : start + batch_size]
        width = max(map(len, chunk))
        # left padding: every prompt ends where generation begins
        input_ids = torch.full((len(chunk), width), tokenizer.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros_like(input_ids)
        for row, ids in enumerate(chunk):
            input_ids[row, width - len(ids) :] = torch.tensor(ids)
            attention_mask[row, width - len(ids) :] = 1
        out = model.generate(
            input_ids=input_ids.to(device), attention_mask=attention_mask.to(device), do_sample=False,
            max_new_tokens=max_new_tokens, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        )
        forward_passes += out.shape[1] - width  # one pass per new token (the KV cache keeps the rest)
        replies += [trim_answer(row[width:].tolist(), tokenizer) for row in out]
    return replies, forward_passes


def causal_speed_quality(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, dataset: Sequence[Mapping], *, max_new_tokens: int = 16, batch_size: int = 128, name: str = "autoregressive") -> dict:
    """The row :func:`dlm_kit.chat.speed_quality_sweep` gives, for a causal LM with greedy decoding."""
    start = time.perf_counter()
    replies, forward_passes = _answer_causal(model, tokenizer, [row["messages"][:-1] for row in dataset], max_new_tokens, batch_size)
    return speed_quality_row(name, replies, dataset, tokenizer, seconds=time.perf_counter() - start,
                             forward_passes=forward_passes, kind="autoregressive")
