"""Specification of `dlm_kit.sampling.generate`: the model card's tokens, and what it adds."""

from __future__ import annotations

import doctest
from functools import lru_cache
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from transformers import (
    BertConfig,
    BertForMaskedLM,
    ModernBertConfig,
    ModernBertForMaskedLM,
    RobertaConfig,
    RobertaForMaskedLM,
)

import dlm_kit.sampling as sampling
from dlm_kit.denoiser import canvas_position_ids
from dlm_kit.sampling import GenerationOutput, context_length, generate
from dlm_kit.sampling_config import SamplingConfig
from reference_sampler import reference_generate

VOCAB, MASK, EOS, PAD = 128, 4, 2, 0
ARCHS = ("bert", "modernbert")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models run as fast on one thread, and stay fast when other jobs share the CPU
    (two threads on two busy cores oversubscribe: the suite then took 3x longer)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def build_model(arch: str, seed: int = 0, eos_bias: float = 0.0) -> torch.nn.Module:
    """A random 2-layer float32 masked LM. initializer_range=0.2 (not 0.02) spreads the logits so
    that confidences have no float32 near-ties that a different batch shape could flip."""
    torch.manual_seed(seed)
    common = dict(
        vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=96, initializer_range=0.2,
        pad_token_id=PAD, attn_implementation="sdpa",
    )
    if arch == "bert":
        model = BertForMaskedLM(BertConfig(**common))
    else:
        config = ModernBertConfig(
            **common, eos_token_id=EOS, bos_token_id=1, cls_token_id=1, sep_token_id=EOS,
            global_attn_every_n_layers=2, local_attention=16,
        )
        model = ModernBertForMaskedLM(config)
    if eos_bias:
        with torch.no_grad():
            model.get_output_embeddings().bias[EOS] += eos_bias
    return model.eval()


@lru_cache(maxsize=None)
def cached_model(arch: str, seed: int = 0) -> torch.nn.Module:
    return build_model(arch, seed)


def random_prompt(length: int, seed: int, batch: int = 1) -> torch.Tensor:
    # ids from 5 up: never the mask (4), EOS (2) or padding (0)
    return torch.randint(5, VOCAB, (batch, length), generator=torch.Generator().manual_seed(seed))


# --- the model card's tokens ------------------------------------------------------------------

# (max_new_tokens, steps, block_size): one token per step, several per step with a remainder
# (16 / 5 -> 4,3,3,3,3), several blocks, and more steps than tokens.
SCHEDULES = [(16, 16, 16), (16, 5, 16), (32, 16, 8), (24, 6, 8), (8, 16, 8)]


@pytest.mark.parametrize("cfg_scale", [0.0, 1.5])
@pytest.mark.parametrize("new, steps, block", SCHEDULES)
@pytest.mark.parametrize("seed, prompt_len", [(0, 1), (1, 7), (2, 12)])
@pytest.mark.parametrize("arch", ARCHS)
def test_low_confidence_tokens_equal_the_model_card_reference(
    arch, seed, prompt_len, new, steps, block, cfg_scale
):
    model, prompt = cached_model(arch, seed), random_prompt(prompt_len, seed)
    expected = reference_generate(
        model, prompt, mask_id=MASK, steps=steps, gen_length=new, block_length=block,
        cfg_scale=cfg_scale, remasking="low_confidence",
    )
    out = generate(
        model, prompt, max_new_tokens=new, steps=steps, block_size=block, cfg_scale=cfg_scale,
        mask_token_id=MASK,
    )
    assert torch.equal(out.sequences, expected)
    assert out.nfe == out.steps_taken * (2 if cfg_scale else 1) <= steps * (2 if cfg_scale else 1)


@pytest.mark.parametrize("cfg_scale", [0.0, 1.5])
@pytest.mark.parametrize("new, steps, block", SCHEDULES[:3])
@pytest.mark.parametrize("arch", ARCHS)
def test_fast_mode_gives_the_reference_tokens_where_logits_have_no_float32_near_ties(arch, new, steps, block, cfg_scale):
    # fast mode runs the head on the candidates only: the same logits up to float rounding, so the
    # same tokens on these models (initializer_range=0.2 leaves no near-ties)
    model, prompts = cached_model(arch, 1), random_prompt(7, seed=1, batch=2)
    expected = reference_generate(model, prompts, mask_id=MASK, steps=steps, gen_length=new,
                                  block_length=block, cfg_scale=cfg_scale, remasking="low_confidence")
    out = generate(model, prompts, max_new_tokens=new, steps=steps, block_size=block, cfg_scale=cfg_scale,
                   mask_token_id=MASK, mode="fast")
    assert torch.equal(out.sequences, expected)


def roberta_model() -> torch.nn.Module:
    torch.manual_seed(0)
    config = RobertaConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=98, initializer_range=0.2,
                           pad_token_id=1, attn_implementation="sdpa")
    return RobertaForMaskedLM(config).eval()


