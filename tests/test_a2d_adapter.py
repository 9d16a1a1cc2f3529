"""A converted causal LM trains as a LoRA adapter, is saved small, and loads back as the same model."""

import json
import os
import subprocess
import sys

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from dlm_kit.a2d import CausalToDiffusion
from dlm_kit.a2d_adapter import A2D_CONFIG, add_lora, convert, load_adapter, save_adapter
from dlm_kit.backbones import build_tiny_tokenizer, load_backbone
from dlm_kit.chat import answer
from dlm_kit.sampling_config import SamplingConfig

from conftest import REPO


@pytest.fixture(scope="module")
def causal_folder(tmp_path_factory):
    """A small random Llama and a tokenizer *without* a mask token, saved as a causal LM is on the hub."""
    folder = tmp_path_factory.mktemp("causal-lm")
    tokenizer = build_tiny_tokenizer()
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         tie_word_embeddings=True, pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.mask_token = None  # a causal LM's tokenizer has none: convert() must add it
    tokenizer.save_pretrained(folder)
    return str(folder)


def _trained(causal_folder):
    model, tokenizer = convert(causal_folder, block_size=4)
    lora = add_lora(model, rank=4)
    torch.manual_seed(1)
    with torch.no_grad():  # stand-in for training: move every trainable tensor
        for parameter in lora.parameters():
            if parameter.requires_grad:
                parameter.add_(0.05 * torch.randn_like(parameter))
    return lora.eval(), tokenizer


def test_convert_adds_a_mask_token_and_lora_trains_only_the_adapter_and_its_row(causal_folder):
    model, tokenizer = convert(causal_folder, block_size=4)
    assert tokenizer.mask_token_id == len(tokenizer) - 1 == model.config.mask_token_id
    embeddings = model.get_input_embeddings().weight
    assert torch.allclose(embeddings[-1], embeddings[:-1].mean(0))  # the new row starts at the mean
    lora = add_lora(model, rank=4)
    trainable = [name for name, p in lora.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in name or "trainable_tokens" in name for name in trainable)
    assert sum("trainable_tokens" in name for name in trainable) == 1
    with pytest.raises(ValueError, match="not modules"):
        add_lora(convert(causal_folder, block_size=4)[0], targets=("c_attn",))


def test_the_saved_adapter_loads_back_as_the_trained_model(causal_folder, tmp_path):
    lora, tokenizer = _trained(causal_folder)
    save_adapter(lora, tokenizer, tmp_path, base=causal_folder)
    assert json.loads((tmp_path / A2D_CONFIG).read_text())["block_size"] == 4
    reloaded, reloaded_tokenizer = load_adapter(tmp_path)
    assert isinstance(reloaded, CausalToDiffusion) and reloaded_tokenizer.mask_token_id == tokenizer.mask_token_id
    ids = torch.tensor([[5, 6, 7, tokenizer.mask_token_id, tokenizer.mask_token_id, 9]])
    with torch.no_grad():
        want, got = lora(input_ids=ids).logits, reloaded(input_ids=ids).logits
    # float16 adapter weights: equal up to that rounding, and the mask token is never a prediction
    assert torch.allclose(got, want, atol=1e-3)
    assert (got.argmax(-1) != tokenizer.mask_token_id).all()


def test_load_backbone_and_answer_take_an_adapter_folder(causal_folder, tmp_path):
    lora, tokenizer = _trained(causal_folder)
    save_adapter(lora, tokenizer, tmp_path, base=causal_folder)
    (tmp_path / "sampling_config.json").write_text(json.dumps({"max_new_tokens": 8, "block_size": 4, "steps": 8}))
    model, tokenizer = load_backbone(str(tmp_path))
    assert model.config.dlm_kit_sampling["block_size"] == 4
    replies = answer(model, tokenizer, ["What is a cat?", "Name a colour."])
    assert len(replies) == 2 and all(isinstance(r, str) for r in replies)


def test_a_mismatched_base_is_refused(causal_folder, tmp_path):
    lora, tokenizer = _trained(causal_folder)
    save_adapter(lora, tokenizer, tmp_path, base=causal_folder)
    spec = json.loads((tmp_path / A2D_CONFIG).read_text())
    (tmp_path / A2D_CONFIG).write_text(json.dumps({**spec, "mask_token_id": 7}))
    with pytest.raises(ValueError, match="base has changed"):
        load_adapter(tmp_path)


def test_an_unreachable_base_fails_at_once_saying_what_to_pass(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a hub id not in the local cache cannot load: say so, no network retries
    with pytest.raises(FileNotFoundError, match="smollm2-135m-instruct"):
        convert("no-such-namespace/no-such-causal-lm", block_size=4)


@pytest.mark.slow
def test_the_recipe_stops_exports_and_resumes_in_a_fresh_sitting(causal_folder, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}

    def run(*extra, runs):
        done = subprocess.run([sys.executable, "scripts/train_smollm2_diffusion.py", "--base", causal_folder,
                               "--limit", "16", "--batch_size", "4", "--max_steps", "3", "--save_steps", "2",
                               "--eval_every", "3", "--answer_length", "16", "--models_dir", str(tmp_path / "models"),
                               "--runs_dir", str(runs), "--checkpoints_dir", str(tmp_path / "checkpoints"), *extra],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    assert "exported to" in run("--max_minutes", "0", runs=tmp_path / "runs-1")  # the sitting ends after step 1
    exported = tmp_path / "checkpoints" / "smollm2-diffusion"
    assert (exported / "adapter_model.safetensors").exists() and (exported / "step.txt").read_text().strip() == "1"
    assert "restored" in run(runs=tmp_path / "runs-2")  # a fresh clone: only the committed folder is left
    record = json.loads((tmp_path / "models" / "smollm2-diffusion" / "training.json").read_text())
    assert record["step"] == 3 and record["resumed"] and [s["step"] for s in record["sittings"]] == [1, 3]
    model, tokenizer = load_backbone(str(tmp_path / "models" / "smollm2-diffusion"))
    assert isinstance(model, CausalToDiffusion) and model.block_size == 4
    config, source = SamplingConfig.for_model(model)  # answer() samples in the blocks it trained on, with the exact cache
    assert (config.block_size, config.cache, "recommended") == (4, "blocks", source.split()[2])
