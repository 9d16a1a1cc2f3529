"""The MLM head only where the loss looks: same numbers, for every known architecture."""

import pytest
import torch

from dlm_kit.backbones import load_backbone
from dlm_kit.data import make_synthetic_tasks, tokenize_chat_dataset
from dlm_kit.heads import masked_lm_logits, split_masked_lm
from dlm_kit.training import TrainConfig, train


@pytest.mark.parametrize("name", ["tiny-bert", "tiny-modernbert", "tiny-roberta"])
def test_logits_at_selected_rows_equal_the_full_forward(name):
    model, tok = load_backbone(name, seed=0)
    model.eval()
    assert split_masked_lm(model) is not None
    ids = torch.randint(10, 200, (3, 12))
    attention_mask = torch.ones_like(ids)
    attention_mask[2, 9:] = 0
    rows = torch.rand(3, 12) < 0.4
    full = model(input_ids=ids, attention_mask=attention_mask).logits[rows]
    assert torch.allclose(masked_lm_logits(model, ids, rows, attention_mask=attention_mask), full, atol=1e-4)


def test_rows_must_match_the_input_shape():
    model, _ = load_backbone("tiny-bert", seed=0)
    with pytest.raises(ValueError, match="shape of input_ids"):
        masked_lm_logits(model, torch.ones(2, 5, dtype=torch.long), torch.ones(2, 4, dtype=torch.bool))


@pytest.mark.parametrize("objective", ["mdlm", "mlm"])
def test_training_on_masked_rows_only_gives_the_same_losses(tmp_path, objective):
    data = tokenize_chat_dataset(make_synthetic_tasks(["sort"], n_train=64, n_test=0)["train"], load_backbone("tiny-bert")[1])
    losses = {}
    for fast in (False, True):
        model, tok = load_backbone("tiny-bert", seed=0)
        config = TrainConfig(output_dir=str(tmp_path / str(fast)), objective=objective, max_steps=4, batch_size=16,
                             logging_steps=1, progress_bar=False, head_on_masked_only=fast)
        losses[fast] = train(model, tok, data, config=config).losses
    assert losses[True] == pytest.approx(losses[False], rel=1e-4)
