"""Measure the seed's claims on the kit's held-out English instructions; write models/bert-chat/eval.json.

    OMP_NUM_THREADS=2 python scripts/eval_bert_chat.py          # ~10 min on 2 CPU cores

Systems (all MiniLM-L6, same tokenizer and sampler settings):

- ``before SFT``: ``minilm-mlm``, the pretrained encoder with its new MLM head, no instruction data;
- ``bert-chat-mlm``: SFT with MLM at 15 % (the seed's control);
- ``bert-chat``: SFT with MDLM (every mask ratio);
- ``bert-chat-pretrained`` (if present): MDLM on Wikipedia first, then the same SFT.

Measured per held-out question: exact match on the checkable Wikipedia families; on open questions
the judge score (SmolLM2-135M-Instruct's mean log-probability per answer token given the question,
answers lower-cased), beside length and repetition; the teacher's own answers are the ceiling and
the same answers with their words shuffled the floor. Also the held-out loss against mask ratio.
Per-question results are saved, so notebooks recompute intervals and paired differences.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from dlm_kit.backbones import MODELS_DIR, load_backbone
from dlm_kit.chat import SamplingConfig, answer
from dlm_kit.data import SFTCollator, tokenize_chat_dataset
from dlm_kit.english import english_exact_match, load_english_chat
from dlm_kit.judges import answer_logprob, load_smollm2, shuffle_words
from dlm_kit.masking import loss_at_mask_ratios

SYSTEMS = {
    "before SFT": "minilm-mlm",
    "bert-chat-mlm": "bert-chat-mlm",
    "bert-chat": "bert-chat",
    # "do we need generative pretraining?": both at step 400 of the same 800-step SFT schedule
    "bert-chat, SFT step 400": "runs/bert-chat/bert-chat-step400",
    "pretrained on Wikipedia first, SFT step 400": "runs/bert-chat/bert-chat-pretrained-step400",
}
RATIOS = (0.15, 0.3, 0.5, 0.7, 0.9, 1.0)
# two tokens per step (half the card's steps: a CPU budget) in blocks of 8 filled left to right
# (semi-autoregressive, as LLaDA: a single block lets a weak model commit padding first and
# leave the answer empty); the same for every system, and notebook 01 uses the same
CHECKABLE_SAMPLING = SamplingConfig(max_new_tokens=32, steps=16, block_size=8)
OPEN_SAMPLING = SamplingConfig(max_new_tokens=64, steps=32, block_size=8)


def judge_open(questions: list[str], answers: list[str | None], open_: list[int], judge) -> list[float | None]:
    """The judge score of ``answers[i]`` given ``questions[i]`` at each open question i; None elsewhere."""
    scores = answer_logprob([questions[i] for i in open_], [answers[i] or "" for i in open_], judge=judge)
    per_question: list[float | None] = [None] * len(questions)
    for i, score in zip(open_, scores):
        per_question[i] = score
    return per_question


def add_relevance(record: dict, judge) -> None:
    """Per open answer, the judge score given *another* open question (a fixed cyclic shift).

    The judge score alone rewards predictable text: a canvas of repeated symbols is easy to
    predict whatever was asked. Its drop when the question is swapped (``judge`` minus
    ``judge_other_question``) measures how much the answer is about *its* question: near 0 for
    text that ignores the question, positive for an answer the question explains.
    """
    questions = record["questions"]
    open_ = [i for i, q in enumerate(questions) if q["family"] == "open"]
    other = [q["question"] for q in questions]
    for k, i in enumerate(open_):
        other[i] = questions[open_[(k + 1) % len(open_)]]["question"]
    for result in record["systems"].values():
        if "judge_other_question" not in result:
            result["judge_other_question"] = judge_open(other, result["answers"], open_, judge)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models_dir", default=str(MODELS_DIR))
    parser.add_argument("--output", default=None, help="default: <models_dir>/bert-chat/eval.json")
    parser.add_argument("--limit", type=int, default=None, help="questions per family, and 16 held-out rows for the loss (toy runs)")
    parser.add_argument("--relevance_only", action="store_true", help="only add the judge score given another question to --output")
    parser.add_argument("--systems", nargs="*", default=None, help="evaluate only these (names of SYSTEMS); others already in --output are kept")
    args = parser.parse_args()
    torch.manual_seed(0)

    test = load_english_chat()["test"]
    rows = [dict(r) for r in test]
    if args.limit:
        kept, seen = [], {}
        for r in rows:
            seen[r["family"]] = seen.get(r["family"], 0) + 1
            if seen[r["family"]] <= args.limit:
                kept.append(r)
        rows = kept
    questions = [r["messages"][0]["content"] for r in rows]
    checkable = [i for i, r in enumerate(rows) if r["checkable"]]
    open_ = [i for i, r in enumerate(rows) if not r["checkable"]]
    judge = load_smollm2()
    output = Path(args.output or Path(args.models_dir) / "bert-chat" / "eval.json")
    if args.relevance_only:
        record = json.loads(output.read_text())
        add_relevance(record, judge)
        output.write_text(json.dumps(record, indent=0) + "\n")
        print(f"wrote {output}")
        return
    record: dict = {
        "questions": [{"family": r["family"], "category": r["category"], "question": q, "answer": r["answer"]} for r, q in zip(rows, questions)],
        "sampling": {"checkable": CHECKABLE_SAMPLING.generate_kwargs(), "open": OPEN_SAMPLING.generate_kwargs()},
        "systems": {},
        "loss_by_mask_ratio": {},
    }
    if args.systems is not None and output.exists():  # add to an earlier run on the same questions
        earlier = json.loads(output.read_text())
        if earlier["questions"] != record["questions"]:
            raise SystemExit(f"{output} holds other questions; rerun without --systems to start over.")
        record = earlier
    teacher = [rows[i]["answer"] if i in set(open_) else None for i in range(len(rows))]
    for name, answers in (("teacher (ceiling)", teacher), ("teacher, words shuffled (floor)", [a and shuffle_words(a) for a in teacher])):
        if name in record["systems"]:
            continue
        record["systems"][name] = {"answers": answers, "exact": [None] * len(rows),
                                   "judge": judge_open(questions, answers, open_, judge)}

    for name, model_name in SYSTEMS.items():
        if args.systems is not None and name not in args.systems:
            continue
        folder = Path(model_name) if "/" in model_name else Path(args.models_dir) / model_name
        if not folder.exists():
            print(f"skip {name}: {folder} missing")
            continue
        model, tokenizer = load_backbone(str(folder))
        model.eval()
        start = time.perf_counter()
        replies = [""] * len(rows)
        for indices, sampling in ((checkable, CHECKABLE_SAMPLING), (open_, OPEN_SAMPLING)):
            for i, reply in zip(indices, answer(model, tokenizer, [questions[i] for i in indices], sampling=sampling, batch_size=100)):
                replies[i] = reply
        seconds = time.perf_counter() - start
        exact = [english_exact_match(replies[i], rows[i]["answer"]) if rows[i]["checkable"] else None for i in range(len(rows))]
        record["systems"][name] = {
            "model": str(model_name), "answers": replies, "exact": exact,
            "judge": judge_open(questions, replies, open_, judge),
            "judge_words_shuffled": judge_open(questions, [shuffle_words(r) for r in replies], open_, judge),
            "generation_seconds": round(seconds, 1),
        }
        every = 2 if args.limit is None else max(2, len(test) // 16)  # a toy run (--limit) scores 16 rows
        held_out = tokenize_chat_dataset(test.select(range(0, len(test), every)), tokenizer)  # every family
        losses = loss_at_mask_ratios(model, held_out, ratios=RATIOS, mask_token_id=tokenizer.mask_token_id,
                                     collate_fn=SFTCollator(tokenizer, pad_policy="single_eos"), batch_size=32)
        record["loss_by_mask_ratio"][name] = {str(r): round(v, 4) for r, v in losses.items()}
        hits = sum(e for e in exact if e is not None)
        print(f"{name}: exact {hits}/{len(checkable)}, generation {seconds:.0f} s, loss@1.0 {losses[1.0]:.2f}", flush=True)

    add_relevance(record, judge)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(record, indent=0) + "\n")
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
