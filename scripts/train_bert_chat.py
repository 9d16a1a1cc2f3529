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

from transformers import TrainerCallback

from dlm_kit.backbones import load_backbone, save_delta, train_top_layers
from dlm_kit.data import SFTCollator, group_texts, load_text_corpus, tokenize_chat_dataset
from dlm_kit.masking import loss_at_mask_ratios
from dlm_kit.training import TrainConfig, seed_everything, train

RATIOS = (0.15, 0.5, 0.8, 1.0)


class LossByRatio(TrainerCallback):
    """Held-out loss at a few mask ratios every ``every`` steps (printed and kept)."""

    def __init__(self, held_out, mask_token_id: int, every: int, collate_fn=None) -> None:
        self.held_out, self.mask_token_id, self.every, self.collate_fn = held_out, mask_token_id, every, collate_fn
        self.history: list[dict] = []

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step % self.every == 0 or state.global_step == state.max_steps:
            losses = loss_at_mask_ratios(
                model, self.held_out, ratios=RATIOS, mask_token_id=self.mask_token_id, collate_fn=self.collate_fn, batch_size=16
            )
            self.history.append({"step": state.global_step, **{str(r): round(v, 3) for r, v in losses.items()}})
            print(json.dumps(self.history[-1]), flush=True)


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
    parser.add_argument("--limit", type=int, default=None, help="use only this many training rows (toy runs, tests)")
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
    n_trainable = train_top_layers(model, args.top_layers)
    collate_fn = None
    if args.stage == "sft":
        from dlm_kit.data import load_english_chat

        data = load_english_chat()
        train_rows = data["train"] if args.limit is None else data["train"].select(range(args.limit))
        train_set = tokenize_chat_dataset(train_rows, tokenizer)
        test = data["test"]
        held_out = tokenize_chat_dataset(test.select(range(0, len(test), max(1, len(test) // 64))), tokenizer)  # every family
        collate_fn = SFTCollator(tokenizer)
    else:
        corpus = load_text_corpus("gensim-wikipedia")
        if args.limit is not None:
            corpus = corpus.select(range(min(args.limit, len(corpus))))
        train_set = group_texts(corpus, tokenizer, seq_length=args.seq_length)
        held_out = group_texts(load_text_corpus("gensim-wikipedia", split="validation"), tokenizer, seq_length=args.seq_length)
        held_out = held_out.select(range(min(64, len(held_out))))
    by_ratio = LossByRatio(held_out, tokenizer.mask_token_id, args.eval_every, collate_fn)
    config = TrainConfig(
        output_dir=str(run_dir),
        objective=objective,
        max_steps=max_steps,
        batch_size=args.batch_size,
        learning_rate=learning_rate,
        logging_steps=25,
        save_steps=args.save_steps,
        save_total_limit=1,
        seed=args.seed,
        progress_bar=False,
    )
    resume = any(run_dir.glob("checkpoint-*"))
    start = time.perf_counter()
    result = train(model, tokenizer, train_set, config=config, callbacks=[by_ratio], resume_from_checkpoint=resume or None)
    minutes = (time.perf_counter() - start) / 60
    record = {
        "stage": args.stage, "objective": objective, "init": init, "max_steps": max_steps, "batch_size": args.batch_size,
        "learning_rate": learning_rate, "top_layers": args.top_layers, "trainable_parameters": n_trainable,
        "train_rows": len(train_set), "minutes_this_run": round(minutes, 1), "resumed": resume,
        "final_train_loss": result.losses[-1] if result.losses else None, "loss_by_mask_ratio": by_ratio.history,
    }
    (run_dir / "bert_chat_stage.json").write_text(json.dumps(record, indent=1) + "\n")
    if name is not None:
        info = save_delta(result.model, tokenizer, Path(args.models_dir) / name, base="minilm")
        record["saved"] = info
        (Path(args.models_dir) / name / "training.json").write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps({k: v for k, v in record.items() if k != "loss_by_mask_ratio"}))


if __name__ == "__main__":
    main()