@pytest.mark.parametrize("padded", [False, True])
@pytest.mark.parametrize("arch", ARCHS + ("roberta",))
def test_the_layerwise_encoder_computes_the_models_encoder_bit_for_bit_and_a_cached_window_too(arch, padded):
    from dlm_kit.heads import split_masked_lm
    from dlm_kit.layerwise import LayerwiseEncoder

    model = roberta_model() if arch == "roberta" else cached_model(arch)
    x = random_prompt(40, seed=3, batch=3)
    attention_mask = (torch.arange(40) < torch.tensor([40, 31, 22])[:, None]).long() if padded else None
    positions = canvas_position_ids(model, 3, 40, x.device)  # RoBERTa: explicit positions
    encoder = LayerwiseEncoder.build(model, batch=3, length=40, attention_mask=attention_mask, position_ids=positions)
    extra = {} if positions is None else {"position_ids": positions}
    with torch.no_grad():
        expected = split_masked_lm(model)[0](input_ids=x, attention_mask=attention_mask, **extra)[0]
        full = encoder.encode(x, store=True)
        assert torch.equal(full, expected)
        # a window against keys and values cached from the same canvas is the same computation
        assert torch.equal(encoder.encode(x, 10, 20), full[:, 10:20])
        # after a change inside the window, the window differs from the stale full pass
        changed = x.clone()
        changed[:, 12] = 7
        assert not torch.equal(encoder.encode(changed, 10, 20), full[:, 10:20])


@pytest.mark.parametrize("cache", ["none", "prefix", "dual"])
@pytest.mark.parametrize("arch", ARCHS)
def test_cache_none_is_the_exact_mode_and_a_cache_is_exact_when_each_block_takes_one_step(arch, cache):
    # With one step per block every step is a block's first: the whole canvas, no cached values.
    model, prompts = cached_model(arch, 1), random_prompt(7, seed=1, batch=2)
    exact = generate(model, prompts, max_new_tokens=24, steps=3, block_size=8, mask_token_id=MASK)
    fast = generate(model, prompts, max_new_tokens=24, steps=3, block_size=8, mask_token_id=MASK,
                    mode="fast", cache=cache)
    assert torch.equal(fast.sequences, exact.sequences)
    if cache == "none":  # and with several steps per block, without a cache fast mode stays exact here
        args = dict(max_new_tokens=24, steps=24, block_size=8, mask_token_id=MASK)
        assert torch.equal(generate(model, prompts, mode="fast", **args).sequences,
                           generate(model, prompts, **args).sequences)


@pytest.mark.parametrize("cache", ["prefix", "dual"])
def test_a_cache_saves_work_and_its_tokens_mostly_agree_with_exact_mode_on_a_trained_model(cache):
    from dlm_kit.backbones import load_backbone
    from dlm_kit.layerwise import LayerwiseEncoder
    from dlm_kit.chat import build_prompt, trim_answer
    from dlm_kit.data import make_synthetic_tasks

    model, tok = load_backbone("tiny-chat")
    test = make_synthetic_tasks(n_train=4000, n_test=200, seed=0)["test"]
    prompts = [build_prompt(tok, test[i]["messages"][:-1]) for i in range(0, 200, 25)]
    args = dict(max_new_tokens=64, steps=64, block_size=16, mask_token_id=tok.mask_token_id, mode="fast")
    windows = []
    original = LayerwiseEncoder.encode

    def counting(self, x, start=0, end=None, **kw):
        windows.append((end or x.shape[1]) - start)
        return original(self, x, start, end, **kw)

    exact = generate(model.eval(), prompts, **args).new_tokens
    LayerwiseEncoder.encode = counting
    try:
        cached = generate(model, prompts, cache=cache, **args).new_tokens
    finally:
        LayerwiseEncoder.encode = original
    length = max(map(len, prompts)) + 64
    assert len(windows) == 64 and sum(w == length for w in windows) == 4  # one full pass per block
    assert sum(windows) < 0.75 * 64 * length
    # approximate, not arbitrary: most answers are the exact mode's (74 % of 100 at blocks of 16 in docs/performance.md)
    same = [trim_answer(a.tolist(), tok) == trim_answer(b.tolist(), tok) for a, b in zip(cached, exact)]
    assert sum(same) >= len(same) // 2


@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")  # torch's own import
def test_compiled_fast_mode_gives_the_tokens_of_eager_fast_mode():
    pytest.importorskip("torch._inductor")
    model, prompts = cached_model("bert", 1), random_prompt(5, seed=1, batch=2)
    args = dict(max_new_tokens=16, steps=8, block_size=8, mask_token_id=MASK, mode="fast", stop_at_eos=True,
                eos_token_id=EOS)
    compiled = generate(model, prompts, compile=True, **args)
    assert torch.equal(compiled.sequences, generate(model, prompts, **args).sequences)


def test_fast_mode_falls_back_to_the_full_forward_for_an_unknown_architecture():
    logits = torch.tensor([0.0, 1.0, 3.0, -1.0, 0.5])
    out = generate(FixedLogitsLM(logits).eval(), [[1]], max_new_tokens=4, steps=4, block_size=4, mode="fast")
    assert out.new_tokens.tolist() == [[2, 2, 2, 2]]


