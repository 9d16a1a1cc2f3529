"""CPU time per answer: SmolLM2 converted to block diffusion against the original's KV-cached decoding.

The same held-out questions, asked in SmolLM2's chat template, one at a time (a chat user's case)
and as one batch. The baseline, measured in the same run: SmolLM2-135M-Instruct's own greedy
``generate`` with its key-value cache. The diffusion model: ``smollm2-diffusion`` (or ``--model``,
any folder :func:`dlm_kit.load_backbone` reads) through ``answer(model, tok, questions)`` with its
own settings, and the same settings with the exact block cache off (``cache="none"``), so the table
also shows what the cache saves.

    OMP_NUM_THREADS=2 python benchmarks/a2d_answer_speed.py                 # ~5 min on 2 CPU cores
    OMP_NUM_THREADS=2 python benchmarks/a2d_answer_speed.py --questions 4 --max-new-tokens 32
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import torch

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]
from dlm_kit import SamplingConfig, answer, load_backbone  # noqa: E402
from dlm_kit.judges import load_smollm2  # noqa: E402
from dlm_kit.stats import format_table  # noqa: E402
from dlm_kit.teacher_data import load_teacher_chat  # noqa: E402


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="smollm2-diffusion")
    p.add_argument("--questions", type=int, default=8, help="held-out teacher questions")
    p.add_argument("--max-new-tokens", type=int, default=None, help="default: the model's own setting")
    return p.parse_args()


def ar_answers(model, tokenizer, questions: list[str], max_new_tokens: int, batch: bool) -> list[str]:
    """SmolLM2's own greedy decoding with its key-value cache (left-padded when batched)."""
    tokenizer.padding_side = "left"
    texts = [tokenizer.apply_chat_template([{"role": "user", "content": q}], add_generation_prompt=True, tokenize=False)
             for q in questions]
    groups = [texts] if batch else [[t] for t in texts]
    replies = []
    for group in groups:
        inputs = tokenizer(group, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id)
        replies += tokenizer.batch_decode(out[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    return replies


def timed(run) -> tuple[float, list[str]]:
    start = time.perf_counter()
    replies = run()
    return time.perf_counter() - start, replies


def main() -> None:
    args = parse_args()
    torch.manual_seed(0)
    questions = [row["messages"][0]["content"] for row in load_teacher_chat()["test"].select(range(args.questions))]
    model, tokenizer = load_backbone(args.model)
    model.eval()
    own = SamplingConfig.for_model(model)[0]
    if args.max_new_tokens:
        own = dataclasses.replace(own, max_new_tokens=args.max_new_tokens, min_new_tokens=min(own.min_new_tokens,
                                                                                              args.max_new_tokens))
    ar, ar_tokenizer = load_smollm2()
    n, rows = len(questions), []
    for batch in (False, True):
        how = f"{'one batch' if batch else 'one at a time'}"
        ask = (lambda config: answer(model, tokenizer, questions, sampling=config, batch_size=n if batch else 1))
        runs = {"SmolLM2 AR, KV cache (baseline)": lambda: ar_answers(ar, ar_tokenizer, questions, own.max_new_tokens, batch),
                f"{args.model}, own settings": lambda: ask(own)}
        if own.cache == "blocks":
            runs[f"{args.model}, no block cache"] = lambda: ask(dataclasses.replace(own, cache="none"))
        for name, run in runs.items():
            seconds, replies = timed(run)
            rows.append({"system": name, "questions": how, "s per answer": seconds / n,
                         "words per answer": sum(len(r.split()) for r in replies) / n})
    base = {r["questions"]: r["s per answer"] for r in rows if "baseline" in r["system"]}
    for row in rows:
        row["× baseline"] = row["s per answer"] / base[row["questions"]]
    print(f"{n} held-out questions, up to {own.max_new_tokens} new tokens, {torch.get_num_threads()} CPU threads; "
          f"{args.model}: {own}")
    print(format_table(rows, formats={"s per answer": ".2f", "words per answer": ".1f", "× baseline": ".1f"}))


if __name__ == "__main__":
    main()
