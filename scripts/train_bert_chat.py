"""Turn the pretrained MiniLM-L6 BERT into an English chat model, and train the seed's controls.

    python scripts/train_bert_chat.py --stage head                    # minilm-mlm: a working MLM head
    python scripts/train_bert_chat.py --stage sft --objective mdlm    # bert-chat (the headline model)
    python scripts/train_bert_chat.py --stage sft --objective mlm     # bert-chat-mlm (the seed's control)
    python scripts/train_bert_chat.py --stage pretrain --max_steps 300  # minilm-mlm + MDLM on Wikipedia
    python scripts/train_bert_chat.py --stage sft --objective mdlm --save_steps 400 --init runs/bert-chat/pretrain \\
        --name bert-chat-pretrained --models_dir runs/models          # "do we need generative pretraining?"

The committed models used these defaults (head 1,200 steps, pretrain 300, SFT 800). The
pretraining question compares ``runs/bert-chat/bert-chat/checkpoint-400`` with
``runs/bert-chat/bert-chat-pretrained/checkpoint-400`` (the same SFT budget, schedule, data order
and masks); ``scripts/eval_bert_chat.py`` expects them copied to ``runs/bert-chat/bert-chat-step400``
and ``runs/bert-chat/bert-chat-pretrained-step400`` (pass ``--save_steps 400`` to the SFT run of
bert-chat as well, or the checkpoint is rotated away).

The new recipe (issue "bert-chat that really chats"): every layer, the teacher data
(:func:`dlm_kit.teacher_data.load_teacher_chat`), the chat tags as single tokens
(:func:`dlm_kit.backbones.add_chat_tag_tokens`), answers padded with trained EOS to a 64-token
canvas (the canvas a user gets), and a time budget per sitting:

    OMP_NUM_THREADS=2 python scripts/train_bert_chat.py --stage sft --objective mdlm --data teacher \
        --top_layers 6 --answer_length 64 --batch_size 32 --learning_rate 3e-4 --max_steps 4000 --max_minutes 40

``--max_minutes`` stops the run at a checkpoint when the sitting's time is up; ``--export``
then writes that checkpoint as ``checkpoints/<name>/`` (the weights that changed, float16, the
Trainer's step, schedule and random state; the optimizer's moments are not kept, they restart
at the next sitting), small enough to commit. Rerunning the same command in a fresh clone
resumes from there: nothing of a multi-sitting run is lost with the machine.

Stages and why:

- ``head``: all-MiniLM-L6-v2 is a sentence-embedding model distilled from a larger BERT; it has
  no MLM head. The head (transform + output bias; the decoder is tied to the word embeddings)
  and the top layers learn BERT's objective, MLM at 15 %, on the English Wikipedia sample.
- ``sft``: supervised fine-tuning on the kit's English instructions
  (:func:`dlm_kit.data.load_english_chat`: teacher answers + checkable Wikipedia families), with
  MDLM (every mask ratio) or MLM at 15 %: same start, data, steps, learning rate and seed.
- ``pretrain``: continual MDLM pretraining of the headed model on the same Wikipedia text.

Only the top ``--top_layers`` encoder layers and the head train (the embeddings and the lower
layers stay as pretrained), so each model is committed as the tensors that changed, in float16
(:func:`dlm_kit.backbones.save_delta`), and ``load_backbone("bert-chat")`` rebuilds a plain
``BertForMaskedLM`` from the pip package's MiniLM. Every stage is resumable: rerun the same
command and it continues from its newest checkpoint in ``runs/bert-chat/<stage>``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import shutil

import torch
from transformers import TrainerCallback

from dlm_kit.backbones import add_chat_tag_tokens, load_backbone, save_delta, train_top_layers
from dlm_kit.data import SFTCollator, group_texts, load_text_corpus, tokenize_chat_dataset
from dlm_kit.masking import loss_at_mask_ratios
from dlm_kit.training import TrainConfig, checkpoint_step, newest_checkpoint, seed_everything, train

RATIOS = (0.15, 0.5, 0.8, 1.0)


class LossByRatio(TrainerCallback):
    """Held-out loss at a few mask ratios every ``every`` steps (printed and kept).

    With ``log_file`` the rows are appended there too, so a run over several sittings keeps one
    curve (the rows of earlier sittings are read back first).
    """

    def __init__(self, held_out, mask_token_id: int, every: int, collate_fn=None, log_file: Path | None = None) -> None:
        self.held_out, self.mask_token_id, self.every, self.collate_fn = held_out, mask_token_id, every, collate_fn
        self.log_file = log_file
        self.history: list[dict] = []
        if log_file is not None and log_file.exists():
            self.history = [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step % self.every == 0 or state.global_step == state.max_steps:
            if any(row["step"] == state.global_step for row in self.history):
                return
            losses = loss_at_mask_ratios(
                model, self.held_out, ratios=RATIOS, mask_token_id=self.mask_token_id, collate_fn=self.collate_fn, batch_size=16
            )
            self.history.append({"step": state.global_step, **{str(r): round(v, 3) for r, v in losses.items()}})
            print(json.dumps(self.history[-1]), flush=True)
            if self.log_file is not None:
                with self.log_file.open("a") as f:
                    f.write(json.dumps(self.history[-1]) + "\n")


class StopAfter(TrainerCallback):
    """End the run with a checkpoint once ``minutes`` of this sitting have passed."""

    def __init__(self, minutes: float) -> None:
        self.deadline = time.perf_counter() + 60 * minutes
        self.stopped = False

    def on_step_end(self, args, state, control, **kwargs):
        if time.perf_counter() > self.deadline and state.global_step < state.max_steps:
            control.should_save = True
            control.should_training_stop = True
            self.stopped = True


TRAINER_FILES = ("trainer_state.json", "scheduler.pt", "rng_state.pth", "training_args.bin")
RUN_LOGS = ("loss_by_ratio.jsonl", "sittings.jsonl")  # the curve and the time of every sitting so far


def export_trainer_state(checkpoint: Path, run_dir: Path, dest: Path) -> None:
    """Into ``dest``: the Trainer's files of ``checkpoint``, its optimizer without the moments, the run's logs, step.txt.

    The optimizer file keeps its parameter groups and drops its moments (2 floats per weight),
    so the folder is ~4x smaller than the checkpoint; the next sitting restarts Adam's averages.
    """
    for name in TRAINER_FILES:
        if (checkpoint / name).exists():
            shutil.copy(checkpoint / name, dest / name)
    optimizer = torch.load(checkpoint / "optimizer.pt", weights_only=False)
    optimizer["state"] = {}
    torch.save(optimizer, dest / "optimizer.pt")
    for name in RUN_LOGS:
        if (run_dir / name).exists():
            shutil.copy(run_dir / name, dest / name)
    (dest / "step.txt").write_text(f"{checkpoint_step(checkpoint)}\n")


def restore_trainer_state(src: Path, run_dir: Path) -> Path:
    """A ``checkpoint-<step>`` folder in ``run_dir`` with the Trainer's files and logs of an exported ``src``; the weights are the caller's."""
    step = int((src / "step.txt").read_text())
    checkpoint = run_dir / f"checkpoint-{step}"
    checkpoint.mkdir(parents=True, exist_ok=True)
    for name in (*TRAINER_FILES, "optimizer.pt"):
        if (src / name).exists():
            shutil.copy(src / name, checkpoint / name)
    for name in RUN_LOGS:
        if (src / name).exists() and not (run_dir / name).exists():
            shutil.copy(src / name, run_dir / name)
    print(f"restored {checkpoint} from {src} (step {step}; Adam's moments restart)", flush=True)
    return checkpoint


def export_checkpoint(run_dir: Path, dest: Path, tokenizer) -> Path:
    """Write the newest checkpoint of ``run_dir`` as a committable folder: changed weights (float16) and Trainer state."""
    checkpoint = newest_checkpoint(run_dir)
    if checkpoint is None:
        raise SystemExit(f"--export: no checkpoint in {run_dir}; train first.")
    model, _ = load_backbone(str(checkpoint))
    if dest.exists():
        shutil.rmtree(dest)
    save_delta(model, tokenizer, dest, base="minilm")
    export_trainer_state(checkpoint, run_dir, dest)
    return dest


def restore_checkpoint(src: Path, run_dir: Path) -> Path:
    """Rebuild a Trainer checkpoint in ``run_dir`` from an exported folder (:func:`export_checkpoint`)."""
    checkpoint = restore_trainer_state(src, run_dir)
    model, tokenizer = load_backbone(str(src))
    model.save_pretrained(checkpoint)
    tokenizer.save_pretrained(checkpoint)
    return checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", choices=["head", "sft", "pretrain"], required=True)
    parser.add_argument("--objective", choices=["mdlm", "mlm"], default=None, help="sft only (head: mlm, pretrain: mdlm)")
    parser.add_argument("--init", default=None, help="starting model (default: minilm for head, minilm-mlm otherwise)")
    parser.add_argument("--name", default=None, help="model name (default per stage); written to <models_dir>/<name>")
    parser.add_argument("--models_dir", default="models", help="where the committed delta folder goes")
    parser.add_argument("--runs_dir", default="runs/bert-chat", help="checkpoints and logs")
    parser.add_argument("--max_steps", type=int, default=None)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--seq_length", type=int, default=128, help="head / pretrain blocks")
    parser.add_argument("--learning_rate", type=float, default=None)
    parser.add_argument("--top_layers", type=int, default=3)
    parser.add_argument("--eval_every", type=int, default=200)
    parser.add_argument("--save_steps", type=int, default=200)
    parser.add_argument("--limit", type=int, default=None, help="use only this many training rows, and 8 held-out ones (toy runs, tests)")
    parser.add_argument("--data", choices=["english", "teacher"], default="english",
                        help="sft: the 2,059 open answers + Wikipedia families (english) or the ~20K teacher answers (teacher)")
    parser.add_argument("--answer_length", type=int, default=None, help="sft: pad each answer with trained EOS to this canvas")
    parser.add_argument("--chat_tags", action="store_true", help="make the chat tags single tokens (on with --data teacher)")
    parser.add_argument("--earlier_turns", type=float, default=0.0,
                        help="sft: give this fraction of the rows 1-2 earlier exchanges (multi-turn data; add_earlier_turns)")
    parser.add_argument("--refer_back", type=float, default=0.5,
                        help="with --earlier_turns: how often a same-topic follow-up names its topic by a pronoun")
    parser.add_argument("--group_by_length", action="store_true", help="batch rows of similar length (less padding)")
    parser.add_argument("--warmup_ratio", type=float, default=0.05)
    parser.add_argument("--max_minutes", type=float, default=None, help="stop at a checkpoint after this many minutes")
    parser.add_argument("--checkpoints_dir", default=None,
                        help="--export writes / a rerun restores <dir>/<name> (default: checkpoints/ beside --models_dir)")
    parser.add_argument("--export", action="store_true", help="only export the newest checkpoint to --checkpoints_dir")
    parser.add_argument("--no_final_save", action="store_true", help="do not write the model folder (sweeps)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    objective = {"head": "mlm", "pretrain": "mdlm"}.get(args.stage, args.objective)
    if objective is None:
        parser.error("--stage sft needs --objective mdlm or --objective mlm")
    name = args.name or {"head": "minilm-mlm", "pretrain": None}.get(args.stage, f"bert-chat{'-mlm' if objective == 'mlm' else ''}")
    init = args.init or ("minilm" if args.stage == "head" else "minilm-mlm")
    if init == "minilm-mlm" and Path(args.models_dir, "minilm-mlm").exists():
        init = str(Path(args.models_dir, "minilm-mlm"))
    max_steps = args.max_steps or {"head": 1200, "pretrain": 300, "sft": 800}[args.stage]
    learning_rate = args.learning_rate or {"head": 5e-4, "pretrain": 2e-4, "sft": 2e-4}[args.stage]
    run_dir = Path(args.runs_dir) / (args.stage if args.stage != "sft" else name)

    seed_everything(args.seed)
    model, tokenizer = load_backbone(init)
    if args.chat_tags or args.data == "teacher":
        add_chat_tag_tokens(model, tokenizer)
    n_trainable = train_top_layers(model, args.top_layers)
    checkpoints_dir = Path(args.checkpoints_dir) if args.checkpoints_dir else Path(args.models_dir).resolve().parent / "checkpoints"
    exported = checkpoints_dir / (name or args.stage)
    if args.export:
        print(f"exported to {export_checkpoint(run_dir, exported, tokenizer)}")
        return
    if newest_checkpoint(run_dir) is None and (exported / "step.txt").exists():
        restore_checkpoint(exported, run_dir)
    collate_fn = None
    if args.stage == "sft":
        if args.data == "teacher":
            from dlm_kit.teacher_data import load_teacher_chat

            data = load_teacher_chat()
        else:
            from dlm_kit.data import load_english_chat

            data = load_english_chat()
        train_rows = data["train"] if args.limit is None else data["train"].select(range(args.limit))
        if args.earlier_turns:
            from dlm_kit.teacher_data import add_earlier_turns

            train_rows = add_earlier_turns(train_rows, fraction=args.earlier_turns, refer=args.refer_back, seed=args.seed)
        train_set = tokenize_chat_dataset(train_rows, tokenizer, max_length=256)
        test = data["test"]
        rows = 64 if args.limit is None else 8  # a toy run (--limit) scores 8
        held_out = tokenize_chat_dataset(test.select(range(0, len(test), max(1, len(test) // rows))), tokenizer)  # every family
        collate_fn = SFTCollator(tokenizer, answer_length=args.answer_length)
    else:
        corpus = load_text_corpus("gensim-wikipedia")
        if args.limit is not None:
            corpus = corpus.select(range(min(args.limit, len(corpus))))
        train_set = group_texts(corpus, tokenizer, seq_length=args.seq_length)
        held_out = group_texts(load_text_corpus("gensim-wikipedia", split="validation"), tokenizer, seq_length=args.seq_length)
        held_out = held_out.select(range(min(64 if args.limit is None else 8, len(held_out))))
    run_dir.mkdir(parents=True, exist_ok=True)
    # held-out loss on the answer tokens and one EOS (not the padding), so runs with other padding compare
    score_collate = SFTCollator(tokenizer, pad_policy="single_eos") if args.stage == "sft" else None
    by_ratio = LossByRatio(held_out, tokenizer.mask_token_id, args.eval_every, score_collate, log_file=run_dir / "loss_by_ratio.jsonl")
    config = TrainConfig(
        output_dir=str(run_dir),
        objective=objective,
        max_steps=max_steps,
        batch_size=args.batch_size,
        learning_rate=learning_rate,
        warmup_ratio=args.warmup_ratio,
        logging_steps=25,
        save_steps=args.save_steps,
        save_total_limit=1,
        seed=args.seed,
        progress_bar=False,
        group_by_length=args.group_by_length,
    )
    resume = any(run_dir.glob("checkpoint-*"))
    first_step = checkpoint_step(newest_checkpoint(run_dir)) if resume else 0
    stopper = StopAfter(float("inf") if args.max_minutes is None else args.max_minutes)
    callbacks = [by_ratio, stopper]
    start = time.perf_counter()
    result = train(model, tokenizer, train_set, config=config, callbacks=callbacks, resume_from_checkpoint=resume or None,
                   data_collator=collate_fn)
    minutes = (time.perf_counter() - start) / 60
    record = {
        "stage": args.stage, "objective": objective, "init": init, "max_steps": max_steps, "batch_size": args.batch_size,
        "learning_rate": learning_rate, "top_layers": args.top_layers, "trainable_parameters": n_trainable,
        "train_rows": len(train_set), "minutes_this_run": round(minutes, 1), "resumed": resume,
        "final_train_loss": result.losses[-1] if result.losses else None, "loss_by_mask_ratio": by_ratio.history,
        "data": args.data, "answer_length": args.answer_length, "tokens_per_second": round(result.tokens_per_second, 1),
        "step": checkpoint_step(newest_checkpoint(run_dir)) if stopper.stopped else max_steps,
        "train_losses": list(zip(result.steps, result.losses)), "threads": torch.get_num_threads(),
        "warmup_ratio": args.warmup_ratio, "earlier_turns": args.earlier_turns, "refer_back": args.refer_back, "group_by_length": args.group_by_length,
        "device": str(next(result.model.parameters()).device),
    }
    record["steps_this_run"] = record["step"] - first_step
    with (run_dir / "sittings.jsonl").open("a") as f:  # one row per sitting of a multi-sitting run
        f.write(json.dumps({k: v for k, v in record.items() if k not in ("loss_by_mask_ratio", "train_losses")}) + "\n")
    record["sittings"] = [json.loads(line) for line in (run_dir / "sittings.jsonl").read_text().splitlines() if line.strip()]
    (run_dir / "bert_chat_stage.json").write_text(json.dumps(record, indent=1) + "\n")
    record["stopped_for_time"] = stopper.stopped
    if stopper.stopped:
        print(f"stopped after {args.max_minutes} min at a checkpoint; --export it to commit, rerun to continue", flush=True)
    if name is not None and not args.no_final_save and not stopper.stopped:
        info = save_delta(result.model, tokenizer, Path(args.models_dir) / name, base="minilm")
        record["saved"] = info
        (Path(args.models_dir) / name / "training.json").write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps({k: v for k, v in record.items() if k != "loss_by_mask_ratio"}))


if __name__ == "__main__":
    main()
