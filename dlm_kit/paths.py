"""Where the kit's files live: the shipped folders, the trained models, the cache.

The bottom layer: it imports nothing from the kit. The trained tiny models (``models/``) and the
project-authored data (``data/tasks``, ``data/english_chat``, ``data/teacher_chat``) sit at the
repository's top level; an installed wheel carries them inside the package as ``dlm_kit/_models``,
``dlm_kit/_tasks``, ... (``pyproject.toml``), so each is looked up with :func:`shipped_dir`: the
wheel's copy, else the checkout's.

>>> shipped_dir("_tasks", "data/tasks").name
'tasks'
>>> cache_dir().name != ""
True
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "PACKAGE_DIR",
    "ASSETS_DIR",
    "MODELS_DIR",
    "TASKS_DIR",
    "ENGLISH_CHAT_DIR",
    "TEACHER_CHAT_DIR",
    "SAMPLING_CONFIG_FILE",
    "shipped_dir",
    "models_dir",
    "cache_dir",
    "hub_unreachable",
]

PACKAGE_DIR = Path(__file__).resolve().parent
"""The ``dlm_kit`` folder itself."""
ASSETS_DIR = PACKAGE_DIR / "assets"
"""Files inside the package in both a checkout and a wheel (the tiny tokenizer's vocabulary)."""


def shipped_dir(packaged: str, checkout: str) -> Path:
    """The wheel's copy ``dlm_kit/<packaged>`` if it exists, else the checkout's ``<checkout>``.

    ``packaged`` is the folder name ``pyproject.toml`` gives the data inside the package;
    ``checkout`` is its path relative to the repository's top level.

    >>> shipped_dir("_models", "models").name in ("_models", "models")
    True
    """
    wheel_copy = PACKAGE_DIR / packaged  # only in an installed wheel (pyproject.toml)
    return wheel_copy if wheel_copy.is_dir() else PACKAGE_DIR.parent / checkout


def models_dir() -> Path:
    """``$DLM_KIT_MODELS`` if set, else the wheel's copy (``dlm_kit/_models``), else the checkout's ``models/``."""
    if os.environ.get("DLM_KIT_MODELS"):
        return Path(os.environ["DLM_KIT_MODELS"]).expanduser()
    return shipped_dir("_models", "models")


MODELS_DIR = models_dir()
"""Where the kit names of :data:`dlm_kit.backbones.KIT_MODELS` are found (read once, at import)."""
TASKS_DIR = shipped_dir("_tasks", "data/tasks")
"""The offline lm-eval tasks (project-authored YAML + JSONL): the wheel's copy, else the checkout's data/tasks."""
ENGLISH_CHAT_DIR = shipped_dir("_english_chat", "data/english_chat")
"""The committed English-chat teacher answers (``scripts/make_english_chat.py``)."""
TEACHER_CHAT_DIR = shipped_dir("_teacher_chat", "data/teacher_chat")
"""The committed raw teacher answers (``scripts/make_teacher_data.py``)."""

SAMPLING_CONFIG_FILE = "sampling_config.json"
"""A model folder's recommended sampler settings: the fields of :class:`dlm_kit.chat.SamplingConfig` as JSON.

Like Hugging Face's ``generation_config.json`` for autoregressive models (which has no block
size, remasking or threshold), written by ``SamplingConfig.save_pretrained``; read by
:func:`dlm_kit.backbones.load_backbone` into ``model.config.dlm_kit_sampling``. ``answer``,
``ChatSession``, ``dlm-kit chat``/``generate``, the studio and the lm-eval model use it whenever
their caller passes no settings (``dlm_kit.backbones`` and ``dlm_kit.chat`` re-export the name)."""


def cache_dir() -> Path:
    """The kit's cache: ``$DLM_KIT_CACHE``, else ``~/.cache/dlm_kit`` (read at each call).

    Holds retrained tokenizers, the dequantised SmolLM2 judge and the smoke stand-ins.
    """
    return Path(os.environ.get("DLM_KIT_CACHE", Path.home() / ".cache" / "dlm_kit")).expanduser()


def hub_unreachable(repo_id: str) -> bool:
    """Whether loading the hub id ``repo_id`` must fail: ``HF_HUB_OFFLINE`` is set and it is not in the local hub cache.

    One check for every loader of the kit (masked LMs in ``backbones``, causal LMs in ``a2d_adapter``),
    so each can say at once what to pass instead of waiting on the hub client's network retries.

    >>> import os; os.environ["HF_HUB_OFFLINE"] = "1"
    >>> hub_unreachable("no-such-namespace/no-such-model")
    True
    >>> del os.environ["HF_HUB_OFFLINE"]; hub_unreachable("no-such-namespace/no-such-model")
    False
    """
    if os.environ.get("HF_HUB_OFFLINE", "").lower() not in ("1", "true", "yes"):
        return False
    try:
        from huggingface_hub import try_to_load_from_cache

        return not isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except Exception:  # not a valid repo id: nothing in the cache either
        return True
