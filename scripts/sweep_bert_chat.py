"""The short sweep behind bert-chat's learning rate and answer padding: same data, steps and seed.

    OMP_NUM_THREADS=2 python scripts/sweep_bert_chat.py --max_steps 250     # ~9 min per setting on 2 cores

Each setting trains every layer of ``minilm-mlm`` (chat tags as single tokens) with MDLM on the
teacher data for ``--max_steps`` steps of 32 rows (its own warm-up and cosine decay), then is
scored on the *dev* half of the held-out topics (never the test half the bars use): held-out
loss at mask ratios 0.15 / 0.5 / 0.8 / 1.0 on answer tokens, and through ``answer()`` with blocks
of 8 (one token per step, 64 tokens): clean answers and relevance. Resumable: a setting whose
summary exists is skipped. Writes ``runs/sweep/summary.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

SETTINGS = {
    "lr1e-4_canvas64": ["--learning_rate", "1e-4", "--answer_length", "64"],
    "lr3e-4_canvas64": ["--learning_rate", "3e-4", "--answer_length", "64"],
    "lr1e-3_canvas64": ["--learning_rate", "1e-3", "--answer_length", "64"],
    "lr3e-4_batch_longest": ["--learning_rate", "3e-4"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max_steps", type=int, default=250)
    parser.add_argument("--runs_dir", default="runs/sweep")
    parser.add_argument("--settings", nargs="*", default=list(SETTINGS))
    parser.add_argument("--n_dev", type=int, default=64)
    args = parser.parse_args()
    runs = Path(args.runs_dir)
    for name in args.settings:
        if (runs / name / "bert_chat_stage.json").exists():
            continue
        cmd = [sys.executable, "scripts/train_bert_chat.py", "--stage", "sft", "--objective", "mdlm", "--data", "teacher",
               "--top_layers", "6", "--batch_size", "32", "--max_steps", str(args.max_steps), "--eval_every", str(args.max_steps),
               "--save_steps", str(args.max_steps), "--runs_dir", str(runs), "--name", name, "--no_final_save", *SETTINGS[name]]
        print(" ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)

    import torch

    sys.path.insert(0, str(Path(__file__).parent))
    from eval_chat_bars import clean, question_sets

    from dlm_kit.backbones import load_backbone
    from dlm_kit.chat import SamplingConfig, answer
    from dlm_kit.judges import load_smollm2, relevance

    judge = load_smollm2()
    dev = [r["messages"][0]["content"] for r in question_sets(0, args.n_dev)["dev"]]
    summary = json.loads((runs / "summary.json").read_text()) if (runs / "summary.json").exists() else {}
    for name in args.settings:
        if name in summary:
            continue
        stage = json.loads((runs / name / "bert_chat_stage.json").read_text())
        model, tok = load_backbone(str(runs / name))
        with torch.no_grad():
            replies = answer(model.eval(), tok, dev, sampling=SamplingConfig(max_new_tokens=64, block_size=8))
        rel = relevance(dev, replies, judge=judge)
        summary[name] = {"loss_by_ratio": stage["loss_by_mask_ratio"][-1], "tokens_per_second": stage["tokens_per_second"],
                         "minutes": stage["minutes_this_run"], "clean": sum(map(clean, replies)) / len(replies),
                         "relevance": sum(rel) / len(rel), "examples": replies[:5]}
        (runs / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print("| setting | loss@0.15 | loss@0.5 | loss@1.0 | clean | relevance | min |")
    print("|---|---|---|---|---|---|---|")
    for name, row in summary.items():
        loss = row["loss_by_ratio"]
        print(f"| {name} | {loss['0.15']:.3f} | {loss['0.5']:.3f} | {loss['1.0']:.3f} | {row['clean']:.2f} | "
              f"{row['relevance']:.2f} | {row['minutes']:.1f} |")


if __name__ == "__main__":
    main()