@pytest.mark.parametrize("cfg_scale", [0.0, 1.5])
@pytest.mark.parametrize("arch", ARCHS)
def test_a_batch_of_equal_length_prompts_equals_the_reference_batch(arch, cfg_scale):
    model, prompts = cached_model(arch), random_prompt(6, seed=5, batch=3)
    expected = reference_generate(model, prompts, mask_id=MASK, steps=8, gen_length=16,
                                  block_length=8, cfg_scale=cfg_scale, remasking="low_confidence")
    out = generate(model, prompts, max_new_tokens=16, steps=8, block_size=8, cfg_scale=cfg_scale,
                   mask_token_id=MASK)
    assert torch.equal(out.sequences, expected)


def test_a_predicted_mask_token_stays_masked_and_competes_again_like_the_reference():
    # this random model predicts the mask token itself at some positions (a trained one would not)
    model, prompt = cached_model("bert", 2), random_prompt(12, seed=2)
    expected = reference_generate(model, prompt, mask_id=MASK, steps=16, gen_length=32,
                                  block_length=8, cfg_scale=1.5, remasking="low_confidence")
    out = generate(model, prompt, max_new_tokens=32, steps=16, block_size=8, cfg_scale=1.5,
                   mask_token_id=MASK)
    assert (expected[0, 12:] == MASK).any()
    assert torch.equal(out.sequences, expected)


def test_steps_beyond_the_number_of_tokens_are_skipped_without_forward_passes():
    model, prompt = cached_model("modernbert"), random_prompt(4, seed=0)
    kwargs = dict(mask_id=MASK, gen_length=8, block_length=8, remasking="low_confidence")
    out = generate(model, prompt, max_new_tokens=8, steps=16, block_size=8, mask_token_id=MASK)
    assert torch.equal(out.sequences, reference_generate(model, prompt, steps=16, **kwargs))
    assert out.nfe == out.steps_taken == 8


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("arch", ARCHS)
def test_random_remasking_replays_the_reference_with_the_same_seed(arch, seed):
    model, prompt = cached_model(arch), random_prompt(5, seed)
    torch.manual_seed(seed)  # the reference draws from the global RNG
    expected = reference_generate(model, prompt, mask_id=MASK, steps=8, gen_length=16, block_length=8)
    out = generate(
        model, prompt, max_new_tokens=16, steps=8, block_size=8, remasking="random",
        mask_token_id=MASK, generator=torch.Generator().manual_seed(seed),
    )
    assert torch.equal(out.sequences, expected)


# --- batches of prompts of different lengths --------------------------------------------------


@pytest.mark.parametrize("mode", ["exact", "fast"])
@pytest.mark.parametrize("cfg_scale", [0.0, 2.0])
@pytest.mark.parametrize("arch", ARCHS)
def test_in_float64_batched_prompts_of_different_lengths_give_the_tokens_of_one_at_a_time(arch, cfg_scale, mode):
    # The documented contract: a padded row computes the same function as alone; float64 leaves
    # no rounding difference for a near-tie to flip. initializer_range=0.02 makes near-ties common.
    torch.manual_seed(3)
    config = dict(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                  intermediate_size=64, max_position_embeddings=96, pad_token_id=PAD)
    model = (BertForMaskedLM(BertConfig(**config)) if arch == "bert" else ModernBertForMaskedLM(
        ModernBertConfig(**config, global_attn_every_n_layers=2, local_attention=16))).double().eval()
    prompts = [random_prompt(n, seed=n)[0].tolist() for n in (3, 9, 1, 6)]
    kwargs = dict(max_new_tokens=16, steps=8, block_size=8, cfg_scale=cfg_scale, mask_token_id=MASK, mode=mode)
    batched = generate(model, prompts, **kwargs)
    for row, prompt in enumerate(prompts):
        alone = generate(model, [prompt], **kwargs)
        assert torch.equal(batched.new_tokens[row], alone.new_tokens[0]), f"row {row}"


@pytest.mark.parametrize("cfg_scale", [0.0, 2.0])
@pytest.mark.parametrize("arch", ARCHS)
def test_in_float32_batched_confidences_equal_one_at_a_time_up_to_rounding(arch, cfg_scale):
    # What float32 guarantees: the same probabilities up to rounding (~1e-6), hence the same tokens
    # wherever no two candidates are that close (true of these models, initializer_range=0.2).
    model = cached_model(arch)
    prompts = [random_prompt(n, seed=n)[0].tolist() for n in (3, 9, 1, 6)]
    kwargs = dict(max_new_tokens=16, steps=8, block_size=8, cfg_scale=cfg_scale, mask_token_id=MASK,
                  return_history=True)
    batched = generate(model, prompts, **kwargs)
    for row, prompt in enumerate(prompts):
        alone = generate(model, [prompt], **kwargs)
        assert torch.equal(batched.new_tokens[row], alone.new_tokens[0]), f"row {row}"
        n = len(prompt) + 16
        for b_step, a_step in zip(batched.history, alone.history):
            torch.testing.assert_close(b_step.confidence[row, :n], a_step.confidence[0], atol=1e-5, rtol=0,
                                       equal_nan=True)


