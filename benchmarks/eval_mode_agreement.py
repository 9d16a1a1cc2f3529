"""Do lm-eval's answers change with the sampler's fast mode? `DiffusionLM(mode="exact")` against
`DiffusionLM(mode="fast")` on the offline generation task `dlm_kit_synthetic_gen`.

Prints the share of identical generations (the text lm-eval scores), each mode's exact match and
their paired difference, all with 95 % intervals (`dlm_kit.stats`), and each run's CPU time.

    python benchmarks/eval_mode_agreement.py                  # tiny-chat, all 100 questions of the task
    python benchmarks/eval_mode_agreement.py --model tiny-chat --limit 50
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dlm_kit.evaluation import DiffusionLM, run_tasks  # noqa: E402
from dlm_kit.quiet import quiet  # noqa: E402
from dlm_kit.stats import format_rate, paired_difference  # noqa: E402

TASK = "dlm_kit_synthetic_gen"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="tiny-chat")
    p.add_argument("--limit", type=int, default=None, help="questions (default: all)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    runs = {}
    for mode in ("exact", "fast"):
        lm = DiffusionLM(pretrained=args.model, batch_size=args.batch_size, mode=mode)
        start = time.process_time()
        with quiet():
            samples = run_tasks(lm, [TASK], limit=args.limit)["samples"][TASK]
        seconds = time.process_time() - start
        samples = sorted(samples, key=lambda s: s["doc_id"])
        runs[mode] = ([s["resps"][0][0] for s in samples], [float(s["exact_match"]) for s in samples], seconds)
    (exact_text, exact_em, exact_s), (fast_text, fast_em, fast_s) = runs["exact"], runs["fast"]
    n = len(exact_text)
    same = sum(a == b for a, b in zip(exact_text, fast_text))
    diff, low, high = paired_difference(fast_em, exact_em)
    print(f"# {args.model} on {TASK}, {n} questions, batch {args.batch_size}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s), CPU time")
    print(f"identical generations (fast vs exact): {format_rate(same, n)}")
    print(f"exact match, exact mode: {format_rate(int(sum(exact_em)), n)}; CPU {exact_s:.1f} s")
    print(f"exact match, fast mode:  {format_rate(int(sum(fast_em)), n)}; CPU {fast_s:.1f} s "
          f"({exact_s / fast_s:.2f}x)")
    print(f"paired difference fast - exact: {100 * diff:+.1f} points [{100 * low:+.1f}, {100 * high:+.1f}]")


if __name__ == "__main__":
    main()
