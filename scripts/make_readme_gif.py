"""The README's animation: bert-chat answering one question with its own sampler settings.

    python scripts/make_readme_gif.py          # ~10 s on a CPU; writes docs/assets/denoising.gif

The question goes through ``build_prompt`` and :func:`dlm_kit.chat.generate_answers` with the
settings saved beside the model (``SamplingConfig.for_model``), as ``answer()`` would answer it;
``return_history`` keeps every step for the frames.
"""

from __future__ import annotations

import argparse

import torch

from dlm_kit.backbones import load_backbone
from dlm_kit.chat import SamplingConfig, build_prompt, generate_answers, trim_answer
from dlm_kit.widgets import save_denoising_gif


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="bert-chat")
    parser.add_argument("--question", default="What is a rainbow?")
    parser.add_argument("--out", default="docs/assets/denoising.gif")
    args = parser.parse_args()
    torch.manual_seed(0)
    model, tokenizer = load_backbone(args.model)
    sampling, source = SamplingConfig.for_model(model.eval())
    with torch.no_grad():
        output = generate_answers(model, tokenizer, [build_prompt(tokenizer, args.question)], sampling, return_history=True)
    save_denoising_gif(output, tokenizer, args.out, block_size=sampling.block_size, question=args.question)
    print(f"{args.out}: {args.model} with {source} ({sampling.block_size}-token blocks, "
          f"{sampling.max_new_tokens // sampling.steps} token(s) per step): "
          f"{trim_answer(output.new_tokens[0].tolist(), tokenizer)!r}")


if __name__ == "__main__":
    main()
