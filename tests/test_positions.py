"""RoBERTa-style position numbering: an EOS equal to the pad id must not shift later positions,
in the loss by mask ratio and in the likelihood, as in training and sampling."""

import torch
from transformers import RobertaConfig, RobertaForMaskedLM

from dlm_kit.likelihood import exact_loglikelihood, mc_loglikelihood
from dlm_kit.masking import loss_at_mask_ratios
from dlm_kit.positions import position_ids, position_offset

VOCAB, MASK, EOS = 64, 4, 2
SHIFT = 98  # the twin's pad id is 100 (never in the text): its positions start 98 later


def twins():
    """The same RoBERTa twice: pad id = EOS, and an unused pad id with the position table moved."""
    torch.manual_seed(0)

    def build(pad: int, max_positions: int) -> RobertaForMaskedLM:
        config = RobertaConfig(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                               intermediate_size=64, max_position_embeddings=max_positions,
                               pad_token_id=pad, eos_token_id=EOS, initializer_range=0.2)
        return RobertaForMaskedLM(config).eval()

    eos_is_pad = build(EOS, 40)
    unused_pad = build(100, 40 + SHIFT)
    table = eos_is_pad.roberta.embeddings.position_embeddings.weight
    unused_pad.load_state_dict(eos_is_pad.state_dict() | {
        "roberta.embeddings.position_embeddings.weight": torch.cat([torch.zeros(SHIFT, 32), table])})
    return eos_is_pad, unused_pad


def test_positions_count_tokens_not_pad_ids():
    eos_is_pad, _ = twins()
    ids = torch.tensor([[7, EOS, 9, EOS]])
    assert position_offset(eos_is_pad) == EOS + 1
    assert position_ids(eos_is_pad, ids).tolist() == [[3, 4, 5, 6]]
    assert position_ids(eos_is_pad, ids, torch.tensor([[1, 1, 1, 0]])).tolist() == [[3, 4, 5, 2]]


def test_loss_by_mask_ratio_reads_eos_as_a_token():
    eos_is_pad, unused_pad = twins()
    rows = [{"input_ids": [9, 10, EOS, 11, 12, EOS, 13, 14] * 2, "labels": [9, 10, EOS, 11, 12, EOS, 13, 14] * 2}] * 4
    kwargs = dict(ratios=(0.3, 1.0), mask_token_id=MASK, seed=1)
    a, b = loss_at_mask_ratios(eos_is_pad, rows, **kwargs), loss_at_mask_ratios(unused_pad, rows, **kwargs)
    for ratio in a:
        assert abs(a[ratio] - b[ratio]) < 1e-5, (ratio, a, b)


def test_likelihood_reads_eos_as_a_token():
    eos_is_pad, unused_pad = twins()
    contexts, continuations = [[9, EOS, 10, 11]], [[12, EOS, 13]]
    for fn in (exact_loglikelihood, mc_loglikelihood):
        kwargs = dict(mask_token_id=MASK, pad_token_id=EOS)
        if fn is mc_loglikelihood:
            kwargs.update(num_samples=6, exact_when_cheaper=False)
        scores = [fn(m, contexts, continuations, generator=torch.Generator().manual_seed(0), **kwargs)[0]
                  if fn is mc_loglikelihood else fn(m, contexts, continuations, **kwargs)[0]
                  for m in (eos_is_pad, unused_pad)]
        assert abs(scores[0] - scores[1]) < 1e-4, (fn.__name__, scores)
