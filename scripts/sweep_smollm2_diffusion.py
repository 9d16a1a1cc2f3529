"""The short sweep behind smollm2-diffusion's block size and shift: same data, steps and seed.

    OMP_NUM_THREADS=2 python scripts/sweep_smollm2_diffusion.py --max_steps 40     # ~11 min per setting on 2 cores

Each setting converts SmolLM2-135M-Instruct (blocks of 2, 4 or 8 with the shift; blocks of 4
without it) and trains the same LoRA on the teacher data for ``--max_steps`` steps of 8 rows (its
own warm-up and decay), as ``scripts/train_smollm2_diffusion.py`` does. It is then scored on the
*dev* half of the held-out topics (never the test half the bars use), through ``answer()`` with
64 new tokens in its own blocks, one and two tokens per step, with the exact block cache: clean
answers, relevance (:func:`dlm_kit.judges.relevance`), repeated word 3-grams, distinct-2 and CPU
seconds per answer; and its held-out loss at mask ratios 0.15 / 0.5 / 0.8 / 1.0 (the loss is
not comparable across block sizes: a smaller block predicts each token from more clean context,
so it is lower by construction; the answers are the comparison).

Resumable: a trained setting is not trained again, a scored one is not scored again (``--train_only``
trains and stops, so the scoring can run later). Writes ``--summary`` (the committed record,
``models/smollm2-diffusion/block_sweep.json``, which notebook 06 reads) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

SETTINGS = {
    "b2_shift": ["--block_size", "2"],
    "b4_shift": ["--block_size", "4"],
    "b8_shift": ["--block_size", "8"],
    "b4_no_shift": ["--block_size", "4", "--no_shift"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max_steps", type=int, default=40)
    parser.add_argument("--runs_dir", default="runs/a2d-sweep")
    parser.add_argument("--settings", nargs="*", default=list(SETTINGS))
    parser.add_argument("--n_dev", type=int, default=40)
    parser.add_argument("--train_only", action="store_true", help="train the settings, score none")
    parser.add_argument("--summary", default="models/smollm2-diffusion/block_sweep.json")
    args = parser.parse_args()
    runs = Path(args.runs_dir)
    for name in args.settings:
        if (runs / "models" / name / "training.json").exists():
            continue
        cmd = [sys.executable, "scripts/train_smollm2_diffusion.py", "--name", name, "--max_steps", str(args.max_steps),
               "--eval_every", str(args.max_steps), "--save_steps", str(args.max_steps), "--runs_dir", str(runs),
               "--models_dir", str(runs / "models"), "--checkpoints_dir", str(runs / "checkpoints"), *SETTINGS[name]]
        print(" ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
    if args.train_only:
        return

    sys.path.insert(0, str(Path(__file__).parent))
    from eval_chat_bars import answer_scores, model_answers, question_sets

    from dlm_kit.backbones import load_backbone
    from dlm_kit.judges import load_smollm2, relevance
    from dlm_kit.sampling_config import SamplingConfig

    judge = load_smollm2()
    dev = [r["messages"][0]["content"] for r in question_sets(0, args.n_dev)["dev"]]
    summary_file = Path(args.summary)
    summary = json.loads(summary_file.read_text()) if summary_file.exists() else {}
    for name in (n for n in args.settings if n not in summary):
        training = json.loads((runs / "models" / name / "training.json").read_text())
        model, tok = load_backbone(str(runs / "models" / name))
        row = {"block_size": training["block_size"], "shift": training["shift"], "steps": training["step"],
               "loss_by_ratio": training["loss_by_mask_ratio"][-1], "minutes": training["minutes_this_run"], "n_dev": len(dev)}
        for per_step in (1, 2):
            sampling = SamplingConfig(max_new_tokens=64, block_size=training["block_size"], steps=64 // per_step,
                                      cache="blocks")
            replies, _, seconds = model_answers(model.eval(), tok, dev, sampling)
            rel = relevance(dev, replies, judge=judge)
            row[f"{per_step}_per_step"] = answer_scores(replies, rel) | {
                "seconds_per_answer": seconds / len(dev), "relevance_per_question": rel, "examples": replies[:5]}
        summary[name] = row
        summary_file.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"| setting | loss@0.15 | loss@0.5 | loss@1.0 | tokens/step | clean | relevance | rep3 | distinct-2 | s/answer | "
          f"(n={args.n_dev} dev questions)")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, row in summary.items():
        loss = row["loss_by_ratio"]
        for per_step in (1, 2):
            s = row[f"{per_step}_per_step"]
            print(f"| {name} | {loss['0.15']:.2f} | {loss['0.5']:.2f} | {loss['1.0']:.2f} | {per_step} | {s['clean']:.2f} | "
                  f"{s['relevance']:.2f} | {s['repeated_3gram']:.0%} | {s['distinct_2']:.2f} | {s['seconds_per_answer']:.2f} |")


if __name__ == "__main__":
    main()
