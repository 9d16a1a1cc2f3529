"""Likelihood speed: the full forward's logits (plain) vs the MLM head only on scored positions (fast).

Both paths run in one process on the same requests with the same seeded masks, alternating
(plain, fast, plain, fast, ...) so a busy machine slows both alike; the table shows the best time
of each, the speed-up and the largest difference between their log-likelihoods.

- ``tiny-chat``: the offline multiple-choice task (``data/tasks/dlm_kit_synthetic/mc.jsonl``) as
  lm-eval sends it with ``apply_chat_template=True``: the templated question, then " " + each
  of the four choices; ``mc_loglikelihood`` (32 samples) and the greedy check ``is_greedy``.
- ``minilm``: MiniLM-L12's shape (384 hidden, 30,522-word vocabulary, so the head is a large
  share of the forward) on windows of the repository's README: 96 tokens of context, 32 scored.

    python benchmarks/likelihood_speed.py                    # CPU, about a minute
    python benchmarks/likelihood_speed.py --device cuda --questions 200 --batch-size 128
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]
from dlm_kit.backbones import load_backbone  # noqa: E402
from dlm_kit.likelihood import encode_pair, is_greedy, mc_loglikelihood  # noqa: E402


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--questions", type=int, default=25, help="multiple-choice questions (4 requests each)")
    p.add_argument("--windows", type=int, default=4, help="README windows scored by minilm")
    p.add_argument("--mc-num", type=int, default=32, help="Monte Carlo samples per request")
    p.add_argument("--batch-size", type=int, default=32, help="rows per forward pass")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per path (the best is shown)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    return p.parse_args()


def mc_requests(tokenizer, questions: int) -> tuple[list[list[int]], list[list[int]]]:
    rows = [json.loads(line) for line in (REPO / "data/tasks/dlm_kit_synthetic/mc.jsonl").read_text().splitlines()]
    contexts, continuations = [], []
    for row in rows[:questions]:
        prompt = tokenizer.apply_chat_template([{"role": "user", "content": row["question"]}],
                                               add_generation_prompt=True, tokenize=False)
        for choice in row["choices"]:
            context, continuation = encode_pair(tokenizer, prompt, " " + choice)
            contexts.append(context)
            continuations.append(continuation)
    return contexts, continuations


def text_requests(tokenizer, windows: int, context: int = 96, scored: int = 32) -> tuple[list[list[int]], list[list[int]]]:
    ids = tokenizer((REPO / "README.md").read_text(), add_special_tokens=False)["input_ids"]
    step = context + scored
    pairs = [(ids[s : s + context], ids[s + context : s + step]) for s in range(0, len(ids) - step, step)][:windows]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def compare(label: str, run, device: torch.device, repeats: int) -> dict:
    """Best seconds of run(fast=False) and run(fast=True), alternating, and their largest difference."""
    results, best = {}, {False: float("inf"), True: float("inf")}
    for fast in (False, True):  # warm-up: kernels, allocator, caches
        results[fast] = run(fast)
    for _ in range(repeats):
        for fast in (False, True):
            sync(device)
            start = time.perf_counter()
            results[fast] = run(fast)
            sync(device)
            best[fast] = min(best[fast], time.perf_counter() - start)
    plain, fast = results[False], results[True]
    if isinstance(plain[0], bool):
        difference = f"{sum(a != b for a, b in zip(plain, fast))} of {len(plain)} differ"
    else:
        difference = f"{max(abs(a - b) for a, b in zip(plain, fast)):.1e} nats"
    return dict(label=label, plain_ms=1e3 * best[False], fast_ms=1e3 * best[True],
                speedup=best[False] / best[True], difference=difference)


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    rows = []
    for name, requests, greedy in (("tiny-chat", mc_requests, True), ("minilm", text_requests, False)):
        model, tokenizer = load_backbone(name)
        model = model.to(device).eval()
        contexts, continuations = requests(tokenizer, args.questions if name == "tiny-chat" else args.windows)
        tokens = sum(map(len, continuations))
        common = dict(mask_token_id=tokenizer.mask_token_id, pad_token_id=tokenizer.pad_token_id, batch_size=args.batch_size)

        def likelihood(fast: bool) -> list[float]:
            return mc_loglikelihood(model, contexts, continuations, num_samples=args.mc_num, head_on_masked_only=fast,
                                    generator=torch.Generator().manual_seed(0), **common)

        label = f"{name} mc_loglikelihood ({len(contexts)} requests, {tokens} tokens, mc_num={args.mc_num})"
        rows.append(compare(label, likelihood, device, args.repeats))
        if greedy:
            rows.append(compare(f"{name} is_greedy ({len(contexts)} requests)",
                                lambda fast: is_greedy(model, contexts, continuations, head_on_masked_only=fast, **common), device, args.repeats))

    print(f"device={device}, threads={torch.get_num_threads()}, torch {torch.__version__}, best of {args.repeats}\n")
    width = max(len(r["label"]) for r in rows)
    print(f"{'workload':<{width}}  {'plain ms':>9}  {'fast ms':>8}  {'speed-up':>8}  plain vs fast")
    for r in rows:
        print(f"{r['label']:<{width}}  {r['plain_ms']:9.0f}  {r['fast_ms']:8.0f}  {r['speedup']:7.2f}x  {r['difference']}")


if __name__ == "__main__":
    main()
