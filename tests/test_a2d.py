"""A causal LM converted to a diffusion LM keeps what it was: the invariant of dlm_kit.a2d."""

import functools

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

from dlm_kit.a2d import CausalToDiffusion, add_mask_token, diffusion_attention_mask
from dlm_kit.sampling import generate

VOCAB, MASK = 96, 95


def _causal(arch: str) -> torch.nn.Module:
    torch.manual_seed(0)
    if arch == "llama":
        config = LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                             pad_token_id=0, eos_token_id=None, bos_token_id=None)
        model = LlamaForCausalLM(config)
    else:
        config = GPT2Config(vocab_size=VOCAB, n_embd=32, n_layer=2, n_head=4, n_positions=128,
                            pad_token_id=0, eos_token_id=None, bos_token_id=None)
        model = GPT2LMHeadModel(config)
    # float64: the two computations (a KV-cached decode, a full forward per step) must not differ
    # at a near-tie of two random logits
    return model.double().eval()


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_block_size_one_with_the_shift_writes_the_causal_models_own_greedy_tokens(arch):
    causal = _causal(arch)
    prompts = [[5, 6, 7, 8], [9, 10], [11, 12, 13, 14, 15, 16, 17]]
    n = 12
    converted = CausalToDiffusion(causal, mask_token_id=MASK, block_size=1, shift=True)
    ours = generate(converted, prompts, max_new_tokens=n, steps=n, block_size=1, mode="exact").new_tokens.tolist()
    for prompt, row in zip(prompts, ours):
        with torch.no_grad():
            theirs = causal.generate(torch.tensor([prompt]), max_new_tokens=n, min_new_tokens=n, do_sample=False,
                                     pad_token_id=0)[0, len(prompt):].tolist()
        assert row == theirs


def test_without_the_shift_or_with_bidirectional_attention_the_tokens_change():
    """The invariant is not trivially true: each of the two changes alone breaks it."""
    causal = _causal("llama")
    prompt, n = [[5, 6, 7, 8]], 12
    with torch.no_grad():
        theirs = causal.generate(torch.tensor(prompt), max_new_tokens=n, min_new_tokens=n, do_sample=False, pad_token_id=0)[0, 4:]
    for kwargs in (dict(block_size=1, shift=False), dict(block_size=None, shift=True)):
        converted = CausalToDiffusion(causal, mask_token_id=MASK, **kwargs)
        ours = generate(converted, prompt, max_new_tokens=n, steps=n, block_size=1, mode="exact").new_tokens[0]
        assert not torch.equal(ours, theirs), kwargs


def test_block_causal_attention_sees_its_own_block_and_the_ones_before():
    allowed = diffusion_attention_mask(6, block_size=3)[0, 0]
    assert allowed[0].tolist() == [True, True, True, False, False, False]  # block 0 sees itself, not block 1
    assert allowed[5].all()  # the last block sees everything
    assert diffusion_attention_mask(3)[0, 0].all()  # bidirectional
    padded = diffusion_attention_mask(3, padding_mask=torch.tensor([[1, 1, 0]]))[0, 0]
    assert padded[:, 2].tolist() == [False, False, True]  # padding hidden from real tokens, keeps itself
    with pytest.raises(ValueError, match="block_size=0"):
        diffusion_attention_mask(3, block_size=0)


def test_a_mask_token_is_added_once_and_fits_the_embeddings():
    from transformers import PreTrainedTokenizerFast
    from tokenizers import Tokenizer, models

    tokenizer = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel({f"w{i}": i for i in range(VOCAB - 1)}, unk_token="w0")))
    causal = _causal("llama")
    mask = add_mask_token(causal, tokenizer)
    assert mask == tokenizer.mask_token_id and mask < causal.get_input_embeddings().num_embeddings
    assert add_mask_token(causal, tokenizer) == mask  # a second call adds nothing
    with pytest.raises(ValueError, match="outside the model's embeddings"):
        CausalToDiffusion(causal, mask_token_id=10_000)


