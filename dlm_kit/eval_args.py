"""What ``--model_args`` of lm-eval may say to the ``dlm_kit`` model, as one typed object.

lm-eval hands a model its ``model_args`` as strings (``"mc_num=16,mode=exact"``) or Python
values, plus its own ``batch_size``, ``max_batch_size`` and ``device``. :meth:`DiffusionLMArgs.parse`
turns them into typed fields: each value is converted to its field's type, and a value that
does not convert, or a key no field has, is refused with a message naming the key.
``fast_likelihood``, the old name of ``head_on_masked_only``, is still accepted.

    >>> args = DiffusionLMArgs.parse(pretrained="tiny-chat", mc_num="16", head_on_masked_only="false")
    >>> args.mc_num, args.head_on_masked_only, args.sampler_overrides()
    (16, False, {})
    >>> DiffusionLMArgs.parse(pretrained="tiny-chat", mc_nun=16)
    Traceback (most recent call last):
    ...
    ValueError: model_args: unknown key 'mc_nun'; known keys: batch_size, block_size, cfg_scale, device, dtype, head_on_masked_only, max_batch_size, max_length, max_new_tokens, mc_num, min_new_tokens, mode, pretrained, remasking, repetition_penalty, rolling_context, seed, steps, temperature, threshold, tokenizer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from typing import Any

import torch

from .backbones import load_backbone
from .denoiser import check_mode

__all__ = ["DTYPES", "SAMPLER_KEYS", "DiffusionLMArgs"]

logger = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
SAMPLER_KEYS = ("block_size", "steps", "threshold", "temperature", "remasking", "cfg_scale", "repetition_penalty",
                "min_new_tokens")
"""The sampler settings ``model_args`` may set; those not set come from the model's recommended ones."""

_UNSET = (None, "", "None", "none")


def _to_int(key: str, value: Any) -> int:
    try:
        if isinstance(value, bool) or float(value) != int(float(value)):
            raise ValueError
        return int(float(value))
    except (TypeError, ValueError):
        raise ValueError(f"model_args {key}={value!r}: expected a whole number.") from None


def _to_float(key: str, value: Any) -> float:
    try:
        if isinstance(value, bool):
            raise ValueError
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"model_args {key}={value!r}: expected a number.") from None


def _to_bool(key: str, value: Any) -> bool:
    text = str(value).lower()
    if text not in ("true", "false", "1", "0"):
        raise ValueError(f"{key}={value!r}: use true or false.")
    return text in ("true", "1")


