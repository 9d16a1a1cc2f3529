"""Sampler speed: the model card's reference `generate` vs `dlm_kit.sampling.generate`.

Two benchmarks, each timed in one process so that every ratio comes from one run:

- default: a random ModernBERT and random prompts of one length (the reference takes no attention
  mask). Rows: the reference, `mode="exact"` (same tokens, tested), `mode="fast"` (the MLM head
  only on the candidates), optionally a confidence threshold; "same tokens" compares with the
  reference.
- `--answer-path`: the committed `models/tiny-chat` on held-out questions of
  `make_synthetic_tasks` (the split `scripts/make_eval_tasks.py` and notebook 04 use), answered
  with the chat defaults (64 new tokens, 64 steps, one block): the reference then
  `trim_answer`, against `dlm_kit.chat.answer` step by step: exact mode; + stop at `[/Answer]`;
  + fast mode (= `answer`'s default). "same answers" compares the trimmed texts.

    python benchmarks/sampler_speed.py                       # tiny ModernBERT, CPU, ~1 minute
    python benchmarks/sampler_speed.py --answer-path         # tiny-chat, CPU, a few minutes
    python benchmarks/sampler_speed.py --device cuda --shape large --dtype bfloat16 \\
        --batch-sizes 1,8,32 --gen-length 256 --steps 256 --block-size 32 --threshold 0.9

Timings on a shared machine are noisy: use `--repeats 3` (best of 3) where time allows.
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
from dlm_kit.backbones import load_backbone  # noqa: E402
from dlm_kit.chat import SamplingConfig, answer, build_prompt, trim_answer  # noqa: E402
from dlm_kit.data import exact_match, make_synthetic_tasks  # noqa: E402
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
    p.add_argument("--batch-sizes", default="1,32", help="comma-separated batch sizes")
    p.add_argument("--answer-path", action="store_true",
                   help="time the chat answer path on models/tiny-chat and held-out questions instead")
    p.add_argument("--questions", type=int, default=32,
                   help="--answer-path: questions answered per batch size (in batches of that size)")
    p.add_argument("--prompt-length", type=int, default=32)
    p.add_argument("--gen-length", type=int, default=64, help="max_new_tokens")
    p.add_argument("--steps", type=int, default=64)
    p.add_argument("--block-size", type=int, default=32)
    p.add_argument("--cfg-scale", type=float, default=0.0)
    p.add_argument("--remasking", default="low_confidence", choices=["low_confidence", "random"])
    p.add_argument("--threshold", type=float, default=None,
                   help="also time dlm_kit with this confidence threshold (a row of its own)")
    p.add_argument("--compile", action="store_true",
                   help="also time fast mode under torch.compile (the warm-up run compiles; 'reduce-overhead' on CUDA)")
    p.add_argument("--repeats", type=int, default=1, help="timed runs per row (the best is shown)")
    p.add_argument("--clock", choices=["wall", "cpu"], default=None,
                   help="wall: elapsed time; cpu: this process's CPU time, robust on a shared machine where "
                        "other jobs take the cores (default: cpu on the CPU, wall on CUDA)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (0: torch's default). 1 by default: the tiny model gains "
                        "nothing from more, and 2 threads on 2 cores shared with another job ran 40x slower")
    return p.parse_args()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


CLOCK = time.perf_counter  # set from --clock in main()


def timed(fn, device: torch.device, repeats: int, warm_up: bool = True):
    """(result, best seconds, peak MiB or None): one warm-up run, then `repeats` timed runs."""
    if warm_up:
        fn()  # warm-up: kernels, allocator, caches
    best = float("inf")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(max(repeats, 1)):
        sync(device)
        start = CLOCK()
        result = fn()
        sync(device)
        best = min(best, CLOCK() - start)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return result, best, peak


def answer_path(args: argparse.Namespace, device: torch.device, dtype: torch.dtype) -> None:
    """The chat answer path on tiny-chat: reference vs `answer` (see the module docstring)."""
    model, tok = load_backbone("tiny-chat")
    model = model.to(device=device, dtype=dtype).eval()
    test = make_synthetic_tasks(n_train=4000, n_test=200, seed=0)["test"]  # held out of training
    by_length: dict[int, list[dict]] = {}
    for row in test:  # the reference takes no attention mask: batch prompts of one length
        by_length.setdefault(len(build_prompt(tok, row["messages"][:-1])), []).append(row)
    length, rows = max(by_length.items(), key=lambda item: len(item[1]))
    rows = rows[: args.questions]
    questions = [row["messages"][:-1] for row in rows]
    prompts = torch.tensor([build_prompt(tok, q) for q in questions], device=device)
    n = SamplingConfig().max_new_tokens
    print(f"# tiny-chat ({sum(p.numel() for p in model.parameters()) / 1e6:.1f}M params), {args.dtype} on {device}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    print(f"# {len(rows)} held-out questions of {length} prompt tokens "
          f"({', '.join(sorted({r['family'] for r in rows}))}); {n} new tokens, {n} steps, one block\n")
    print("| batch | impl | questions/s | speed-up | same answers | exact match |\n|---|---|---|---|---|---|")
    settings = {
        "dlm_kit exact": SamplingConfig(mode="exact", stop_at_eos=False),
        "+ stop at [/Answer]": SamplingConfig(mode="exact"),
        "+ fast (answer default)": SamplingConfig(),
    }
    if args.compile:  # the warm-up compiles for each batch shape
        settings["+ compile"] = SamplingConfig(compile="reduce-overhead" if device.type == "cuda" else True)
    answer(model, tok, questions[:2], sampling=SamplingConfig(max_new_tokens=8))  # warm-up, once
    for batch in [int(b) for b in args.batch_sizes.split(",")]:
        def run_reference():
            replies = []
            for first in range(0, len(rows), batch):
                out = reference_generate(model, prompts[first : first + batch], mask_id=tok.mask_token_id,
                                         steps=n, gen_length=n, block_length=n, remasking="low_confidence")
                replies += [trim_answer(r.tolist(), tok) for r in out[:, length:]]
            return replies

        ref, ref_s, _ = timed(run_reference, device, args.repeats, warm_up=False)
        results = [("reference", ref, ref_s)]
        for name, sampling in settings.items():
            replies, seconds, _ = timed(lambda: answer(model, tok, questions, sampling=sampling, batch_size=batch),
                                        device, args.repeats, warm_up=bool(sampling.compile))
            results.append((name, replies, seconds))
        for name, replies, seconds in results:
            same = sum(a == b for a, b in zip(replies, ref)) / len(ref)
            hits = sum(exact_match(a, r["answer"]) for a, r in zip(replies, rows)) / len(rows)
            print(f"| {batch} | {name} | {len(rows) / seconds:.2f} | {ref_s / seconds:.2f}x | {same:.1%} | "
                  f"{hits:.1%} |", flush=True)


def main() -> None:
    args = parse_args()
    device, dtype = torch.device(args.device), getattr(torch, args.dtype)
    if args.threads:
        torch.set_num_threads(args.threads)
    global CLOCK
    clock = args.clock or ("cpu" if device.type == "cpu" else "wall")
    CLOCK = time.process_time if clock == "cpu" else time.perf_counter
    print(f"# clock: {clock} time ({'CPU seconds of this process' if clock == 'cpu' else 'elapsed seconds'})")
    if args.answer_path:
        return answer_path(args, device, dtype)
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
    compile_mode = "reduce-overhead" if device.type == "cuda" else True  # CUDA graphs on a GPU
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

        def run_kit(threshold=None, mode="exact", compile=False):
            def run():
                gen = torch.Generator(device=device).manual_seed(args.seed)
                return generate(model, prompts, max_new_tokens=args.gen_length, block_size=args.block_size,
                                mask_token_id=MASK, threshold=threshold, generator=gen, mode=mode,
                                compile=compile, **common)
            return run

        ref, ref_s, ref_mib = timed(run_reference, device, args.repeats)
        ref_nfe = args.steps * (2 if args.cfg_scale > 0 else 1)
        rows = [("reference", ref[:, args.prompt_length:], ref_nfe, args.steps, ref_s, ref_mib)]
        impls = [("dlm_kit exact", None, "exact", False), ("dlm_kit fast", None, "fast", False)]
        if args.compile:
            impls.append((f"dlm_kit fast compile={compile_mode}", None, "fast", compile_mode))
        if args.threshold is not None:
            impls.append((f"dlm_kit fast threshold={args.threshold}", args.threshold, "fast", False))
        for name, threshold, mode, compile in impls:
            out, seconds, mib = timed(run_kit(threshold, mode, compile), device, args.repeats)
            rows.append((name, out.new_tokens, out.nfe, out.steps_taken, seconds, mib))
        for name, tokens, nfe, steps_taken, seconds, mib in rows:
            same = (tokens == rows[0][1]).double().mean().item()
            line = (f"| {batch} | {name} | {nfe} | {batch * args.gen_length / seconds:,.0f} | "
                    f"{1e3 * seconds / steps_taken:.2f} | {ref_s / seconds:.2f}x | {same:.1%} |")
            print(line + (f" {mib:,.0f} |" if mib is not None else ""), flush=True)

if __name__ == "__main__":
    main()
