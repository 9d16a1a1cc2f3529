"""Sampler speed: the model card's reference `generate` vs `dlm_kit.sampling.generate`.

Both run in one process on the same random model and the same prompts (equal lengths, since the
reference takes no attention mask); the script checks they return the same tokens and prints a
table with tokens/s, ms per denoising step and the speed-up over the reference.

    python benchmarks/sampler_speed.py                       # tiny ModernBERT, CPU, < 1 minute
    python benchmarks/sampler_speed.py --device cuda --shape large --dtype bfloat16 \\
        --batch-sizes 1,8,32 --gen-length 256 --steps 256 --block-size 32 --threshold 0.9
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from transformers import ModernBertConfig, ModernBertForMaskedLM

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]
from dlm_kit.sampling import generate  # noqa: E402
from reference_sampler import reference_generate  # noqa: E402

PAD, BOS, EOS, MASK = 0, 1, 2, 3  # special ids of the random models (any ids below vocab_size)
SHAPES = {  # random ModernBERT configs; base and large follow answerdotai/ModernBERT-{base,large}
    "tiny": dict(vocab_size=4096, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                 intermediate_size=128, local_attention=64, global_attn_every_n_layers=2),
    "base": dict(vocab_size=50368, hidden_size=768, num_hidden_layers=22, num_attention_heads=12,
                 intermediate_size=1152, local_attention=128, global_attn_every_n_layers=3),
    "large": dict(vocab_size=50368, hidden_size=1024, num_hidden_layers=28, num_attention_heads=16,
                  intermediate_size=2624, local_attention=128, global_attn_every_n_layers=3),
}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    p.add_argument("--shape", default="tiny", choices=sorted(SHAPES), help="model size (base/large: GPU)")
    p.add_argument("--batch-sizes", default="1,8", help="comma-separated batch sizes")
    p.add_argument("--prompt-length", type=int, default=32)
    p.add_argument("--gen-length", type=int, default=64, help="max_new_tokens")
    p.add_argument("--steps", type=int, default=64)
    p.add_argument("--block-size", type=int, default=32)
    p.add_argument("--cfg-scale", type=float, default=0.0)
    p.add_argument("--remasking", default="low_confidence", choices=["low_confidence", "random"])
    p.add_argument("--threshold", type=float, default=None,
                   help="also time dlm_kit with this confidence threshold (a row of its own)")
    p.add_argument("--repeats", type=int, default=1, help="timed runs per row (the best is shown)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (0: torch's default). 1 by default: the tiny model gains "
                        "nothing from more, and 2 threads on 2 cores shared with another job ran 40x slower")
    return p.parse_args()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device: torch.device, repeats: int):
    """(result, best seconds, peak MiB or None): one warm-up run, then `repeats` timed runs."""
    result = fn()  # warm-up: kernels, allocator, caches
    best = float("inf")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        result = fn()
        sync(device)
        best = min(best, time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return result, best, peak


def main() -> None:
    args = parse_args()
    device, dtype = torch.device(args.device), getattr(torch, args.dtype)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    config = ModernBertConfig(
        **SHAPES[args.shape], max_position_embeddings=8192, pad_token_id=PAD, bos_token_id=BOS,
        cls_token_id=BOS, eos_token_id=EOS, sep_token_id=EOS, attn_implementation="sdpa",
    )
    model = ModernBertForMaskedLM(config).to(device=device, dtype=dtype).eval()
    params = sum(p.numel() for p in model.parameters()) / 1e6
    print(f"# {args.shape} ModernBERT ({params:.1f}M params, vocab {config.vocab_size}), {args.dtype} "
          f"on {device}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    print(f"# prompt {args.prompt_length}, gen {args.gen_length}, steps {args.steps}, "
          f"block {args.block_size}, cfg {args.cfg_scale}, remasking {args.remasking}\n")

    common = dict(steps=args.steps, cfg_scale=args.cfg_scale, remasking=args.remasking)
    header = "| batch | impl | NFE | tokens/s | ms/step | speed-up | same tokens |" + (
        " peak MiB |" if device.type == "cuda" else "")
    print(header + "\n|" + "---|" * (header.count("|") - 1))
    for batch in [int(b) for b in args.batch_sizes.split(",")]:
        prompts = torch.randint(4, config.vocab_size, (batch, args.prompt_length),
                                generator=torch.Generator().manual_seed(args.seed + batch)).to(device)

        def run_reference():
            torch.manual_seed(args.seed)  # the reference draws from the global RNG
            return reference_generate(model, prompts, mask_id=MASK, gen_length=args.gen_length,
                                      block_length=args.block_size, **common)

        def run_kit(threshold=None):
            def run():
                gen = torch.Generator(device=device).manual_seed(args.seed)
                return generate(model, prompts, max_new_tokens=args.gen_length, block_size=args.block_size,
                                mask_token_id=MASK, threshold=threshold, generator=gen, **common)
            return run

        ref, ref_s, ref_mib = timed(run_reference, device, args.repeats)
        ref_nfe = args.steps * (2 if args.cfg_scale > 0 else 1)
        rows = [("reference", ref[:, args.prompt_length:], ref_nfe, args.steps, ref_s, ref_mib)]
        impls = [("dlm_kit", None)]
        if args.threshold is not None:
            impls.append((f"dlm_kit threshold={args.threshold}", args.threshold))
        for name, threshold in impls:
            out, seconds, mib = timed(run_kit(threshold), device, args.repeats)
            rows.append((name, out.new_tokens, out.nfe, out.steps_taken, seconds, mib))
        for name, tokens, nfe, steps_taken, seconds, mib in rows:
            same = (tokens == rows[0][1]).double().mean().item()
            line = (f"| {batch} | {name} | {nfe} | {batch * args.gen_length / seconds:,.0f} | "
                    f"{1e3 * seconds / steps_taken:.2f} | {ref_s / seconds:.2f}x | {same:.1%} |")
            print(line + (f" {mib:,.0f} |" if mib is not None else ""), flush=True)

if __name__ == "__main__":
    main()
