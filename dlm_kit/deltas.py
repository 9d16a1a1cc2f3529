"""Small commits of fine-tuned pretrained models: only the tensors that changed, in float16.

A fine-tuned MiniLM differs from the pip package's MiniLM in a few tensors (the layers that
trained, the MLM head, the rows of added chat-tag tokens). Those alone, saved as
``delta.safetensors`` with a ``dlm_kit_delta.json`` naming the base, are a model folder of
~11-22 MB that :func:`dlm_kit.backbones.load_backbone` turns back into a plain masked LM.
:func:`dlm_kit.backbones.save_delta` writes one; this module holds the tensor work.

    >>> import torch
    >>> base, tuned = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    >>> tuned.load_state_dict(base.state_dict()); _ = torch.nn.init.zeros_(tuned.bias)
    <All keys matched successfully>
    >>> sorted(changed_tensors(tuned, base.state_dict()))
    ['bias']
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

__all__ = ["APPENDED_ROWS", "DELTA_CONFIG", "DELTA_WEIGHTS", "apply_delta", "changed_tensors", "encoder_layers", "mlm_head",
           "read_delta_spec", "train_top_layers", "write_delta"]

DELTA_CONFIG = "dlm_kit_delta.json"
DELTA_WEIGHTS = "delta.safetensors"
APPENDED_ROWS = ".appended_rows"
"""Suffix of a delta tensor that holds only the rows added after the base's (a grown vocabulary)."""


def encoder_layers(model: PreTrainedModel) -> torch.nn.ModuleList:
    """The encoder's layers (BERT/RoBERTa ``encoder.layer``, ModernBERT ``layers``), or a ValueError."""
    base = getattr(model, model.base_model_prefix, model)
    for path in ("encoder.layer", "layers"):
        module = base
        for attr in path.split("."):
            module = getattr(module, attr, None)
        if isinstance(module, torch.nn.ModuleList):
            return module
    raise ValueError(f"{type(model).__name__}: cannot find its encoder layers (looked for encoder.layer and layers).")


def mlm_head(model: PreTrainedModel) -> torch.nn.Module:
    """The MLM head (``cls``, ``lm_head`` or ``head``), or a ValueError."""
    for name in ("cls", "lm_head", "head"):
        if isinstance(getattr(model, name, None), torch.nn.Module):
            return getattr(model, name)
    raise ValueError(f"{type(model).__name__}: cannot find its MLM head (looked for cls, lm_head, head).")


def train_top_layers(model: PreTrainedModel, n_layers: int) -> int:
    """Freeze everything but the top ``n_layers`` encoder layers and the MLM head; return the trainable count.

    The word embeddings (tied to the output decoder) stay frozen: they keep the pretrained
    vocabulary geometry, the lower layers cost no backward pass, and a checkpoint of the changed
    tensors (:func:`dlm_kit.backbones.save_delta`) stays small.

    >>> from dlm_kit.backbones import load_backbone
    >>> model, _ = load_backbone("tiny-bert", seed=0)
    >>> train_top_layers(model, 1) < sum(p.numel() for p in model.parameters())
    True
    """
    layers = encoder_layers(model)
    if not 1 <= n_layers <= len(layers):
        raise ValueError(f"n_layers={n_layers}; this model has {len(layers)} encoder layers, choose 1 to {len(layers)}.")
    for p in model.parameters():
        p.requires_grad = False
    for module in [*layers[len(layers) - n_layers :], mlm_head(model)]:
        for p in module.parameters():
            p.requires_grad = True
    # the decoder's weight is the (frozen) word embedding matrix; only its bias trains
    model.get_output_embeddings().weight.requires_grad = False
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def changed_tensors(model: torch.nn.Module, base_state: dict[str, torch.Tensor], dtype: torch.dtype = torch.float16) -> dict[str, torch.Tensor]:
    """The tensors of ``model`` that differ from ``base_state``, in ``dtype``; a vocabulary grown by
    added tokens keeps only its new rows (under the key + :data:`APPENDED_ROWS`)."""
    changed = {}
    for key, value in model.state_dict().items():
        old = base_state.get(key)
        value = value.detach().cpu()
        if old is not None and value.shape[1:] == old.shape[1:] and value.shape[0] > old.shape[0] and torch.equal(value[: len(old)], old):
            changed[key + APPENDED_ROWS] = value[len(old) :].to(dtype).clone().contiguous()
        elif old is None or value.shape != old.shape or not torch.equal(value, old):
            changed[key] = value.to(dtype).clone().contiguous()  # clone: unties shared tensors
    return changed


def write_delta(folder: str | os.PathLike, changed: dict[str, torch.Tensor], *, base: str, dtype: torch.dtype, vocab_size: int,
                tokenizer: PreTrainedTokenizerBase, card: str | None = None) -> dict[str, int]:
    """Write a delta folder: the ``changed`` tensors, the tokenizer, ``dlm_kit_delta.json`` and the card."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file(changed, folder / DELTA_WEIGHTS, metadata={"base": base})
    tokenizer.save_pretrained(folder)
    info = {"tensors": len(changed), "parameters": sum(v.numel() for v in changed.values())}
    spec = {"base": base, "dtype": str(dtype).removeprefix("torch."), "vocab_size": vocab_size, **info}
    (folder / DELTA_CONFIG).write_text(json.dumps(spec, indent=2) + "\n")
    if card is not None:
        (folder / "README.md").write_text(card)
    return info


def read_delta_spec(folder: str | os.PathLike) -> dict:
    """The ``dlm_kit_delta.json`` of a delta folder: its base, dtype, vocabulary size and counts."""
    return json.loads((Path(folder) / DELTA_CONFIG).read_text())


def apply_delta(model: PreTrainedModel, folder: str | os.PathLike) -> None:
    """Apply a delta folder's tensors to ``model`` (its base, freshly loaded), in place.

    Grows the vocabulary first when the delta added tokens; a damaged file or a tensor the base
    does not have raises a ValueError saying which.
    """
    from safetensors.torch import load_file

    folder = Path(folder)
    spec = read_delta_spec(folder)
    try:
        delta = load_file(folder / DELTA_WEIGHTS)
    except Exception as err:  # a truncated or foreign file: say which
        raise ValueError(f"{folder / DELTA_WEIGHTS}: cannot read the saved tensors ({err}); the file is damaged or "
                         "incomplete. Re-download or re-create the model (see its README.md for the recipe).") from err
    base_vocab = model.get_input_embeddings().weight.shape[0]
    if spec.get("vocab_size", base_vocab) != base_vocab:  # the tokenizer gained tokens (chat tags)
        model.resize_token_embeddings(spec["vocab_size"], mean_resizing=False)
    state = model.state_dict()
    with torch.no_grad():
        for key in [k for k in delta if k.endswith(APPENDED_ROWS)]:
            rows = delta.pop(key)
            target = state[key.removesuffix(APPENDED_ROWS)]
            target[target.shape[0] - rows.shape[0] :].copy_(rows.to(target.dtype))
    unknown = [key for key in delta if key not in state]
    if unknown:
        raise ValueError(
            f"{folder}: {len(unknown)} saved tensors (e.g. {unknown[0]!r}) do not exist in the base "
            f"model {spec['base']!r}; the delta was saved against another architecture."
        )
    with torch.no_grad():
        for key, value in delta.items():
            state[key].copy_(value.to(state[key].dtype))
