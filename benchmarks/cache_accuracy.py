"""The approximate prefix / dual cache: speed, agreement with exact tokens and accuracy on tiny-chat.

`generate(cache="prefix" | "dual")` (Fast-dLLM's idea, the kit's own code in
`dlm_kit.heads.LayerwiseEncoder`) runs the whole canvas only on the first step of each block and
then recomputes a window of positions, the others attending with keys and values from that first
step. It is not exact, so this script reports, beside its speed, how often its answers equal the
exact ones and its exact-match accuracy with 95 % intervals (`dlm_kit.stats`), on held-out
questions of `make_synthetic_tasks` (the split `scripts/make_eval_tasks.py` uses).

    python benchmarks/cache_accuracy.py                        # tiny-chat, 100 questions, CPU
    python benchmarks/cache_accuracy.py --block-sizes 64,16 --batch-size 32
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dlm_kit.backbones import load_backbone  # noqa: E402
from dlm_kit.chat import SamplingConfig, answer  # noqa: E402
from dlm_kit.data import exact_match, make_synthetic_tasks  # noqa: E402
from dlm_kit.stats import format_rate, paired_difference  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="tiny-chat")
    p.add_argument("--questions", type=int, default=100, help="held-out questions (the first n of the test split)")
    p.add_argument("--block-sizes", default="64,16", help="comma-separated block sizes (64 = the chat default, one block)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    clock = time.process_time if device.type == "cpu" else time.perf_counter
    model, tok = load_backbone(args.model)
    model = model.to(device).eval()
    test = make_synthetic_tasks(n_train=4000, n_test=200, seed=0)["test"]
    rows = [test[i] for i in range(min(args.questions, len(test)))]
    questions = [row["messages"][:-1] for row in rows]
    print(f"# {args.model}, {len(rows)} held-out questions, batch {args.batch_size}, {device}, torch "
          f"{torch.__version__}, {torch.get_num_threads()} thread(s), {'CPU' if device.type == 'cpu' else 'wall'} time; "
          "64 new tokens, 64 steps, fast mode, stop at [/Answer]\n")
    print("| block | cache | questions/s | speed-up | same answers as no cache | exact match | vs no cache (points) |")
    print("|---|---|---|---|---|---|---|")
    answer(model, tok, questions[:2], sampling=SamplingConfig(max_new_tokens=8))  # warm-up
    for block in [int(b) for b in args.block_sizes.split(",")]:
        results = {}
        for cache in ("none", "prefix", "dual"):
            sampling = SamplingConfig(block_size=block, cache=cache)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = clock()
            replies = answer(model, tok, questions, sampling=sampling, batch_size=args.batch_size)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            results[cache] = (replies, clock() - start)
        base, base_s = results["none"]
        base_hits = [float(exact_match(a, r["answer"])) for a, r in zip(base, rows)]
        for cache, (replies, seconds) in results.items():
            hits = [float(exact_match(a, r["answer"])) for a, r in zip(replies, rows)]
            same = sum(a == b for a, b in zip(replies, base))
            diff, low, high = paired_difference(hits, base_hits)
            print(f"| {block} | {cache} | {len(rows) / seconds:.2f} | {base_s / seconds:.2f}x | {format_rate(same, len(rows))} | "
                  f"{format_rate(int(sum(hits)), len(rows))} | {100 * diff:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}] |",
                  flush=True)


if __name__ == "__main__":
    main()
