"""Have the offline teacher (SmolLM2-135M-Instruct) answer the ~23,000 prompts of dlm_kit.teacher_prompts.

    OMP_NUM_THREADS=2 python scripts/make_teacher_data.py        # ~85 min on 2 idle CPU cores

Writes ``data/teacher_chat/answers.jsonl``: one row per prompt (its type, kind, topic and
split, the teacher's raw answer, whether the token limit was hit). Batched greedy decoding with a
KV cache through transformers (measured: 4.4 answers/s, 132 answer tokens/s on 2 cores at batch 64
or 128), no repeated 4-grams, repetition penalty 1.1, at most 48 new tokens, cut back to the last
full sentence and to at most three sentences. The filter (no loops, no empty answer, no refusal,
no duplicate) is applied at load time by :func:`dlm_kit.teacher_data.load_teacher_chat`, so the
raw answers stay inspectable. Resumable: rerun and it answers only the prompts not yet in the
file; the prompt order is a seeded shuffle, so a partial file is a balanced sample.
``--device cuda --batch_size 256`` runs it in a few minutes on a GPU.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from dlm_kit.judges import load_smollm2, teacher_answer_batch
from dlm_kit.teacher_prompts import teacher_prompts

TEACHER = "SmolLM2-135M-Instruct (Q4_1 GGUF), greedy, no repeated 4-grams, repetition penalty 1.1, <= 48 tokens"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default="data/teacher_chat/answers.jsonl")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--max_new_tokens", type=int, default=48)
    parser.add_argument("--limit", type=int, default=None, help="answer only the first N prompts (toy runs, tests)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rows = teacher_prompts(args.seed)[: args.limit]
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if out.exists():
        done = {json.loads(line)["prompt"] for line in out.read_text().splitlines() if line.strip()}
    todo = [row for row in rows if row["prompt"] not in done]
    # within each run of 1,024 prompts, batch questions of one type together: a batch stops when its
    # longest answer ends, and answers of one type have similar lengths (rewrites are short,
    # comparisons long); the file stays a balanced sample at every multiple of 1,024
    todo = [row for i in range(0, len(todo), 1024) for row in sorted(todo[i : i + 1024], key=lambda r: r["type"])]
    print(f"{len(done)} answers already in {out}; {len(todo)} to go", flush=True)
    if not todo:
        return
    model, tokenizer = load_smollm2()
    model.to(args.device)
    tokenizer.padding_side = "left"
    start, new_tokens = time.perf_counter(), 0
    with out.open("a") as f, tqdm(total=len(todo), desc="teacher answers", unit="answer", mininterval=30) as bar:
        for i in range(0, len(todo), args.batch_size):
            chunk = todo[i : i + args.batch_size]
            answers = teacher_answer_batch((model, tokenizer), [r["prompt"] for r in chunk], max_new_tokens=args.max_new_tokens)
            for row, (text, truncated) in zip(chunk, answers):
                f.write(json.dumps({**row, "answer": text, "truncated": truncated, "teacher": TEACHER}) + "\n")
                new_tokens += len(tokenizer(text)["input_ids"])
            f.flush()  # each batch is on disk: an interrupted run resumes after it
            bar.update(len(chunk))
    seconds = time.perf_counter() - start
    print(json.dumps({"answers": len(todo), "minutes": round(seconds / 60, 1), "answers_per_second": round(len(todo) / seconds, 2),
                      "answer_tokens_per_second": round(new_tokens / seconds, 1)}))


if __name__ == "__main__":
    main()
