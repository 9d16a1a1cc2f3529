"""Small commits of fine-tuned pretrained models: only the changed tensors, loaded back exactly."""

import json

import pytest
import torch

from dlm_kit.backbones import DELTA_CONFIG, load_backbone, save_delta, train_top_layers


def test_top_layers_and_head_train_and_the_embeddings_stay_frozen():
    model, _ = load_backbone("tiny-bert", seed=0)
    train_top_layers(model, 1)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert any(".layer.3." in name for name in trainable) and not any(".layer.0." in name for name in trainable)
    assert "cls.predictions.transform.dense.weight" in trainable
    assert not model.get_input_embeddings().weight.requires_grad
    with pytest.raises(ValueError, match="4 encoder layers"):
        train_top_layers(model, 5)


def test_a_delta_folder_loads_back_the_trained_model(tmp_path):
    torch.manual_seed(0)
    model, tok = load_backbone("minilm")
    train_top_layers(model, 1)
    with torch.no_grad():  # stand in for training: move every trainable tensor
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.01 * torch.randn_like(p))
    info = save_delta(model, tok, tmp_path / "delta", base="minilm", dtype=torch.float32)
    spec = json.loads((tmp_path / "delta" / DELTA_CONFIG).read_text())
    assert spec["base"] == "minilm" and info["parameters"] < model.num_parameters() / 2
    reloaded, reloaded_tok = load_backbone(str(tmp_path / "delta"))
    ids = torch.tensor([tok("a diffusion bert writes [MASK] text")["input_ids"]])
    assert type(reloaded).__name__ == "BertForMaskedLM"
    assert torch.allclose(reloaded.eval()(input_ids=ids).logits, model.eval()(input_ids=ids).logits, atol=1e-5)
    assert reloaded_tok.chat_template == tok.chat_template


def test_a_delta_for_another_architecture_is_refused(tmp_path):
    model, tok = load_backbone("tiny-bert", seed=0)
    save_delta(model, tok, tmp_path / "delta", base="tiny-bert")
    (tmp_path / "delta" / DELTA_CONFIG).write_text(json.dumps({"base": "tiny-modernbert"}))
    with pytest.raises(ValueError, match="another architecture"):
        load_backbone(str(tmp_path / "delta"))
