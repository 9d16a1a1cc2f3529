"""Shared fixtures: the kit's tiny tokenizer and a seeded, offline environment."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # CI has no hub: fail fast instead of retrying
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "data" / "fixtures"


@pytest.fixture(scope="session")
def tiny_tokenizer():
    from dlm_kit.backbones import build_tiny_tokenizer

    return build_tiny_tokenizer()


@pytest.fixture(autouse=True)
def _seed():
    from dlm_kit.training import seed_everything

    seed_everything(0)
