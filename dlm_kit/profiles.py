"""Run presets: the `tiny` profile (CPU, offline, minutes) and the `full` profile (GPU, hub).

Every notebook reads one profile in its first cells, so the same notebook teaches on a laptop
in CI and reproduces the seed's experiments on a GPU with internet access:

    >>> from dlm_kit.profiles import get_profile
    >>> get_profile("tiny").name
    'tiny'

The profile is chosen by the ``profile`` argument, else the ``DLM_KIT_PROFILE`` environment
variable, else ``tiny``. Notebooks change a field with :func:`dataclasses.replace`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Profile", "get_profile", "PROFILE_NAMES"]

PROFILE_NAMES = ("tiny", "full")


@dataclass(frozen=True)
class Profile:
    """Sizes, sources and budgets a notebook needs; one object per profile."""

    name: Literal["tiny", "full"]
    device: str
    """'cpu' or 'cuda'; the trainer picks bf16 on CUDA automatically."""
    backbones: tuple[str, ...]
    """Backbones compared in notebook 02 (names understood by `dlm_kit.backbones.load_backbone`)."""
    chat_backbone: str
    """The backbone that is instruction-tuned in notebook 03."""
    pair_backbone: str
    """The architecture notebook 01 trains twice from random init (MLM vs MDLM); its tokenizer
    is used for the text."""
    pretrain_corpus: str
    """Text for continual MDLM pretraining (`dlm_kit.data.load_text_corpus`)."""
    sft_stages: tuple[tuple[str, ...], ...]
    """Instruction SFT stages, trained one after another; each stage mixes its sources
    (`dlm_kit.data.load_sft_stage`). 'synthetic' = the project's tasks."""
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
    mask_ratios: tuple[float, ...] = field(default=(0.1, 0.3, 0.5, 0.7, 0.9, 1.0))
    """Mask ratios at which notebook 01 measures loss."""


_PROFILES = {
    "tiny": Profile(
        name="tiny",
        device="cpu",
        backbones=("minilm", "minilm-random", "tiny-modernbert", "tiny-roberta"),
        chat_backbone="tiny-bert",
        pair_backbone="tiny-modernbert",
        pretrain_corpus="gensim-wikipedia",
        sft_stages=(("synthetic",),),
        seq_length=128,
        max_sft_length=64,
        batch_size=32,
        pretrain_steps=150,
        sft_steps=400,
        learning_rate=2e-3,
        eval_examples=200,
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
    ),
}


def get_profile(profile: str | None = None) -> Profile:
    """Return the named profile, else ``$DLM_KIT_PROFILE``, else ``tiny``.

    >>> get_profile("full").pretrain_corpus
    'wikitext-103'
    """
    name = profile if profile is not None else os.environ.get("DLM_KIT_PROFILE", "tiny")
    name = name.strip().lower()
    if name not in _PROFILES:
        raise ValueError(
            f"Unknown profile {name!r} (from {'the argument' if profile else 'DLM_KIT_PROFILE'}); "
            f"choose one of {PROFILE_NAMES}: 'tiny' runs offline on CPU in minutes, "
            "'full' uses hub models and data on a GPU."
        )
    return _PROFILES[name]
