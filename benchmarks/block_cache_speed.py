"""The exact cache of committed blocks (``cache="blocks"``) against full forward passes, on a block-causal model.

A causal LM converted by :mod:`dlm_kit.a2d` with block-causal attention: nothing before a block
attends to it, so the prompt's and the committed blocks' keys and values are computed once per
block and each step runs only the block being written. This script times both ways in one run
(the baseline measured beside it), on the same prompts, and checks the tokens are the same.

The model is a random Llama in SmolLM2-135M's shape (``--shape smollm2``: 30 layers, hidden 576,
9 heads, 3 key-value heads, vocabulary 49,152) or a small one (``--shape small``, the default on
a CPU); random weights cost the same time as trained ones.

    python benchmarks/block_cache_speed.py                      # small, CPU, under a minute
    python benchmarks/block_cache_speed.py --shape smollm2      # SmolLM2-135M's shape, a few minutes on a CPU
    python benchmarks/block_cache_speed.py --shape smollm2 --device cuda --batch-size 32 --gen-length 256
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]
from dlm_kit.a2d import CausalToDiffusion  # noqa: E402
from dlm_kit.sampling import generate  # noqa: E402
from dlm_kit.stats import format_table  # noqa: E402

SHAPES = {
    "small": dict(vocab_size=4096, hidden_size=128, intermediate_size=384, num_hidden_layers=6,
                  num_attention_heads=4, num_key_value_heads=2),
    "smollm2": dict(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                    num_attention_heads=9, num_key_value_heads=3),
}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", default="small", choices=sorted(SHAPES))
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--prompt-length", type=int, default=48, help="the longest prompt; the others are shorter")
    p.add_argument("--gen-length", type=int, default=64)
    p.add_argument("--block-sizes", default="4,8,16", help="comma-separated; the model's and the sampler's")
    p.add_argument("--repeats", type=int, default=2, help="best of this many runs")
    return p.parse_args()


def timed(run, repeats: int) -> tuple[float, torch.Tensor]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = run()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    args = parse_args()
    torch.manual_seed(0)
    config = LlamaConfig(**SHAPES[args.shape], max_position_embeddings=2048, pad_token_id=0,
                         bos_token_id=None, eos_token_id=None)
    causal = LlamaForCausalLM(config).to(args.device).eval()
    mask = config.vocab_size - 1
    lengths = [max(1, args.prompt_length - 7 * i) for i in range(args.batch_size)]
    prompts = [torch.randint(1, mask, (n,)).tolist() for n in lengths]
    rows = []
    for block in map(int, args.block_sizes.split(",")):
        model = CausalToDiffusion(causal, mask_token_id=mask, block_size=block, shift=True)
        settings = dict(max_new_tokens=args.gen_length, steps=args.gen_length, block_size=block, mode="exact")
        full_s, full = timed(lambda: generate(model, prompts, **settings), args.repeats)
        cached_s, cached = timed(lambda: generate(model, prompts, cache="blocks", **settings), args.repeats)
        rows.append({"block size": block, "full forward (s)": full_s, "cache='blocks' (s)": cached_s,
                     "speed-up": full_s / cached_s, "same tokens": bool(torch.equal(full.new_tokens, cached.new_tokens))})
    print(f"{args.shape} Llama, {causal.num_parameters() / 1e6:.0f} M parameters, {args.device}, "
          f"{torch.get_num_threads()} threads; {args.batch_size} prompts of {min(lengths)}-{max(lengths)} tokens, "
          f"{args.gen_length} new tokens, one per step; best of {args.repeats}")
    print(format_table(rows, formats={"full forward (s)": ".2f", "cache='blocks' (s)": ".2f", "speed-up": ".1f"}))


if __name__ == "__main__":
    main()
