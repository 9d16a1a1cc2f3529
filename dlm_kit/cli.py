"""The ``dlm-kit`` command line.

    dlm-kit train --backbone tiny-bert --data synthetic --max_steps 300 --output_dir runs/sort
    accelerate launch --num_processes 2 --cpu -m dlm_kit.cli train --backbone tiny-bert ...

``train`` fields are the :class:`dlm_kit.training.TrainConfig` fields plus the data/backbone
choices below (``dlm-kit train --help`` lists them all); a single ``.json`` file of them works
too, as with Hugging Face example scripts.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

__all__ = ["main", "TrainScriptArguments"]


@dataclass
class TrainScriptArguments:
    """What to train on; the optimisation settings are `TrainConfig`'s."""

    backbone: str = "tiny-bert"
    """Kit name (tiny-bert, minilm, ...), hub id or local folder of a masked LM."""
    data: str = "synthetic"
    """SFT data: 'synthetic', a .json/.jsonl file or folder, or a hub id. With --corpus, ignored."""
    task_families: str = ""
    """Comma-separated synthetic task families (default: all)."""
    n_train: int = 2000
    """Synthetic examples per family."""
    corpus: str = ""
    """Pretraining corpus instead of SFT data: 'gensim-wikipedia', 'wikitext-103' or a path."""
    seq_length: int = 128
    """Tokens per pretraining block (with --corpus)."""
    max_length: int = 256
    """SFT examples longer than this are dropped."""
    pad_policy: str = "pad_as_eos"
    """'pad_as_eos' (reference) or 'single_eos'; see dlm_kit.data.SFTCollator."""
    limit: int = 0
    """Use at most this many SFT records (0: all)."""


def _train(argv: list[str]) -> None:
    from transformers import HfArgumentParser

    from .backbones import load_backbone
    from .data import (
        SFTCollator,
        group_texts,
        load_chat_dataset,
        load_text_corpus,
        make_synthetic_tasks,
        tokenize_chat_dataset,
    )
    from .training import TrainConfig, seed_everything, train

    parser = HfArgumentParser((TrainScriptArguments, TrainConfig), prog="dlm-kit train")
    if len(argv) == 1 and argv[0].endswith(".json"):
        script, config = parser.parse_json_file(argv[0])
    else:
        script, config = parser.parse_args_into_dataclasses(args=argv)
    seed_everything(config.seed)
    model, tokenizer = load_backbone(script.backbone, seed=config.seed)
    if script.corpus:
        dataset = group_texts(load_text_corpus(script.corpus), tokenizer, seq_length=script.seq_length)
    else:
        if script.data == "synthetic":
            families = [f for f in script.task_families.split(",") if f] or None
            chats = make_synthetic_tasks(families, n_train=script.n_train, n_test=0, seed=config.seed)["train"]
        else:
            chats = load_chat_dataset(script.data, limit=script.limit or None)
        dataset = tokenize_chat_dataset(chats, tokenizer, max_length=script.max_length)
    result = train(
        model,
        tokenizer,
        dataset,
        config=config,
        data_collator=SFTCollator(tokenizer, pad_policy=script.pad_policy),
    )
    print(f"final training loss {result.losses[-1]:.4f}; model saved to {result.output_dir}")


_COMMANDS = {"train": _train}


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in _COMMANDS:
        print(__doc__.strip())
        print(f"\ncommands: {', '.join(_COMMANDS)}")
        if argv and argv[0] not in ("-h", "--help"):
            raise SystemExit(f"dlm-kit: unknown command {argv[0]!r}")
        return
    _COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    main()
