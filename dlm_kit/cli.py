"""The ``dlm-kit`` command line.

    dlm-kit train --backbone tiny-bert --data synthetic --max_steps 300 --output_dir runs/sort
    accelerate launch --multi_gpu --num_processes 2 -m dlm_kit.cli train --backbone tiny-bert ...
    dlm-kit generate --model runs/sort --prompt "Sort the letters: d c b a" --live
    dlm-kit chat --model runs/sort
    dlm-kit eval --model tiny-chat --tasks dlm_kit_synthetic_gen,dlm_kit_synthetic_mc

``train`` fields are the :class:`dlm_kit.training.TrainConfig` fields plus the data/backbone
choices below (``dlm-kit train --help`` lists them all); a single ``.json`` file of them works
too, as with Hugging Face example scripts.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass

__all__ = ["main", "TrainScriptArguments", "ModelArguments", "EvalArguments"]


@dataclass
class TrainScriptArguments:
    """What to train on; the optimisation settings are `TrainConfig`'s."""

    backbone: str = "tiny-bert"
    """Kit name (tiny-bert, minilm, ...), hub id or local folder of a masked LM; with --objective ar,
    a causal LM (tiny-gpt2, tiny-chat-ar, a folder or hub id)."""
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
    resume: bool = False
    """Continue from the newest checkpoint in --output_dir (same data order, masks and schedule)."""
    overwrite: bool = False
    """Start over in an --output_dir that holds checkpoints (they are deleted)."""


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
    resume = _resume_or_refuse(parser, config, resume=script.resume, overwrite=script.overwrite)
    seed_everything(config.seed)
    if config.objective == "ar":
        model, tokenizer = _load_causal(script.backbone, seed=config.seed)
    else:
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
        resume_from_checkpoint=resume,
    )
    print(f"final training loss {result.losses[-1]:.4f}; model saved to {result.output_dir}")


def _resume_or_refuse(parser, config, *, resume: bool, overwrite: bool) -> bool | None:
    """Never train over a folder's checkpoints silently: resume (--resume), start over (--overwrite) or refuse."""
    import shutil
    from pathlib import Path

    from .training import check_resume, newest_checkpoint

    if resume and overwrite:
        parser.error("--resume and --overwrite contradict each other; pass one.")
    newest = newest_checkpoint(config.output_dir)
    if resume:
        if newest is None:
            parser.error(f"--resume: {config.output_dir} holds no checkpoint-* folder to continue from; train without --resume.")
        try:
            check_resume(config, True)
        except ValueError as err:
            parser.error(f"--resume: {err}")
        return True
    if newest is not None:
        if not overwrite:
            parser.error(
                f"--output_dir {config.output_dir} holds checkpoints (newest: {newest.name}). Pass --resume to continue "
                "that run, or --overwrite to start over (its checkpoints are deleted), or choose another --output_dir."
            )
        for folder in Path(config.output_dir).glob("checkpoint-*"):
            shutil.rmtree(folder)
    return None


def _load_causal(backbone: str, *, seed: int):
    """The causal LM that ``--objective ar`` trains; the kit's masked-LM names are refused."""
    from .backbones import KIT_MODELS, TINY_BACKBONES
    from .baselines import load_causal_baseline

    if backbone in (*TINY_BACKBONES, *KIT_MODELS):
        raise ValueError(
            f"--objective ar trains next-token prediction, and {backbone!r} is a masked LM: pass "
            "--backbone tiny-gpt2 (or a causal-LM folder or hub id), or use --objective mdlm or mlm."
        )
    return load_causal_baseline(backbone, seed=seed)


@dataclass
class ModelArguments:
    """Which trained model to talk to."""

    model: str = ""
    """A folder saved by the kit (or any masked-LM folder / hub id with a mask token)."""
    prompt: str = ""
    """generate: the question to answer."""
    system: str = ""
    """An optional system message."""
    live: bool = False
    """Show the canvas in the terminal as each denoising step happens."""
    seed: int = 0


def _load_for_sampling(argv: list[str], prog: str):
    import torch
    from transformers import HfArgumentParser

    from .backbones import load_backbone
    from .chat import SamplingConfig

    parser = HfArgumentParser((ModelArguments, SamplingConfig), prog=prog)
    try:
        args, parsed = parser.parse_args_into_dataclasses(args=argv)
    except ValueError as err:  # SamplingConfig refuses a bad value with a message naming the fix
        parser.error(str(err))
    if not args.model:
        parser.error("--model is required: a folder written by `dlm-kit train` or a hub id.")
    torch.manual_seed(args.seed)
    model, tokenizer = load_backbone(args.model)
    # the model's recommended settings, with only the flags given on the command line on top
    sampling, source = SamplingConfig.for_model(model)
    given = [f.name for f in dataclasses.fields(SamplingConfig)
             if any(a == f"--{f.name}" or a.startswith(f"--{f.name}=") for a in argv)]
    sampling = dataclasses.replace(sampling, **{name: getattr(parsed, name) for name in given})
    flags = f", with {' '.join('--' + n for n in given)} from the command line" if given else ""
    print(f"sampling: {source}{flags}", file=sys.stderr)
    return args, sampling, model.eval(), tokenizer


