"""Have the offline teacher (SmolLM2-135M-Instruct) answer the kit's English prompts.

    OMP_NUM_THREADS=2 python scripts/make_english_chat.py     # ~2,300 answers, ~20 min on 2 CPU cores

Writes ``data/english_chat/teacher_answers.jsonl``: one row per prompt of
:func:`dlm_kit.english_prompts.open_prompts` with its category, split (``test``: 20 per
category, chosen by a seeded shuffle; never trained on) and the teacher's answer. Greedy
decoding (no repeated 4-grams, repetition penalty 1.1), at most 64 new tokens, cut back to the last full sentence when the limit was hit.
Resumable: rerun and it answers only the prompts not yet in the file. ``--device cuda`` and a
larger ``--batch_size`` run it in a minute on a GPU.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from dlm_kit.english_prompts import open_prompts
from dlm_kit.judges import load_smollm2, teacher_answer_batch

TEST_PER_CATEGORY = 20
TEACHER = "SmolLM2-135M-Instruct (Q4_1 GGUF), greedy, no repeated 4-grams"


def split_prompts(seed: int = 0) -> list[dict]:
    """Every prompt with its split; the order is a seeded shuffle, so a partial run is a random subset."""
    rows = open_prompts()
    random.Random(seed).shuffle(rows)
    taken: dict[str, int] = {}
    for row in rows:
        taken[row["category"]] = taken.get(row["category"], 0) + 1
        row["split"] = "test" if taken[row["category"]] <= TEST_PER_CATEGORY else "train"
    return rows


def last_full_sentence(text: str) -> str:
    """Cut a truncated answer back to its last sentence end (or keep it whole if it has none)."""
    text = text.strip()
    ends = [text.rfind(mark) for mark in (".", "!", "?")]
    end = max(ends)
    return text[: end + 1] if end > len(text) // 3 else text


def cut_answer(text: str, truncated: bool) -> str:
    """This set's rule: a truncated answer is cut back to its last full sentence (if one ends past a third)."""
    return last_full_sentence(text) if truncated else text.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default="data/english_chat/teacher_answers.jsonl")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--max_new_tokens", type=int, default=64)
    parser.add_argument("--limit", type=int, default=None, help="answer only the first N prompts (toy runs, tests)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rows = split_prompts(args.seed)[: args.limit]
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if out.exists():
        done = {json.loads(line)["prompt"] for line in out.read_text().splitlines() if line.strip()}
    todo = [row for row in rows if row["prompt"] not in done]
    print(f"{len(done)} answers already in {out}; {len(todo)} to go")
    if not todo:
        return
    model, tokenizer = load_smollm2()
    model.to(args.device)
    start, new_tokens = time.perf_counter(), 0
    with out.open("a") as f, tqdm(total=len(todo), desc="teacher answers", unit="answer") as bar:
        for i in range(0, len(todo), args.batch_size):
            chunk = todo[i : i + args.batch_size]
            answers = teacher_answer_batch((model, tokenizer), [r["prompt"] for r in chunk],
                                           max_new_tokens=args.max_new_tokens, cut=cut_answer)
            for row, (text, truncated) in zip(chunk, answers):
                record = {**row, "answer": text, "truncated": truncated, "teacher": TEACHER}
                f.write(json.dumps(record) + "\n")
                new_tokens += len(tokenizer(text)["input_ids"])
            f.flush()  # each batch is on disk: an interrupted run resumes after it
            bar.update(len(chunk))
    seconds = time.perf_counter() - start
    print(json.dumps({"answers": len(todo), "minutes": round(seconds / 60, 1), "answer_tokens_per_second": round(new_tokens / seconds, 1)}))


if __name__ == "__main__":
    main()