def test_block_causal_blocks_start_where_each_rows_answer_starts():
    """Counted from position 0, a block straddles the answer start and sees the next sampler block."""
    model = CausalToDiffusion(_causal("llama"), mask_token_id=MASK, block_size=4, shift=False)
    x = torch.tensor([[5, 6, 7] + [MASK] * 8])  # a 3-token prompt, answer blocks at 3-6 and 7-10
    later = x.clone()
    later[0, 7:] = 9  # only the second answer block differs
    with torch.no_grad():
        aligned = [model(input_ids=ids, prompt_lengths=torch.tensor([3])).logits[0] for ids in (x, later)]
        from_zero = [model(input_ids=ids).logits[0] for ids in (x, later)]
    assert torch.equal(aligned[0][:7], aligned[1][:7])  # the prompt and the first answer block
    assert not torch.allclose(from_zero[0][4:7], from_zero[1][4:7])  # position 7 leaks into 4-6


def test_the_sampler_tells_a_block_causal_model_where_each_answer_starts():
    converted = CausalToDiffusion(_causal("llama"), mask_token_id=MASK, block_size=4, shift=True)
    seen = []
    forward = converted.forward
    converted.forward = lambda *a, **kw: seen.append(kw["prompt_lengths"].tolist()) or forward(*a, **kw)
    prompts = [[5, 6, 7], [9, 10, 11, 12, 13]]
    both = generate(converted, prompts, max_new_tokens=8, steps=8, block_size=4, mode="exact").new_tokens
    assert seen[0] == [3, 5]
    # the first block is written the same whether or not a second one follows it
    first = generate(converted, prompts, max_new_tokens=4, steps=4, block_size=4, mode="exact").new_tokens
    assert torch.equal(both[:, :4], first)


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
@pytest.mark.parametrize("shift,model_block,settings", [
    (True, 4, dict(max_new_tokens=12, steps=12, block_size=4)),
    (False, 2, dict(max_new_tokens=8, steps=4, block_size=4)),  # two tokens per step, model blocks inside
    (True, 4, dict(max_new_tokens=8, steps=8, block_size=4, threshold=0.2)),  # rows finish blocks early
])
def test_the_committed_block_cache_writes_the_same_tokens(arch, shift, model_block, settings):
    converted = CausalToDiffusion(_causal(arch), mask_token_id=MASK, block_size=model_block, shift=shift)
    prompts = [[5, 6, 7], [9, 10, 11, 12, 13, 14], [20]]  # different lengths: ragged committed parts
    full = generate(converted, prompts, mode="exact", **settings)
    cached = generate(converted, prompts, mode="exact", cache="blocks", **settings)
    assert torch.equal(full.new_tokens, cached.new_tokens) and full.nfe == cached.nfe


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_the_block_cache_computes_the_prompt_once_and_each_step_only_its_block(arch):
    """A written block is appended to the cache (one forward of the block), not recomputed with the prefix."""
    converted = CausalToDiffusion(_causal(arch), mask_token_id=MASK, block_size=4, shift=True)
    widths = []
    base = converted.causal_lm.base_model
    forward = base.forward
    base.forward = functools.wraps(forward)(lambda *a, **kw: widths.append(kw["input_ids"].shape[1]) or forward(*a, **kw))
    prompts = [[5, 6, 7], [9, 10, 11, 12, 13, 14], [20]]  # ragged: each row's blocks start at its own column
    generate(converted, prompts, max_new_tokens=12, steps=12, block_size=4, mode="exact", cache="blocks")
    # the prompt once; then 12 steps of one block each, and the first two blocks appended when done
    assert widths == [6] + [4] * (12 + 2)


def test_rows_that_finish_leave_the_block_cache_without_a_rebuild():
    converted = CausalToDiffusion(_causal("llama"), mask_token_id=MASK, block_size=4, shift=True)
    prompts, settings = [[30, 31, 32], [40, 41, 42, 43, 44, 45], [50]], dict(max_new_tokens=16, steps=16, block_size=4)
    written = generate(converted, prompts, mode="exact", **settings).new_tokens.tolist()
    # an end token row 0 writes in its first three blocks and the other rows never write: only row 0 ends early
    eos = next(t for t in written[0][:12] if t not in written[1] + written[2])
    full = generate(converted, prompts, mode="exact", eos_token_id=eos, stop_at_eos=True, **settings)
    widths = []
    base = converted.causal_lm.base_model
    forward = base.forward
    base.forward = functools.wraps(forward)(lambda *a, **kw: widths.append(kw["input_ids"].shape[1]) or forward(*a, **kw))
    cached = generate(converted, prompts, mode="exact", cache="blocks", eos_token_id=eos, stop_at_eos=True, **settings)
    assert torch.equal(full.new_tokens, cached.new_tokens)
    assert (full.new_tokens == eos).any(1).tolist() == [True, False, False]
    assert widths[0] == 6 and set(widths[1:]) == {4}  # the prompt once, then blocks only