def test_padded_batch_layout_is_prompt_then_new_tokens_then_padding():
    out = generate(cached_model("bert"), [[7, 8, 9], [10]], max_new_tokens=4, steps=4, block_size=4, mask_token_id=MASK)
    assert out.sequences.shape == (2, 3 + 4)
    assert out.prompt_lengths.tolist() == [3, 1]
    assert out.sequences[0, :3].tolist() == [7, 8, 9] and out.sequences[1, :1].tolist() == [10]
    assert out.sequences[1, 5:].tolist() == [PAD, PAD]
    assert torch.equal(out.new_tokens[1], out.sequences[1, 1:5])
    assert not (out.new_tokens == MASK).any()


def test_left_and_right_padded_tensors_give_the_same_tokens_as_a_list_of_prompts():
    model = cached_model("modernbert")
    prompts = [[11, 12, 13, 14], [21, 22]]
    kwargs = dict(max_new_tokens=8, steps=8, block_size=4, mask_token_id=MASK)
    expected = generate(model, prompts, **kwargs).new_tokens
    right = torch.tensor([[11, 12, 13, 14], [21, 22, PAD, PAD]])
    left = torch.tensor([[11, 12, 13, 14], [PAD, PAD, 21, 22]])
    right_mask, left_mask = (right != PAD).long(), (left != PAD).long()
    assert torch.equal(generate(model, right, attention_mask=right_mask, **kwargs).new_tokens, expected)
    assert torch.equal(generate(model, left, attention_mask=left_mask, **kwargs).new_tokens, expected)


# --- early exit at EOS ------------------------------------------------------------------------


def first_eos(tokens: torch.Tensor) -> int:
    """Index of the first EOS, or the last index when there is none."""
    return int((tokens == EOS).int().argmax()) if (tokens == EOS).any() else len(tokens) - 1


# (arch, seed, EOS bias) chosen so that the first EOS lands early, mid-block and in a late block
@pytest.mark.parametrize("arch, seed, eos_bias", [("bert", 1, 2.0), ("bert", 1, 1.5), ("modernbert", 1, 2.5), ("modernbert", 0, 2.5)])
def test_early_exit_keeps_the_text_up_to_the_first_eos_and_saves_forward_passes(arch, seed, eos_bias):
    model, prompt = build_model(arch, seed, eos_bias), random_prompt(7, seed=0)
    kwargs = dict(max_new_tokens=32, steps=32, block_size=8, mask_token_id=MASK, eos_token_id=EOS)
    full = generate(model, prompt, **kwargs).new_tokens[0]
    early = generate(model, prompt, stop_at_eos=True, **kwargs)
    end = first_eos(full)
    assert full[end] == EOS
    assert torch.equal(early.new_tokens[0, : end + 1], full[: end + 1])
    assert (early.new_tokens[0, end:] == EOS).sum() >= 1 and not (early.new_tokens == MASK).any()
    assert early.nfe < 32


@pytest.mark.parametrize("mode", ["exact", "fast"])
def test_a_stop_sequence_ends_a_row_exactly_like_eos_does(mode):
    model, prompt = build_model("bert", 1, 2.0), random_prompt(7, seed=0)
    kwargs = dict(max_new_tokens=32, steps=32, block_size=8, mask_token_id=MASK, mode=mode)
    at_eos = generate(model, prompt, stop_at_eos=True, eos_token_id=EOS, **kwargs)
    at_stop = generate(model, prompt, stop_sequences=[[EOS]], eos_token_id=EOS, **kwargs)
    assert torch.equal(at_stop.sequences, at_eos.sequences) and at_stop.nfe == at_eos.nfe < 32


def test_a_multi_token_stop_sequence_keeps_the_text_up_to_it_and_saves_forward_passes():
    model, prompt = cached_model("modernbert"), random_prompt(5, seed=4)
    kwargs = dict(max_new_tokens=32, steps=32, block_size=8, mask_token_id=MASK)
    full = generate(model, prompt, **kwargs).new_tokens[0].tolist()
    stop = full[9:11]  # a pair that ends the second block's first half
    first = next(i for i in range(len(full) - 1) if full[i : i + 2] == stop)
    early = generate(model, prompt, stop_sequences=[stop], eos_token_id=EOS, **kwargs)
    assert early.new_tokens[0, : first + 2].tolist() == full[: first + 2]
    assert early.nfe < 32 and not (early.new_tokens == MASK).any()


def test_tiny_chat_answers_in_fast_mode_equal_the_exact_mode_and_stop_at_the_answer_tag():
    from dlm_kit.backbones import load_backbone
    from dlm_kit.chat import SamplingConfig, answer
    from dlm_kit.data import make_synthetic_tasks

    model, tok = load_backbone("tiny-chat")
    test = make_synthetic_tasks(n_train=4000, n_test=200, seed=0)["test"]  # held out of training
    questions = [test[i]["messages"][:-1] for i in range(0, len(test), 100)]
    exact = answer(model.eval(), tok, questions, sampling=SamplingConfig(mode="exact", stop_at_eos=False))
    assert answer(model, tok, questions) == exact  # the default: fast mode, stop at [/Answer] or EOS
    assert sum(e == test[i]["answer"] for e, i in zip(exact, range(0, len(test), 100))) >= 2


