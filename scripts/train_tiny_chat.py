"""Train the tiny chat model that notebooks 04 and 05 load, and write its model card.

    python scripts/train_tiny_chat.py                      # ~8 min on one CPU core
    python scripts/train_tiny_chat.py --max_steps 200 --output_dir /tmp/smoke   # a quick check
    python scripts/train_tiny_chat.py --objective ar      # the autoregressive baseline (notebook 05)

Recipe: a random-init tiny BERT (the kit's `tiny-bert`, ~1.4 M parameters, 4,096-token
WordPiece vocabulary) trained from scratch with MDLM SFT on the project's synthetic instruction
tasks, reference padding policy (pad as EOS), seed 0. The held-out exact match per task family is
measured with the kit's sampler and written to the model card.

`--objective ar` trains the baseline of notebook 05 with the same tokenizer, data, steps, batch
and learning rate: a GPT-2 of the same shape (`dlm_kit.baselines.tiny_gpt2_config`) with
next-token prediction on the answers (one EOS after each), scored with greedy decoding.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from dlm_kit.backbones import load_backbone
from dlm_kit.baselines import answer_causal, load_causal_baseline
from dlm_kit.chat import SamplingConfig, evaluate_tasks
from dlm_kit.data import SYNTHETIC_FAMILIES, make_synthetic_tasks, tokenize_chat_dataset
from dlm_kit.training import TrainConfig, seed_everything, train

CARD = """---
library_name: transformers
license: apache-2.0
pipeline_tag: fill-mask
tags: [dlm-kit, masked-diffusion, mdlm, tiny]
---

# dlm-kit tiny chat model

A {params:.2f} M-parameter BERT trained **from scratch** by [dlm-kit](../../README.md) with masked
diffusion (MDLM) SFT on the project's synthetic instruction tasks. It exists so that the notebooks
that animate block denoising (04) and benchmark models (05) have a real chat model that runs
offline on a CPU. It knows only those tasks: it is a teaching model, not an assistant.

## Recipe

`python scripts/train_tiny_chat.py {argv}` (seed {seed}), {minutes:.1f} minutes on {device}
({threads} threads), torch {torch}, transformers {transformers}.

| setting | value |
|---|---|
| backbone | `tiny-bert`: hidden 128, 4 layers, 4 heads, 4,096-token WordPiece, random init |
| objective | MDLM, linear schedule, t ~ U(1e-3, 1), loss weight 1/t |
| data | synthetic tasks {families}, {n_train} training questions per family |
| steps x batch | {max_steps} x {batch_size}, AdamW lr {lr}, cosine decay, 5 % warm-up |
| padding policy | `pad_as_eos` (padding trained as EOS, as the reference recipe) |

## Held-out exact match

{n_test} unseen questions per family, greedy low-confidence sampling, {max_new_tokens}-token
canvas, one token per step, one block:

| family | difficulty | exact match |
|---|---|---|
{rows}

## Use

```python
from dlm_kit.backbones import load_backbone
from dlm_kit.chat import answer, SamplingConfig
model, tokenizer = load_backbone("models/tiny-chat")
answer(model.eval(), tokenizer, ["Sort the letters: q w e r t y"], sampling=SamplingConfig(max_new_tokens=16))
```

The weights load with plain `AutoModelForMaskedLM` / `AutoTokenizer` too, and the chat template is
the released ModernBERT-Chat format, so the ModernBERT-Chat model card's Quick Start runs on it.
"""


CARD_AR = """---
library_name: transformers
license: apache-2.0
pipeline_tag: text-generation
tags: [dlm-kit, autoregressive, baseline, tiny]
---

# dlm-kit tiny autoregressive baseline

A {params:.2f} M-parameter GPT-2 trained **from scratch** by [dlm-kit](../../README.md) with
next-token prediction on the same synthetic instruction tasks, tokenizer, steps, batch and
learning rate as the tiny diffusion chat model (`models/tiny-chat`): notebook 05 compares the two.

## Recipe

`python scripts/train_tiny_chat.py {argv}` (seed {seed}), {minutes:.1f} minutes on {device}
({threads} threads), torch {torch}, transformers {transformers}.