def test_the_block_cache_refuses_models_it_would_get_wrong():
    from dlm_kit.backbones import load_backbone

    bert, tok = load_backbone("tiny-bert", seed=0)
    with pytest.raises(ValueError, match="cache='blocks'"):
        generate(bert.eval(), [[5, 6]], max_new_tokens=4, steps=4, block_size=4, mask_token_id=tok.mask_token_id, cache="blocks")
    bidirectional = CausalToDiffusion(_causal("llama"), mask_token_id=MASK, block_size=None)
    with pytest.raises(ValueError, match="cache='blocks'"):
        generate(bidirectional, [[5, 6]], max_new_tokens=4, steps=4, block_size=4, cache="blocks")
    coarse = CausalToDiffusion(_causal("llama"), mask_token_id=MASK, block_size=8)
    with pytest.raises(ValueError, match="divides the sampler's block_size=4"):
        generate(coarse, [[5, 6]], max_new_tokens=8, steps=8, block_size=4, cache="blocks")


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
@pytest.mark.parametrize("shift", [True, False])
def test_training_with_clean_context_sees_each_block_as_the_sampler_does(arch, shift):
    """One training pass (noisy and clean copies side by side) gives, for every block, the logits the
    sampler computes for that block once every block before it is committed."""
    model = CausalToDiffusion(_causal(arch), mask_token_id=MASK, block_size=3, shift=shift)
    generator = torch.Generator().manual_seed(0)
    clean = torch.randint(1, MASK, (2, 14), generator=generator)
    noisy = clean.masked_fill(torch.rand(clean.shape, generator=generator) < 0.5, MASK)
    prompts = torch.tensor([4, 2])
    noisy[0, :4], noisy[1, :2] = clean[0, :4], clean[1, :2]  # the prompt is never masked
    with torch.no_grad():
        trained = model(input_ids=noisy, clean_input_ids=clean, prompt_lengths=prompts).logits
        for row, start in enumerate(prompts.tolist()):
            for block_start in range(start, 14, 3):  # the sampler at this block: the ones before committed
                canvas = torch.cat([clean[row, :block_start], noisy[row, block_start:]])[None]
                seen = model(input_ids=canvas, prompt_lengths=prompts[row:row + 1]).logits[0]
                end = min(block_start + 3, 14)
                torch.testing.assert_close(trained[row, block_start:end], seen[block_start:end])


def test_the_trainer_gives_a_block_causal_model_the_clean_sequence_and_the_prompt_lengths():
    from types import SimpleNamespace

    from dlm_kit.masking import MaskingConfig
    from dlm_kit.training import MDLMTrainer

    model = CausalToDiffusion(_causal("llama"), mask_token_id=MASK, block_size=2, shift=True).train()
    seen = []
    forward = model.forward
    model.forward = lambda *a, **kw: seen.append(kw) or forward(*a, **kw)
    ids = torch.tensor([[5, 6, 7, 8, 9, 10], [11, 12, 13, 14, 15, 16]])
    labels = ids.clone()
    labels[0, :3], labels[1, :1] = -100, -100  # the prompts: 3 and 1 tokens
    trainer = SimpleNamespace(masking=MaskingConfig(), mask_token_id=MASK, _eval_generator=None, _position_offset=None,
                              head_on_masked_only=True)
    loss = MDLMTrainer.compute_loss(trainer, model, {"input_ids": ids, "labels": labels})
    assert torch.equal(seen[0]["clean_input_ids"], ids) and seen[0]["prompt_lengths"].tolist() == [3, 1]
    assert loss.requires_grad and torch.isfinite(loss)