def test_early_exit_in_a_batch_keeps_each_rows_text_up_to_its_first_eos():
    model = build_model("bert", eos_bias=2.0)
    prompts = [random_prompt(n, seed=n)[0].tolist() for n in (7, 2, 5)]
    kwargs = dict(max_new_tokens=32, steps=32, block_size=8, mask_token_id=MASK, eos_token_id=EOS)
    full = generate(model, prompts, **kwargs).new_tokens
    early = generate(model, prompts, stop_at_eos=True, **kwargs).new_tokens
    assert (full == EOS).any(1).sum() >= 2  # most rows stop early
    for row in range(len(prompts)):
        end = first_eos(full[row])
        assert torch.equal(early[row, : end + 1], full[row, : end + 1]), f"row {row}"


# --- threshold (parallel) decoding ------------------------------------------------------------


@pytest.mark.parametrize("arch", ARCHS)
def test_threshold_one_commits_one_token_per_step_like_the_reference(arch):
    model, prompt = cached_model(arch), random_prompt(6, seed=3)
    out = generate(model, prompt, max_new_tokens=16, steps=16, block_size=8, threshold=1.0,
                   mask_token_id=MASK, return_history=True)
    assert max(float(step.confidence.nan_to_num(0).max()) for step in out.history) < 1.0
    expected = reference_generate(model, prompt, mask_id=MASK, steps=16, gen_length=16,
                                  block_length=8, remasking="low_confidence")
    assert torch.equal(out.sequences, expected)
    assert all(int(step.revealed.sum()) == 1 for step in out.history)


def test_threshold_below_every_confidence_fills_each_block_in_one_step():
    # the argmax token's probability is at least 1 / vocab_size
    out = generate(cached_model("bert"), random_prompt(5, seed=1), max_new_tokens=24, steps=24,
                   block_size=8, threshold=0.5 / VOCAB, mask_token_id=MASK)
    assert out.nfe == out.steps_taken == 3
    assert not (out.new_tokens == MASK).any()


@pytest.mark.parametrize("arch", ARCHS)
def test_a_moderate_threshold_takes_fewer_steps_than_the_schedule(arch):
    model, prompt = cached_model(arch), random_prompt(5, seed=2)
    kwargs = dict(max_new_tokens=16, steps=16, block_size=8, mask_token_id=MASK)
    scheduled = generate(model, prompt, return_history=True, **kwargs)
    median = torch.cat([s.confidence[s.revealed] for s in scheduled.history]).median().item()
    fast = generate(model, prompt, threshold=median, **kwargs)
    assert scheduled.nfe == 16
    assert 2 <= fast.nfe < 16
    assert not (fast.new_tokens == MASK).any()


def test_threshold_decoding_stays_within_the_step_budget():
    out = generate(cached_model("bert"), random_prompt(5, seed=1), max_new_tokens=16, steps=4,
                   block_size=16, threshold=0.999, mask_token_id=MASK)
    assert out.nfe <= 4
    assert not (out.new_tokens == MASK).any()


# --- random draws -----------------------------------------------------------------------------


@pytest.mark.parametrize("remasking", ["low_confidence", "random"])
def test_sampling_replays_with_the_same_generator_seed_and_differs_with_another(remasking):
    model, prompt = cached_model("modernbert"), random_prompt(4, seed=0)

    def run(seed: int) -> torch.Tensor:
        return generate(model, prompt, max_new_tokens=16, steps=8, block_size=8, temperature=1.0,
                        remasking=remasking, mask_token_id=MASK,
                        generator=torch.Generator().manual_seed(seed)).sequences

    assert torch.equal(run(0), run(0))
    assert not torch.equal(run(0), run(1))


class FixedLogitsLM(torch.nn.Module):
    """A stand-in masked LM that predicts the same logits at every position."""

    def __init__(self, logits: torch.Tensor):
        super().__init__()
        self.logits = torch.nn.Parameter(logits, requires_grad=False)
        self.config = SimpleNamespace(vocab_size=len(logits), max_position_embeddings=8, mask_token_id=0)

    def forward(self, input_ids, attention_mask=None):
        return SimpleNamespace(logits=self.logits.expand(*input_ids.shape, -1))


def test_temperature_sampling_draws_from_softmax_of_logits_over_temperature():
    logits, temperature, n = torch.tensor([0.0, 1.0, 2.0, -1.0, 0.5]), 0.7, 20000
    model = FixedLogitsLM(logits).eval()
    out = generate(model, [[1]] * n, max_new_tokens=1, steps=1, block_size=1, temperature=temperature,
                   generator=torch.Generator().manual_seed(0))
    freq = torch.bincount(out.new_tokens[:, 0], minlength=len(logits)).double() / n
    p = torch.softmax(logits.double() / temperature, 0)
    assert ((freq - p).abs() < 5 * (p * (1 - p) / n).sqrt()).all(), (freq, p)


