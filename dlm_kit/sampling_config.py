"""The sampler's settings as one object a model folder can carry: :class:`SamplingConfig`.

Every keyword of :func:`dlm_kit.sampling.generate` that shapes an answer, with the defaults a
user gets from :func:`dlm_kit.chat.answer`, ``dlm-kit chat`` and the widget. A bad value is
refused where the settings are made, by the sampler's own checks. A model folder may hold its
recommended settings as :data:`dlm_kit.paths.SAMPLING_CONFIG_FILE` (a sibling of Hugging Face's
``generation_config.json``); every user path reads them when the caller passes none.

    >>> SamplingConfig(max_new_tokens=64, block_size=16, steps=32).generate_kwargs()["steps"]
    32
    >>> SamplingConfig(max_new_tokens=64, block_size=48)
    Traceback (most recent call last):
    ...
    ValueError: SamplingConfig: block_size=48 must divide max_new_tokens=64 (blocks are filled whole, one after another); pass block_size=16 or max_new_tokens=96.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Literal

from .canvas import check_settings
from .denoiser import check_denoiser_settings
from .paths import SAMPLING_CONFIG_FILE

__all__ = ["PRESETS", "SamplingConfig"]


@dataclass(frozen=True)
class SamplingConfig:
    """Sampler settings for answers (the keywords of :func:`dlm_kit.sampling.generate`)."""

    max_new_tokens: int = 64
    """Canvas length for the answer, in tokens."""
    steps: int | None = None
    """Denoising steps in all; None = max_new_tokens (one token per step, the card's default)."""
    block_size: int | None = None
    """Tokens per block, filled left to right; None = max_new_tokens (a single block)."""
    temperature: float = 0.0
    remasking: Literal["low_confidence", "random"] = "low_confidence"
    cfg_scale: float = 0.0
    threshold: float | None = None
    """Confidence-threshold parallel decoding: commit every token at least this sure."""
    stop_at_eos: bool = True
    """Stop a row once its EOS or end-of-answer tag is fixed (exact: the text before it cannot change)."""
    mode: Literal["exact", "fast"] = "fast"
    """'fast': the MLM head only where logits are needed (same tokens up to float rounding, see
    docs/performance.md); 'exact': the model card's reference tokens, bit for bit."""
    cache: Literal["none", "prefix", "dual", "blocks"] = "none"
    """Approximate prefix / dual cache of keys and values within a block (fast mode; not the
    reference's tokens, its accuracy is in docs/performance.md); 'none' is exact; 'blocks' is the
    exact cache of committed blocks for block-causal models (:mod:`dlm_kit.a2d`)."""
    compile: bool | str = False
    """torch.compile the encoder (fast mode): True, or a mode such as 'reduce-overhead' (CUDA graphs)."""
    repetition_penalty: float = 1.0
    """> 1 makes words the answer already holds less likely elsewhere (Hugging Face's convention); 1.0 = off."""
    min_new_tokens: int = 0
    """The answer's first this-many tokens cannot end it (no EOS or end tag there; Hugging Face's
    ``min_new_tokens``); 0 = off."""

    def __post_init__(self) -> None:
        # checked where the settings are made, by the sampler's own rules, so a bad value never
        # runs silently as a default and fails later inside generate
        try:
            for name in ("steps", "block_size"):  # None means max_new_tokens; anything else must be a count
                value = getattr(self, name)
                if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                    raise ValueError(f"{name}={value!r}: use a whole number of at least 1, or None for max_new_tokens.")
            kwargs = self.generate_kwargs()
            check_settings(*(kwargs[k] for k in ("max_new_tokens", "steps", "block_size", "temperature", "remasking",
                                                 "cfg_scale", "threshold", "repetition_penalty",
                                                 "min_new_tokens")))
            check_denoiser_settings(self.mode, self.cache, self.compile)
        except ValueError as err:
            raise ValueError(f"SamplingConfig: {err}") from None

    def save_pretrained(self, folder: str | os.PathLike) -> Path:
        """Write these settings as the folder's recommended sampler settings (:data:`SAMPLING_CONFIG_FILE`)."""
        path = Path(folder) / SAMPLING_CONFIG_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path

    @classmethod
    def from_dict(cls, settings: Mapping, *, where: str = "settings") -> SamplingConfig:
        """Settings from a dict (a :data:`SAMPLING_CONFIG_FILE`); unknown keys are refused, naming the known ones."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ValueError(f"{where}: unknown sampler settings {unknown}; known: {sorted(known)}.")
        return cls(**settings)

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike) -> SamplingConfig:
        """The recommended settings saved in ``folder`` (:meth:`save_pretrained`)."""
        path = Path(folder) / SAMPLING_CONFIG_FILE
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist; the folder has no recommended sampler settings.")
        return cls.from_dict(json.loads(path.read_text()), where=str(path))

    @classmethod
    def for_model(cls, model: object) -> tuple[SamplingConfig, str]:
        """The model's recommended settings if it carries some, else the kit's defaults; and which.

        A model loaded by :func:`dlm_kit.backbones.load_backbone` from a folder with a
        :data:`SAMPLING_CONFIG_FILE` carries its settings in ``model.config.dlm_kit_sampling``.

        >>> from dlm_kit.backbones import load_backbone
        >>> model, _ = load_backbone("tiny-bert", seed=0)
        >>> SamplingConfig.for_model(model)[1]
        'the kit defaults'
        >>> model.config.dlm_kit_sampling = {"block_size": 8}
        >>> config, source = SamplingConfig.for_model(model)
        >>> config.block_size, source
        (8, "the model's recommended settings (sampling_config.json)")
        """
        settings = getattr(getattr(model, "config", None), "dlm_kit_sampling", None)
        if settings:
            return cls.from_dict(settings, where="model.config.dlm_kit_sampling"), f"the model's recommended settings ({SAMPLING_CONFIG_FILE})"
        return cls(), "the kit defaults"

    def generate_kwargs(self) -> dict:
        """The keywords of :func:`dlm_kit.sampling.generate`, with ``steps`` and ``block_size`` resolved.

        >>> SamplingConfig(max_new_tokens=16, steps=8).generate_kwargs()["block_size"]
        16
        """
        kwargs = asdict(self)
        kwargs["steps"] = self.steps or self.max_new_tokens
        kwargs["block_size"] = self.block_size or self.max_new_tokens
        return kwargs


PRESETS: dict[str, SamplingConfig] = {
    "quality": SamplingConfig(),
    "fast": SamplingConfig(threshold=0.9),
    "creative": SamplingConfig(temperature=0.8, remasking="random"),
}
"""Named settings: 'quality' one token per step; 'fast' threshold decoding; 'creative' sampling."""
