"""Corruption statistics: what MLM and MDLM masking promise the trainer."""

import math

import pytest
import torch

from dlm_kit.masking import MaskingConfig, corrupt, loss_weight, mask_probability, masked_diffusion_loss


def _batch(batch=4000, length=64, prompt=16):
    ids = torch.randint(5, 100, (batch, length))
    labels = ids.clone()
    labels[:, :prompt] = -100  # prompt
    labels[:, -8:] = -100  # padding that is not trained
    return ids, labels


def test_mdlm_mask_rate_tracks_t():
    ids, labels = _batch()
    gen = torch.Generator().manual_seed(0)
    out = corrupt(ids, labels, config=MaskingConfig(), mask_token_id=0, generator=gen)
    rate = out.masked.sum(1) / out.trainable.sum(1)
    # per-sequence rate is an unbiased estimate of t: regress it on t
    for lo, hi in [(0.0, 0.2), (0.4, 0.6), (0.8, 1.0)]:
        sel = (out.t >= lo) & (out.t < hi)
        assert abs(rate[sel].mean() - out.t[sel].mean()) < 0.01
    assert torch.corrcoef(torch.stack([rate, out.t]))[0, 1] > 0.95  # binomial noise of 40 tokens


def test_mdlm_ratios_cover_eps_to_one_uniformly():
    out = corrupt(*_batch(), config=MaskingConfig(eps=0.05), mask_token_id=0)
    assert out.t.min() >= 0.05 and out.t.max() <= 1.0
    assert abs(out.t.mean() - (0.05 + 1) / 2) < 0.02


def test_mlm_masks_its_fixed_ratio():
    out = corrupt(*_batch(), config=MaskingConfig(objective="mlm", mlm_ratio=0.15), mask_token_id=0)
    rate = out.masked.sum() / out.trainable.sum()
    assert abs(rate - 0.15) < 0.005
    assert torch.all(out.weights == 1)


@pytest.mark.parametrize("objective", ["mdlm", "mlm"])
def test_prompt_and_untrained_padding_are_never_masked(objective):
    ids, labels = _batch(batch=500)
    out = corrupt(ids, labels, config=MaskingConfig(objective=objective), mask_token_id=0, t=None)
    assert not out.masked[:, :16].any() and not out.masked[:, -8:].any()
    assert torch.equal(out.input_ids[labels == -100], ids[labels == -100])
    assert torch.all(out.input_ids[out.masked] == 0)
    assert torch.equal(out.input_ids[~out.masked], ids[~out.masked])


def test_linear_weights_are_one_over_t():
    out = corrupt(*_batch(batch=100), config=MaskingConfig(), mask_token_id=0)
    assert torch.allclose(out.weights, 1.0 / out.t)


def test_cosine_schedule_weight_is_the_elbo_weight():
    t = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64, requires_grad=True)
    p = mask_probability(t, "cosine")
    (dp,) = torch.autograd.grad(p.sum(), t)
    assert torch.allclose(loss_weight(t.detach(), "cosine"), dp / p.detach())


def test_full_ratio_masks_every_trainable_token():
    ids, labels = _batch(batch=3)
    out = corrupt(ids, labels, config=MaskingConfig(), mask_token_id=0, t=torch.ones(3))
    assert torch.equal(out.masked, labels != -100)


def test_same_generator_seed_replays_the_same_masks():
    ids, labels = _batch(batch=8)
    a = corrupt(ids, labels, config=MaskingConfig(), mask_token_id=0, generator=torch.Generator().manual_seed(3))
    b = corrupt(ids, labels, config=MaskingConfig(), mask_token_id=0, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a.input_ids, b.input_ids) and torch.equal(a.t, b.t)


def test_mdlm_loss_is_weighted_ce_over_trainable_tokens():
    ids = torch.randint(5, 100, (2, 10))
    labels = ids.clone()
    labels[:, :2] = -100
    out = corrupt(ids, labels, config=MaskingConfig(), mask_token_id=0, t=torch.tensor([0.5, 1.0]))
    logits = torch.zeros(2, 10, 100)  # uniform prediction: CE = log(100) per masked token
    loss = masked_diffusion_loss(logits, labels, out)
    expected = (out.masked[0].sum() * 2.0 + out.masked[1].sum() * 1.0) * math.log(100) / out.trainable.sum()
    assert torch.isclose(loss, expected)


def test_bad_masking_settings_raise_clear_errors():
    with pytest.raises(ValueError, match="objective='bert'"):
        MaskingConfig(objective="bert")
    with pytest.raises(ValueError, match="mlm_ratio=1.5"):
        MaskingConfig(mlm_ratio=1.5)
    with pytest.raises(ValueError, match="eps=0"):
        MaskingConfig(eps=0)


def test_sequence_losses_pool_to_the_mean_loss_at_each_ratio():
    from dlm_kit.backbones import load_backbone
    from dlm_kit.masking import loss_at_mask_ratios, sequence_losses_at_mask_ratios

    model, tok = load_backbone("tiny-bert", seed=0)
    data = [{"input_ids": list(range(5 + i, 21 + i)), "labels": list(range(5 + i, 21 + i))} for i in range(5)]
    kwargs = dict(ratios=(0.3, 1.0), mask_token_id=tok.mask_token_id, batch_size=2)
    per_sequence = sequence_losses_at_mask_ratios(model, data, **kwargs)
    pooled = loss_at_mask_ratios(model, data, **kwargs)
    nll, masked = per_sequence[1.0]
    assert masked.tolist() == [16] * 5 and bool((nll > 0).all())
    for ratio, (nll, masked) in per_sequence.items():
        assert math.isclose(pooled[ratio], nll.sum().item() / masked.sum().item(), rel_tol=1e-9)