| setting | value |
|---|---|
| model | GPT-2: hidden 128, 4 layers, 4 heads, 4,096-token WordPiece (the diffusion model's), random init |
| objective | next-token cross-entropy on the answer tokens and one EOS; prompt not trained |
| data | synthetic tasks {families}, {n_train} training questions per family |
| steps x batch | {max_steps} x {batch_size}, AdamW lr {lr}, cosine decay, 5 % warm-up |

## Held-out exact match

{n_test} unseen questions per family, greedy decoding, at most {max_new_tokens} new tokens:

| family | difficulty | exact match |
|---|---|---|
{rows}

## Use

```python
from dlm_kit.baselines import answer_causal, load_causal_baseline
model, tokenizer = load_causal_baseline("tiny-chat-ar")
answer_causal(model.eval(), tokenizer, ["Sort the letters: q w e r t y"])
```
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objective", choices=["mdlm", "ar"], default="mdlm")
    parser.add_argument("--output_dir", default=None, help="default: models/tiny-chat (mdlm), models/tiny-chat-ar (ar)")
    parser.add_argument("--families", default=",".join(SYNTHETIC_FAMILIES))
    parser.add_argument("--n_train", type=int, default=4000)
    parser.add_argument("--n_test", type=int, default=200)
    parser.add_argument("--max_steps", type=int, default=3000)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--learning_rate", type=float, default=1e-3)
    parser.add_argument("--max_new_tokens", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    seed_everything(args.seed)
    families = args.families.split(",")
    tasks = make_synthetic_tasks(families, n_train=args.n_train, n_test=args.n_test, seed=args.seed)
    args.output_dir = args.output_dir or ("models/tiny-chat" if args.objective == "mdlm" else "models/tiny-chat-ar")
    if args.objective == "ar":
        model, tokenizer = load_causal_baseline("tiny-gpt2", seed=args.seed)
    else:
        model, tokenizer = load_backbone("tiny-bert", seed=args.seed)
    config = TrainConfig(
        output_dir=args.output_dir,
        objective=args.objective,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        logging_steps=50,
        seed=args.seed,
    )
    start = time.perf_counter()
    result = train(model, tokenizer, tokenize_chat_dataset(tasks["train"], tokenizer), config=config)
    minutes = (time.perf_counter() - start) / 60
    scores = evaluate_tasks(
        result.model, tokenizer, tasks["test"], sampling=SamplingConfig(max_new_tokens=args.max_new_tokens),
        answer_fn=answer_causal if args.objective == "ar" else None,
    )
    print(json.dumps(scores, indent=2))

    out = Path(args.output_dir)
    for leftover in out.glob("checkpoint-*"):
        raise SystemExit(f"unexpected checkpoint folder {leftover}; the committed model keeps only the final weights")
    (out / "training_args.bin").unlink(missing_ok=True)  # pickled, environment-specific; the card has the recipe
    (out / "eval_results.json").write_text(json.dumps(scores, indent=2) + "\n")
    rows = "\n".join(
        f"| {f} | {SYNTHETIC_FAMILIES[f][0]} | {scores[f]:.1%} |" for f in families
    ) + f"\n| **all** | | **{scores['all']:.1%}** |"
    import transformers

    (out / "README.md").write_text(
        (CARD_AR if args.objective == "ar" else CARD).format(
            params=result.model.num_parameters() / 1e6,
            argv=" ".join(f"--{k} {v}" for k, v in vars(args).items() if parser.get_default(k) != v),
            seed=args.seed,
            minutes=minutes,
            device=platform.processor() or platform.machine(),
            threads=torch.get_num_threads(),
            torch=torch.__version__,
            transformers=transformers.__version__,
            families=", ".join(families),
            n_train=args.n_train,
            max_steps=args.max_steps,
            batch_size=args.batch_size,
            lr=args.learning_rate,
            n_test=args.n_test,
            max_new_tokens=args.max_new_tokens,
            rows=rows,
        )
    )
    print(f"saved to {out} in {minutes:.1f} min")


if __name__ == "__main__":
    main()
