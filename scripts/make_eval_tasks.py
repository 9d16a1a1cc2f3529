"""Write the offline lm-eval tasks in data/tasks/dlm_kit_synthetic/ from the synthetic tasks.

    python scripts/make_eval_tasks.py

The questions are the held-out test split that `scripts/train_tiny_chat.py` keeps out of
training (`make_synthetic_tasks(n_train=4000, n_test=200, seed=0)["test"]`), the first
`--per_family` of each family:

- `gen.jsonl` (task `dlm_kit_synthetic_gen`): question, answer; scored by exact match of a
  generated answer.
- `mc.jsonl` (task `dlm_kit_synthetic_mc`): the same kind of question with four choices, the
  answer and three near misses (the letters in another order; a neighbouring sum; another digit
  of the list), scored by log-likelihood. The choices are shuffled with a seeded generator, so
  the file is the same on every machine (tests/test_evaluation.py checks it).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from dlm_kit.data import make_synthetic_tasks

OUT = Path(__file__).resolve().parents[1] / "data" / "tasks" / "dlm_kit_synthetic"


def near_misses(family: str, question: str, answer: str, rng: random.Random) -> list[str]:
    """Three wrong answers that a model which half-learned the task would plausibly give."""
    if family == "add":
        total = int(answer)
        return [str(total + d) for d in rng.sample([-10, -2, -1, 1, 2, 10], 3)]
    if family == "maximum":
        digits = question.removeprefix("What is the largest digit in ").removesuffix("?").split()
        others = sorted(set(digits) - {answer})
        smaller = [str(d) for d in range(int(answer)) if str(d) not in others]
        return (others + smaller)[:3] if len(others) >= 3 else others + rng.sample(smaller, 3 - len(others))
    letters = question.split(": ", 1)[1].split()
    wrong: list[str] = []
    for candidate in (" ".join(letters), " ".join(reversed(letters)), " ".join(sorted(letters))):
        if candidate != answer and candidate not in wrong:
            wrong.append(candidate)
    while len(wrong) < 3:
        shuffled = " ".join(rng.sample(letters, len(letters)))
        if shuffled != answer and shuffled not in wrong:
            wrong.append(shuffled)
    return wrong[:3]


def build(per_family: int = 20, seed: int = 0) -> tuple[list[dict], list[dict]]:
    test = make_synthetic_tasks(n_train=4000, n_test=200, seed=seed)["test"]
    rng = random.Random(seed)
    gen, mc, seen = [], [], {}
    for row in test:
        family = row["family"]
        if seen.get(family, 0) >= per_family:
            continue
        seen[family] = seen.get(family, 0) + 1
        question = row["messages"][0]["content"]
        gen.append({"family": family, "question": question, "answer": row["answer"]})
        choices = [row["answer"], *near_misses(family, question, row["answer"], rng)]
        rng.shuffle(choices)
        mc.append({"family": family, "question": question, "choices": choices, "label": choices.index(row["answer"])})
    order = list(range(len(gen)))
    rng.shuffle(order)  # families interleaved, so lm-eval's --limit N still sees every family
    return [gen[i] for i in order], [mc[i] for i in order]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per_family", type=int, default=20)
    args = parser.parse_args()
    gen, mc = build(args.per_family)
    for name, rows in (("gen.jsonl", gen), ("mc.jsonl", mc)):
        (OUT / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
        print(f"wrote {len(rows)} rows to {OUT / name}")


if __name__ == "__main__":
    main()
