"""The kit's English teacher rows written in the layouts of the seed's two SFT stages.

    python scripts/make_sft_layouts.py      # a few seconds; writes data/teacher_chat/{alpaca,tulu}_layout.json(l)

The seed trains ModernBERT on Alpaca (``instruction`` / ``input`` / ``output`` records), then on
Tulu-3 + SmolTalk (``messages`` records, often several turns). These are the same two layouts,
filled with the kit's own data (``load_teacher_chat()``, the training topics only), for a two-stage
SFT read with the loader the ``full`` profile uses on the hub (meant for notebook 03's rewrite,
issue "The course, second pass"; no notebook reads them yet):

- ``alpaca_layout.json``: single questions as a JSON list of Alpaca records; a rewrite prompt
  ("Rewrite this sentence in simpler words: ...") puts its sentence in ``input``, as Alpaca does;
- ``tulu_layout.jsonl``: one Tulu-3 record a line (``id``, ``messages``, ``source``), other rows
  of the same split, 60 % of them given 1-2 earlier exchanges (:func:`dlm_kit.teacher_data.add_earlier_turns`).

Seeded; rebuilding gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dlm_kit.paths import TEACHER_CHAT_DIR
from dlm_kit.teacher_data import add_earlier_turns, load_teacher_chat


def alpaca_record(row: dict) -> dict:
    """An Alpaca record: a rewrite's sentence goes to ``input``; the other prompts are the whole ``instruction``."""
    question, output = row["messages"][0]["content"], row["messages"][1]["content"]
    instruction, extra = question, ""
    if row["type"] == "rewrite" and ": " in question:
        head, extra = question.split(": ", 1)
        instruction = head + "."
    return {"instruction": instruction, "input": extra, "output": output}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=3000, help="rows per layout (disjoint)")
    parser.add_argument("--out", default=str(TEACHER_CHAT_DIR))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    train = load_teacher_chat()["train"].shuffle(seed=args.seed)
    if 2 * args.rows > len(train):
        raise SystemExit(f"--rows {args.rows}: the training split has {len(train)} rows; ask for at most {len(train) // 2}.")
    alpaca = [alpaca_record(row) for row in train.select(range(args.rows))]
    conversations = add_earlier_turns(train.select(range(args.rows, 2 * args.rows)), fraction=0.6, seed=args.seed)
    out = Path(args.out)
    (out / "alpaca_layout.json").write_text(json.dumps(alpaca, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    with (out / "tulu_layout.jsonl").open("w", encoding="utf-8") as f:
        for i, row in enumerate(conversations):
            record = {"id": f"dlm-kit-teacher-{i}", "messages": row["messages"], "source": "dlm-kit teacher (SmolLM2-135M-Instruct)"}
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    turns = sum(len(r["messages"]) // 2 for r in conversations)
    print(f"wrote {len(alpaca)} Alpaca records and {len(conversations)} Tulu records ({turns} turns) to {out}")


if __name__ == "__main__":
    main()