@dataclass
class DiffusionLMArgs:
    """The ``model_args`` of :class:`dlm_kit.evaluation.DiffusionLM`, typed (see its docstring for each)."""

    pretrained: Any = None  #: a folder, hub id or kit name (``tiny-chat``), or a model object
    tokenizer: Any = None  #: the tokenizer, with a model object
    mc_num: int = 32  #: Monte Carlo samples per log-likelihood request
    batch_size: int | str = 32  #: rows per forward pass; "auto" means 32 (capped by max_batch_size), with a warning
    max_batch_size: int | None = None  #: an upper bound on batch_size (lm-eval passes it)
    device: str | None = None  #: default: CUDA if there is one, else the CPU
    dtype: torch.dtype | None = None  #: float32 | bfloat16 | float16
    max_length: int | None = None  #: positions per row; default and upper bound: the model's
    max_new_tokens: int = 64  #: answer canvas of generate_until (a task's max_gen_toks wins, in whole blocks)
    block_size: int | None = None  #: sampler settings of generate_until; None: the model's recommended one
    steps: int | None = None
    threshold: float | None = None
    temperature: float | None = None
    remasking: str | None = None
    cfg_scale: float | None = None
    repetition_penalty: float | None = None
    min_new_tokens: int | None = None
    seed: int = 0  #: seeds the likelihood masks and the sampler's draws
    rolling_context: int | None = None  #: context tokens per later window of loglikelihood_rolling (max_length // 2)
    head_on_masked_only: bool = True  #: the MLM head only on scored positions (false: the full forward, same numbers)
    mode: str = "fast"  #: the sampler's mode in generate_until ("fast" or "exact"; see dlm_kit.sampling)

    @classmethod
    def parse(cls, **model_args: Any) -> DiffusionLMArgs:
        """Typed arguments from lm-eval's ``model_args``, or a ValueError naming the key that is wrong."""
        if "fast_likelihood" in model_args:  # the old name of head_on_masked_only (a model_args string may hold it)
            if "head_on_masked_only" in model_args:
                raise ValueError("model_args: fast_likelihood is the old name of head_on_masked_only; give one of them.")
            model_args["head_on_masked_only"] = model_args.pop("fast_likelihood")
        known = sorted(f.name for f in fields(cls))
        unknown = sorted(set(model_args) - set(known))
        if unknown:
            keys = ", ".join(repr(k) for k in unknown)
            raise ValueError(f"model_args: unknown key{'s' if len(unknown) > 1 else ''} {keys}; known keys: {', '.join(known)}.")
        args = cls(**model_args)
        if args.pretrained is None:
            raise ValueError("model_args needs pretrained=PATH (a saved folder, a hub id, or a kit name such as tiny-chat).")
        for key in ("mc_num", "seed", "max_new_tokens"):
            setattr(args, key, _to_int(key, getattr(args, key)))
        for key in ("max_batch_size", "max_length", "rolling_context", "block_size", "steps", "min_new_tokens"):
            value = getattr(args, key)
            setattr(args, key, None if value in _UNSET or (key == "max_length" and value in (0, "0")) else _to_int(key, value))
        for key in ("threshold", "temperature", "cfg_scale", "repetition_penalty"):
            value = getattr(args, key)
            setattr(args, key, None if value in _UNSET else _to_float(key, value))
        args.remasking = None if args.remasking in _UNSET else str(args.remasking)
        args.head_on_masked_only = _to_bool("head_on_masked_only", args.head_on_masked_only)
        args.mode = check_mode(args.mode)
        args.dtype = _dtype(args.dtype)
        args.batch_size = _batch_size(args.batch_size, args.max_batch_size)
        if args.mc_num < 1:
            raise ValueError(f"mc_num={args.mc_num}: needs at least 1 Monte Carlo sample per log-likelihood; e.g. mc_num=32.")
        if args.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens={args.max_new_tokens!r}: generate_until needs at least 1 new token; "
                             "e.g. max_new_tokens=64.")
        if args.max_length is not None and args.max_length < 2:
            raise ValueError(f"max_length={args.max_length!r}: needs at least 2 positions (one context token and one "
                             "new token); leave it unset for the model's positions.")
        if args.device is not None and torch.device(args.device).type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device={args.device!r} but torch.cuda.is_available() is False (CPU-only torch or no GPU); "
                             "pass device='cpu' or leave device unset to pick one.")
        return args

    def load(self) -> tuple[torch.nn.Module, Any, torch.device]:
        """The model, its tokenizer (loaded with :func:`dlm_kit.backbones.load_backbone` for a name or
        folder), and the device to run on (``device``, else CUDA if there is one, else the CPU)."""
        if isinstance(self.pretrained, str):
            model, tokenizer = load_backbone(self.pretrained, dtype=self.dtype)
        elif self.tokenizer is None:
            raise ValueError("Pass tokenizer= with a model object (or pretrained=PATH to load both).")
        else:
            model, tokenizer = self.pretrained, None
        tokenizer = self.tokenizer if self.tokenizer is not None and not isinstance(self.tokenizer, str) else tokenizer
        if tokenizer.mask_token_id is None:
            raise ValueError(f"{self.pretrained!r} has no mask token: a masked diffusion LM needs one.")
        return model, tokenizer, torch.device(self.device or ("cuda" if torch.cuda.is_available() else "cpu"))

    def sampler_overrides(self) -> dict[str, Any]:
        """The sampler settings these arguments set (the rest come from the model's recommended ones)."""
        return {key: getattr(self, key) for key in SAMPLER_KEYS if getattr(self, key) is not None}


def _dtype(value: Any) -> torch.dtype | None:
    if value in _UNSET or value == "auto" or isinstance(value, torch.dtype):
        return None if not isinstance(value, torch.dtype) else value
    if value not in DTYPES:
        raise ValueError(f"dtype={value!r}: use float32, bfloat16 or float16.")
    return DTYPES[value]


def _batch_size(value: Any, max_batch_size: int | None) -> int:
    """Rows per forward pass. "auto" (lm-eval's search for the largest batch that fits) is not
    searched here: it means 32, capped by ``max_batch_size``, and says so."""
    if str(value).startswith("auto"):
        size = min(32, max_batch_size or 32)
        logger.warning("batch_size=%s: dlm_kit does not search for a batch size; using %d rows per forward pass "
                       "(pass batch_size=N to choose).", value, size)
        return size
    size = _to_int("batch_size", value)
    if size < 1:
        raise ValueError(f"batch_size={value!r}: needs at least 1 row per forward pass.")
    if max_batch_size is not None and size > max_batch_size:
        logger.warning("batch_size=%d is more than max_batch_size=%d: using %d.", size, max_batch_size, max_batch_size)
        return max_batch_size
    return size