def test_repetition_penalty_makes_a_written_token_less_likely_and_spares_eos():
    # every position prefers 3, then 4, then the EOS 5: greedy writes 3 everywhere
    logits = torch.tensor([-9.0, -9.0, -9.0, 4.0, 3.0, 2.5, -1.0])
    model = FixedLogitsLM(logits).eval()
    plain = generate(model, [[1]], max_new_tokens=4, steps=4, block_size=4).new_tokens[0].tolist()
    assert plain == [3, 3, 3, 3]
    assert generate(model, [[1]], max_new_tokens=4, steps=4, block_size=4, repetition_penalty=1.0).new_tokens[0].tolist() == plain
    # at 2.0 a written 3 scores 2 < 3 (token 4) and a written 4 scores 1.5 < 2.5: the EOS takes over and
    # stays, since EOS is exempt (padding an answer repeats it)
    out = generate(model, [[1]], max_new_tokens=4, steps=4, block_size=4, repetition_penalty=2.0, eos_token_id=5)
    assert sorted(out.new_tokens[0].tolist()) == [3, 4, 5, 5]  # positions tie: any order
    # the prompt's tokens do not count: a prompt of 3s still gets one 3
    assert 3 in generate(model, [[3, 3]], max_new_tokens=4, steps=4, block_size=4, repetition_penalty=2.0,
                         eos_token_id=5).new_tokens[0].tolist()
    with pytest.raises(ValueError, match="repetition_penalty=0"):
        generate(model, [[1]], max_new_tokens=4, steps=4, block_size=4, repetition_penalty=0)


def test_min_new_tokens_keeps_end_tokens_out_of_the_first_positions_only():
    # every position prefers the EOS 5, then 3: without a minimum the answer is all EOS (empty)
    logits = torch.tensor([-9.0, -9.0, -9.0, 3.0, -1.0, 4.0, -9.0])
    model = FixedLogitsLM(logits).eval()
    kwargs = dict(max_new_tokens=4, steps=4, block_size=4, eos_token_id=5)
    assert generate(model, [[1], [1, 1]], **kwargs).new_tokens.tolist() == [[5] * 4] * 2
    out = generate(model, [[1], [1, 1]], min_new_tokens=2, **kwargs)  # rows of different prompt lengths
    assert out.new_tokens.tolist() == [[3, 3, 5, 5]] * 2  # counted from each row's own answer start
    # a stop sequence's first token is an end token too (here the only one: no eos_token_id given)
    out = generate(model, [[1]], min_new_tokens=3, stop_sequences=[[5, 4]], max_new_tokens=4, steps=4, block_size=4)
    assert out.new_tokens[0, :3].tolist() == [3, 3, 3]
    assert generate(model, [[1]], min_new_tokens=4, **kwargs).new_tokens[0].tolist() == [3] * 4
    with pytest.raises(ValueError, match="min_new_tokens=5"):
        generate(model, [[1]], min_new_tokens=5, **kwargs)
    with pytest.raises(ValueError, match="SamplingConfig: min_new_tokens=-1"):
        SamplingConfig(max_new_tokens=4, min_new_tokens=-1)


# --- history ----------------------------------------------------------------------------------


@pytest.mark.parametrize("extra", [{}, {"threshold": 0.05}, {"stop_at_eos": True}])
def test_history_has_one_record_per_step_reveals_each_new_position_once_and_ends_at_the_output(extra):
    model = build_model("bert", eos_bias=2.0)
    prompts = [[5, 6, 7], [8]]
    out = generate(model, prompts, max_new_tokens=16, steps=16, block_size=8, mask_token_id=MASK,
                   eos_token_id=EOS, return_history=True, **extra)
    assert len(out.history) == out.steps_taken
    masks_left = [int((s.canvas == MASK).sum()) for s in out.history]
    assert masks_left == sorted(masks_left, reverse=True) and masks_left[0] > masks_left[-1] == 0
    assert [s.step for s in out.history] == list(range(out.steps_taken))
    assert torch.equal(out.history[-1].canvas, out.sequences)
    times_revealed = torch.stack([s.revealed for s in out.history]).sum(0)
    new = torch.zeros_like(times_revealed, dtype=torch.bool)
    new[0, 3:19], new[1, 1:17] = True, True
    # once per new position, unless the model itself predicted the mask token there to the end
    assert torch.equal(times_revealed, (new & (out.sequences != MASK)).long())
    for s in out.history:  # confidence is given exactly at the positions the model committed
        scored = ~s.confidence.isnan()
        assert not (scored & ~s.revealed).any()
        assert ((s.confidence[scored] > 0) & (s.confidence[scored] <= 1)).all()


def test_on_step_sees_each_step_as_it_happens_equal_to_the_history():
    model = build_model("bert")
    seen = []
    out = generate(model, [[5, 6, 7]], max_new_tokens=8, steps=8, block_size=4, mask_token_id=MASK,
                   return_history=True, on_step=seen.append)
    assert len(seen) == out.steps_taken
    assert all(torch.equal(a.canvas, b.canvas) and torch.equal(a.revealed, b.revealed)
               for a, b in zip(seen, out.history))


def test_output_reports_forward_passes_counting_guidance_as_two():
    out = generate(cached_model("bert"), [[5, 6]], max_new_tokens=8, steps=4, block_size=8,
                   cfg_scale=1.0, mask_token_id=MASK)
    assert isinstance(out, GenerationOutput) and out.history is None
    assert (out.steps_taken, out.nfe) == (4, 8)


# --- positions: RoBERTa ------------------------------------------------------------------------