class _LiveView:
    """Redraws the answer canvas in place after every step: masked tokens show as ▒."""

    def __init__(self, tokenizer, start: int, stream=sys.stdout) -> None:
        self.tokenizer, self.start, self.stream, self.lines = tokenizer, start, stream, 0

    def __call__(self, record) -> None:
        from .plots import render_corruption

        canvas = record.canvas[0, self.start :]
        text = render_corruption(canvas, canvas == self.tokenizer.mask_token_id, self.tokenizer)
        frame = f"step {record.step + 1:>3} | {text}"
        # move up over the previous frame and clear it, then draw this one
        self.stream.write("\033[F\033[K" * self.lines + frame + "\n")
        self.stream.flush()
        self.lines = frame.count("\n") + 1


def _answer_once(model, tokenizer, messages, sampling, live: bool):
    """(reply text, GenerationOutput) for one conversation, with the same sampler call as `chat`."""
    from .chat import generate_answers
    from .chat_format import build_prompt, trim_answer

    prompt = build_prompt(tokenizer, messages)
    out = generate_answers(model, tokenizer, [prompt], sampling, on_step=_LiveView(tokenizer, len(prompt)) if live else None)
    return trim_answer(out.new_tokens[0].tolist(), tokenizer), out


def _generate_command(argv: list[str]) -> None:
    import time

    args, sampling, model, tokenizer = _load_for_sampling(argv, "dlm-kit generate")
    if not args.prompt:
        raise SystemExit("dlm-kit generate: pass --prompt 'your question'.")
    messages = ([{"role": "system", "content": args.system}] if args.system else []) + [
        {"role": "user", "content": args.prompt}
    ]
    start = time.perf_counter()
    reply, out = _answer_once(model, tokenizer, messages, sampling, args.live)
    seconds = time.perf_counter() - start
    print(reply)
    print(
        f"[{out.nfe} forward passes, {sampling.max_new_tokens / seconds:.0f} tokens/s, {seconds:.2f} s]",
        file=sys.stderr,
    )


def _chat(argv: list[str]) -> None:
    import warnings

    from .chat import ChatSession, build_prompt

    args, sampling, model, tokenizer = _load_for_sampling(argv, "dlm-kit chat")
    session = ChatSession(model, tokenizer, system=args.system or None, sampling=sampling)
    print("dlm-kit chat: type a message; /reset clears the conversation, /exit or Ctrl-D quits.")
    while True:
        try:
            text = input("you> ").strip()
        except EOFError:
            print()
            return
        if text in ("/exit", "/quit"):
            return
        if text == "/reset":
            session.reset()
            continue
        if not text:
            continue
        live = _LiveView(tokenizer, len(build_prompt(tokenizer, session.conversation(text)))) if args.live else None
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                reply = session.send(text, on_step=live)
        except ValueError as err:  # a turn the sampler refuses: say why, keep the conversation
            print(f"dlm-kit chat: that message was not answered: {err}", file=sys.stderr)
            continue
        for warning in caught:
            print(f"dlm-kit chat: {warning.message}", file=sys.stderr)
        print(f"bot> {reply}")


@dataclass
class EvalArguments:
    """`dlm-kit eval`: lm-evaluation-harness with the kit's `dlm_kit` model and offline tasks."""

    model: str = ""
    """A saved folder, hub id or kit name (tiny-chat)."""
    tasks: str = "dlm_kit_synthetic_gen,dlm_kit_synthetic_mc"
    """Comma-separated lm-eval task names; the kit's offline tasks are found automatically."""
    model_args: str = ""
    """Extra `dlm_kit` model_args, e.g. 'mc_num=64,threshold=0.9,block_size=32'."""
    num_fewshot: int | None = None
    limit: float | None = None
    """Documents per task (a fraction if < 1), for a quick look."""
    batch_size: int = 32
    apply_chat_template: bool = True
    """Wrap prompts in the model's chat template (what chat models were trained on)."""
    include_path: str = ""
    """Another folder of task YAMLs (default: the repository's data/tasks)."""
    output: str = ""
    """Write the aggregated results as JSON here."""
    seed: int = 0


def _eval(argv: list[str]) -> None:
    import json

    from transformers import HfArgumentParser

    parser = HfArgumentParser(EvalArguments, prog="dlm-kit eval")
    (args,) = parser.parse_args_into_dataclasses(args=argv)
    if not args.model:
        parser.error("--model is required: a folder written by `dlm-kit train`, a hub id or tiny-chat.")
    if args.output:  # checked before the evaluation, not after it
        from pathlib import Path

        folder = Path(args.output).expanduser().resolve().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            parser.error(f"--output {args.output}: cannot create its folder {folder} ({err}); choose a writable path.")
    import lm_eval
    from lm_eval.utils import make_table

    from .evaluation import task_manager

    model_args = f"pretrained={args.model},seed={args.seed}" + (f",{args.model_args}" if args.model_args else "")
    results = lm_eval.simple_evaluate(
        model="dlm_kit",
        model_args=model_args,
        tasks=[t for t in args.tasks.split(",") if t],
        num_fewshot=args.num_fewshot,
        limit=args.limit,
        batch_size=args.batch_size,
        apply_chat_template=args.apply_chat_template,
        task_manager=task_manager(args.include_path or None),
        random_seed=args.seed,
        bootstrap_iters=0,
        log_samples=False,
    )
    print(make_table(results))
    if args.output:
        with open(args.output, "w") as f:
            json.dump({"model": args.model, "model_args": model_args, "results": results["results"]}, f, indent=2, default=str)


_COMMANDS = {"train": _train, "generate": _generate_command, "chat": _chat, "eval": _eval}


def main(argv: list[str] | None = None) -> None:
    """The ``dlm-kit`` command: ``train``, ``generate``, ``chat`` or ``eval`` with its flags (``dlm-kit CMD --help``)."""
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
