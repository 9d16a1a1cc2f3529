"""Does the backbone know the simple facts at all? A cloze probe of each model's MLM head.

bert-chat answers few of the held-out simple facts (``scripts/eval_chat_bars.py``). Before
blaming the chat training, ask the encoder directly: each fact as a statement with its answer
masked ("the capital of norway is [MASK]."), plain text without the chat template, one forward
pass; a fact counts as known when the answer's first word piece is the top prediction (and, more
loosely, among the top 5). A backbone that does not know a fact as a cloze is unlikely to state
it in a chat answer; one that knows it but does not answer has a chat-training problem.

    python scripts/probe_fact_knowledge.py minilm-mlm checkpoints/bert-chat checkpoints/bert-chat-mlm
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import torch

from dlm_kit.backbones import MODELS_DIR, load_backbone
from dlm_kit.stats import wilson_interval
from dlm_kit.teacher_data import simple_facts

# question pattern -> statement with the answer masked (applied in order, first match wins)
CLOZE_RULES = [
    (r"what is the capital of (.+)\?", r"the capital of \1 is [MASK]."),
    (r"how many legs does (an? .+) have\?", r"\1 has [MASK] legs."),
    (r"how many (.+) are in an? (.+)\?", r"there are [MASK] \1 in a \2."),
    (r"what colou?r is (.+)\?", r"\1 is [MASK]."),
    (r"what do (.+) (make|drink|eat)\?", r"\1 \2 [MASK]."),
    (r"what animal (says .+|barks)\?", r"the [MASK] \1."),
    (r"which planet do we live on\?", r"we live on the planet [MASK]."),
    (r"what is (.+) called\?", r"\1 is called [MASK]."),
    (r"what is the opposite of (.+)\?", r"the opposite of \1 is [MASK]."),
    (r"which animal is the largest on earth\?", r"the largest animal on earth is the [MASK]."),
    (r"what gas do plants take in from the air\?", r"plants take in [MASK] from the air."),
]


def cloze(question: str) -> str | None:
    """The fact as a statement with ``[MASK]`` where the answer goes, or None if no rule fits."""
    text = question.lower()
    for pattern, statement in CLOZE_RULES:
        if re.fullmatch(pattern, text):
            return re.sub(pattern, statement, text)
    return None


@torch.no_grad()
def probe(name: str, facts: list[dict]) -> dict:
    folder = name if Path(name).exists() else str(MODELS_DIR / name)
    model, tok = load_backbone(folder)
    model.eval()
    rows = []
    for fact in facts:
        statement = cloze(fact["question"])
        if statement is None:
            continue
        ids = tok(statement.replace("[MASK]", tok.mask_token))["input_ids"]
        at = ids.index(tok.mask_token_id)
        logits = model(input_ids=torch.tensor([ids])).logits[0, at]
        top5 = [tok.convert_ids_to_tokens(int(i)) for i in logits.topk(5).indices]
        firsts = {tok.tokenize(k)[0] for k in fact["keywords"]}
        rows.append({"statement": statement, "keywords": fact["keywords"], "top5": top5,
                     "top1_correct": top5[0] in firsts, "top5_correct": bool(firsts & set(top5))})
    k1, k5, n = sum(r["top1_correct"] for r in rows), sum(r["top5_correct"] for r in rows), len(rows)
    return {"model": name, "n": n, "top1": k1 / n, "top1_interval": wilson_interval(k1, n),
            "top5": k5 / n, "top5_interval": wilson_interval(k5, n), "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="kit names or model folders")
    parser.add_argument("--output", default=None, help="write every statement and prediction here (JSON)")
    args = parser.parse_args()
    facts = simple_facts()
    results = [probe(name, facts) for name in args.models]
    for r in results:
        lo, hi = r["top1_interval"]
        print(f"{r['model']}: cloze top-1 {r['top1']:.0%} [{lo:.0%}, {hi:.0%}], top-5 {r['top5']:.0%} (n={r['n']})")
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