def build_roberta(pad: int, max_positions: int, seed: int = 0) -> torch.nn.Module:
    """A random 2-layer RoBERTa whose pad id is `pad` (RoBERTa numbers positions from pad + 1)."""
    torch.manual_seed(seed)
    config = RobertaConfig(
        vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=max_positions, initializer_range=0.2,
        pad_token_id=pad, eos_token_id=EOS, attn_implementation="sdpa",
    )
    return RobertaForMaskedLM(config).eval()


def test_roberta_context_leaves_out_the_position_ids_it_skips():
    model = build_roberta(pad=PAD, max_positions=41)  # positions 1..40: 40 tokens fit
    assert context_length(model) == 40 and context_length(cached_model("bert")) == 96
    out = generate(model, random_prompt(8, seed=0), max_new_tokens=32, steps=8, block_size=32, mask_token_id=MASK)
    assert out.sequences.shape == (1, 40)
    with pytest.raises(ValueError, match=r"context of 40 .*shorten the prompt to at most 8 tokens"):
        generate(model, random_prompt(9, seed=0), max_new_tokens=32, steps=8, block_size=32, mask_token_id=MASK)


def test_an_eos_equal_to_the_pad_id_does_not_shift_roberta_positions():
    # With EOS = PAD (the tiny tokenizer), RoBERTa's own position ids skip every EOS, in a
    # multi-turn prompt or committed, and shift all later positions. The same network with a pad
    # id that never occurs (its position table moved to match) must generate the same tokens.
    eos_is_pad = build_roberta(pad=EOS, max_positions=41)
    unused_pad = build_roberta(pad=100, max_positions=41 + 98)  # positions from 101 instead of 3
    unused_pad.load_state_dict(eos_is_pad.state_dict() | {
        "roberta.embeddings.position_embeddings.weight": torch.cat([
            torch.zeros(98, 32), eos_is_pad.roberta.embeddings.position_embeddings.weight])})
    prompt = [11, 12, 13, EOS, 14, 15]  # an earlier turn ended by EOS
    kwargs = dict(max_new_tokens=32, steps=32, block_size=8, mask_token_id=MASK)
    out = generate(eos_is_pad, [prompt], **kwargs)
    assert torch.equal(out.sequences, generate(unused_pad, [prompt], **kwargs).sequences)


# --- prompts as numpy ---------------------------------------------------------------------------


def test_numpy_integer_prompts_give_the_same_tokens_as_lists_of_ints():
    model, prompts = cached_model("bert"), [[11, 12, 13], [21, 22]]
    kwargs = dict(max_new_tokens=8, steps=8, block_size=8, mask_token_id=MASK)
    expected = generate(model, prompts, **kwargs).sequences
    as_numpy = [np.array(p, dtype=np.int64) for p in prompts]
    assert torch.equal(generate(model, as_numpy, **kwargs).sequences, expected)
    assert torch.equal(generate(model, [[np.int32(t) for t in p] for p in prompts], **kwargs).sequences, expected)
    same_length = np.array([[11, 12, 13], [21, 22, 23]], dtype=np.int32)
    assert torch.equal(generate(model, same_length, **kwargs).sequences,
                       generate(model, torch.tensor(same_length), **kwargs).sequences)


# --- errors -----------------------------------------------------------------------------------

ERRORS = [
    (dict(max_new_tokens=96, steps=96), "max_position_embeddings=96"),
    (dict(max_new_tokens=16, block_size=12), "block_size=12 must divide max_new_tokens=16"),
    (dict(max_new_tokens=16, block_size=4, steps=2), r"steps=2 .* number of blocks 4.*steps=4"),
    (dict(max_new_tokens=16, block_size=4, steps=6), r"steps=6 .*pass steps=4 or 8"),
    (dict(mask_token_id=None), r"mask_token_id=None.*tokenizer\.mask_token_id"),
    (dict(threshold=0.0), r"threshold=0\.0: must be in \(0, 1\]"),
    (dict(threshold=1.5), r"threshold=1\.5"),
    (dict(threshold=0.5, remasking="random"), "needs remasking='low_confidence'"),
    (dict(remasking="confidence"), r"remasking='confidence'.*'low_confidence', 'random'"),
    (dict(temperature=-1.0), "temperature=-1.0: must be >= 0"),
    (dict(cfg_scale=-0.5), "cfg_scale=-0.5: must be >= 0"),
    (dict(stop_at_eos=True), r"eos_token_id=None.*tokenizer\.eos_token_id"),
    (dict(input_ids=[[]]), r"empty prompt \(rows \[0\]"),
    (dict(input_ids=torch.tensor([[5, 6]]), attention_mask=torch.tensor([[0, 0]])), "empty prompt"),
    (dict(input_ids=[5, 6, 7]), r"list of prompts.*pass \[ids\]"),
    (dict(input_ids=torch.tensor([5, 6])), r"\[B, P\].*input_ids\[None\]"),
    (dict(input_ids=[[5, MASK, 6]]), "contains mask_token_id=4"),
    (dict(input_ids=[[5] * 90]), r"98 positions exceed the model's context of 96 .*shorten the prompt to at "
                                 r"most 88 tokens .*or lower max_new_tokens and block_size to 6 or less\.$"),
    (dict(input_ids=[[5] * 100]), r"shorten the prompt to at most 88 tokens \(e\.g\. keep its last ones\)\.$"),
    (dict(input_ids=[[5] * 85], max_new_tokens=16, block_size=8, steps=16), r"lower max_new_tokens to 8 or less"),
    (dict(input_ids=np.array([[5.0, 6.0]])), r"numpy array of float64; pass input_ids\.astype\('int64'\)"),
    (dict(input_ids=[[5, 6.0]]), r"list of prompts \(lists of ints\)"),
    (dict(mode="quick"), r"mode='quick': allowed values are \('exact', 'fast'\)"),
    (dict(cache="kv"), r"cache='kv': allowed values are \('none', 'prefix', 'dual', 'blocks'\)"),
    (dict(cache="dual"), r"cache='dual' needs mode='fast'"),
    (dict(compile=True), r"compile=True needs mode='fast'"),
    (dict(compile="fastest", mode="fast"), r"compile='fastest': pass False, True or a torch.compile mode"),
    (dict(compile=True, mode="fast", cache="dual"), r"compile=True compiles .*pass compile=False, or mode='fast' with cache='none'"),
    (dict(stop_sequences=[7, 8]), r"stop_sequences: 7 is not a non-empty sequence"),
    (dict(stop_sequences=[[MASK]]), r"contains mask_token_id=4"),
]


@pytest.mark.parametrize("kwargs, message", ERRORS, ids=[m.split(" ")[0][:24] for _, m in ERRORS])
def test_invalid_arguments_raise_a_value_error_that_names_the_fix(kwargs, message):
    args = dict(input_ids=[[5, 6, 7]], max_new_tokens=8, steps=8, block_size=8, mask_token_id=MASK)
    args.update(kwargs)
    model = cached_model("bert")  # BertConfig has neither a mask nor an EOS id
    with pytest.raises(ValueError, match=message):
        generate(model, args.pop("input_ids"), **args)


def test_docstring_example_runs():
    result = doctest.testmod(sampling, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_no_gradients_are_recorded():
    out = generate(cached_model("bert"), [[5, 6]], max_new_tokens=4, steps=4, block_size=4,
                   mask_token_id=MASK, return_history=True)
    assert not out.history[0].confidence.requires_grad


def test_the_evaluator_fits_requests_into_the_models_real_context():
    pytest.importorskip("lm_eval")
    from dlm_kit.backbones import load_backbone
    from dlm_kit.evaluation import DiffusionLM

    model, tok = load_backbone("tiny-roberta", seed=0)  # 513 position ids, the first is skipped
    lm = DiffusionLM(model, tok, device="cpu")
    assert lm.max_length == context_length(model) == 512


# ---- rows leaving and coming back ---------------------------------------------------------------


def test_modernbert_fast_mode_keeps_its_sliding_window_when_rows_leave():
    # Equal-length prompts give one shared [1, 1, L, L] sliding-window mask; when a row finishes
    # and leaves, that mask must stay (it was dropped once, so local layers attended everywhere).
    for seed in range(3):
        model = build_model("modernbert", seed, eos_bias=2.5).double()
        prompts = random_prompt(7, seed=seed, batch=4)
        args = dict(max_new_tokens=32, steps=32, block_size=8, mask_token_id=MASK, eos_token_id=EOS, stop_at_eos=True)
        exact, fast = (generate(model, prompts, mode=m, **args) for m in ("exact", "fast"))
        assert model.config.sliding_window < prompts.shape[1] + 32  # the window is narrower than the canvas
        assert torch.equal(exact.sequences, fast.sequences), seed


class _ScriptedModel(torch.nn.Module):
    """Row behaviour chosen by its first prompt token: 10 fills every block at once, 11 ends its
    answer with EOS on the first block's last position, 12 is never confident (one token a step)."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.config = SimpleNamespace(mask_token_id=MASK, eos_token_id=EOS, pad_token_id=0,
                                            max_position_embeddings=512)

    def forward(self, input_ids, attention_mask=None, **kwargs):
        rows, length = input_ids.shape
        logits = torch.zeros(rows, length, VOCAB)
        columns = torch.arange(length, dtype=torch.float)
        for r in range(rows):
            kind = int(input_ids[r, 0])
            if kind == 10:
                logits[r, :, 20] = 20.0
            elif kind == 11:
                logits[r, :, 21] = 0.1 * columns
                logits[r, 9, EOS] = 3.0
            else:
                logits[r, :, 22] = 1.0 + 0.01 * columns
        return SimpleNamespace(logits=logits)


@pytest.mark.parametrize("mode", ["exact", "fast"])
def test_a_row_done_with_a_block_comes_back_for_the_next_when_another_finished_on_its_last_step(mode):
    model = _ScriptedModel().eval()
    prompts = torch.tensor([[10, 5], [11, 5], [12, 5]])
    args = dict(max_new_tokens=16, steps=16, block_size=8, mask_token_id=MASK, eos_token_id=EOS,
                stop_at_eos=True, threshold=0.9, mode=mode)
    batched = generate(model, prompts, **args).new_tokens
    alone = torch.cat([generate(model, prompts[i : i + 1], **args).new_tokens for i in range(3)])
    assert not (batched == MASK).any()  # no row was left out of a block
    assert torch.equal(batched, alone)
