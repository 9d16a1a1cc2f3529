"""Build the `smoke` profile's local stand-ins for every hub asset of the `full` profile.

    python scripts/make_smoke_assets.py            # into $DLM_KIT_SMOKE_DIR, default ~/.cache/dlm_kit/smoke
    python scripts/make_smoke_assets.py --out DIR

`full` names hub ids (ModernBERT-base/-large, bert-base-uncased, roberta-base, the released
ModernBERT chat model, the Qwen1.5-0.5B baseline, Alpaca, Tulu-3, SmolTalk, wikitext-103) that CI cannot download. This
script writes, under ``DIR/<hub id>``, a folder of the same layout for each:

- models: random-weight ``ModernBertForMaskedLM`` / ``BertForMaskedLM`` / ``RobertaForMaskedLM``
  at toy sizes (safetensors + ``config.json``), with tokenizers of the real formats trained here
  in seconds: byte-level BPE with ``[CLS]``/``[SEP]``/``[MASK]`` for ModernBERT, lower-cased
  WordPiece for BERT, byte-level BPE with ``<s>``/``</s>``/``<pad>``/``<mask>`` (pad id 1) for
  RoBERTa; the released chat model's stand-in also carries a chat template; and the seed's
  autoregressive baseline, Qwen1.5-0.5B: a ``Qwen2ForCausalLM`` (its architecture) with a
  byte-level BPE ``Qwen2Tokenizer`` (``<|endoftext|>`` as EOS and padding, no BOS, no mask,
  ChatML ``<|im_start|>``/``<|im_end|>`` turns);
- data: parquet shards in the hub layout and columns: ``wikitext-103-raw-v1/{train,validation,test}-*``
  (one line per row, blank rows between paragraphs), Alpaca's ``data/train-*`` (instruction,
  input, output, text), Tulu-3's ``data/train-*`` (id, messages, source) and SmolTalk's
  ``data/all/{train,test}-*`` (messages, source).

All text comes from the English Wikipedia sample in gensim's test data, read at run time, and
from project-authored instruction templates; nothing is copied from the real datasets. The
output is seeded (same files on every run) and about 3 MB; it takes ~20 s on one CPU core.
``dlm_kit.profiles.get_profile("smoke")`` points at these folders.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import datasets
import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (
    BertConfig,
    BertForMaskedLM,
    BertTokenizerFast,
    ModernBertConfig,
    ModernBertForMaskedLM,
    PreTrainedTokenizerFast,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen2TokenizerFast,
    RobertaConfig,
    RobertaForMaskedLM,
    RobertaTokenizerFast,
)

from dlm_kit.backbones import CHAT_TEMPLATE
from dlm_kit.data import load_text_corpus
from dlm_kit.profiles import SMOKE_STANDINS, smoke_dir

VOCAB_SIZE = 1200
"""Toy vocabularies: big enough for real subwords, small enough for a fast softmax."""


def _articles() -> tuple[list[str], list[str]]:
    """Training and held-out articles (gensim's Wikipedia sample, split as `load_text_corpus` does)."""
    return list(load_text_corpus("gensim-wikipedia")["text"]), list(load_text_corpus("gensim-wikipedia", split="validation")["text"])


# --------------------------------------------------------------------------------------------
# tokenizers of the real formats
# --------------------------------------------------------------------------------------------


def _bpe(texts: list[str], special: list[str]) -> Tokenizer:
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=special, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    backend.train_from_iterator(texts, trainer=trainer)
    return backend


def modernbert_tokenizer(texts: list[str]) -> PreTrainedTokenizerFast:
    """ModernBERT's format: byte-level BPE, [CLS] text [SEP], [MASK] that absorbs the space before it."""
    special = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]", "<|padding|>", "<|endoftext|>"]
    backend = _bpe(texts, special)
    cls, sep = backend.token_to_id("[CLS]"), backend.token_to_id("[SEP]")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    from transformers import AddedToken

    return PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]",
        mask_token=AddedToken("[MASK]", lstrip=True), model_max_length=8192,
        model_input_names=["input_ids", "attention_mask"],
    )


def roberta_tokenizer(texts: list[str]) -> RobertaTokenizerFast:
    """RoBERTa's format: byte-level BPE, <s> text </s>, <pad> = 1 (positions start after it)."""
    backend = _bpe(texts, ["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    backend.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), add_prefix_space=False)
    from transformers import AddedToken

    return RobertaTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
        unk_token="<unk>", pad_token="<pad>", mask_token=AddedToken("<mask>", lstrip=True), model_max_length=512,
    )


CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
"""ChatML turns, the format of the Qwen1.5 tokenizers' template (written here, no default system turn)."""


def qwen2_tokenizer(texts: list[str]) -> Qwen2TokenizerFast:
    """Qwen1.5's format: byte-level BPE, no BOS and no mask, <|endoftext|> as EOS and padding."""
    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    backend = _bpe(texts, special)
    return Qwen2TokenizerFast(
        tokenizer_object=backend, eos_token="<|endoftext|>", pad_token="<|endoftext|>", unk_token=None,
        bos_token=None, model_max_length=32768,
    )


def bert_uncased_tokenizer(texts: list[str]) -> BertTokenizerFast:
    """bert-base-uncased's format: lower-cased, accent-stripped WordPiece, [CLS] text [SEP]."""
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True, clean_text=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=VOCAB_SIZE, special_tokens=special, show_progress=False,
                                        initial_alphabet=list("abcdefghijklmnopqrstuvwxyz0123456789"))
    backend.train_from_iterator(texts, trainer=trainer)
    backend.post_processor = processors.BertProcessing(("[SEP]", backend.token_to_id("[SEP]")),
                                                       ("[CLS]", backend.token_to_id("[CLS]")))
    return BertTokenizerFast(tokenizer_object=backend, do_lower_case=True, unk_token="[UNK]", sep_token="[SEP]",
                             pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]", model_max_length=512)


# --------------------------------------------------------------------------------------------
# random-weight models of the real architectures at toy sizes
# --------------------------------------------------------------------------------------------

_TOY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
_TOY_LARGE = dict(hidden_size=48, num_hidden_layers=3, num_attention_heads=3, intermediate_size=96)


def _save(model, tokenizer, out: Path, *, chat_template: str | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if chat_template:
        tokenizer.chat_template = chat_template
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def build_models(root: Path, texts: list[str], *, seed: int) -> None:
    modern = modernbert_tokenizer(texts)
    ids = lambda tok: dict(pad_token_id=tok.pad_token_id, bos_token_id=tok.cls_token_id,  # noqa: E731
                           eos_token_id=tok.sep_token_id, cls_token_id=tok.cls_token_id, sep_token_id=tok.sep_token_id)
    # the real ModernBERTs' attention pattern: global every third layer, a 128-token local window
    for hub_id, shape, template in [
        ("answerdotai/ModernBERT-base", _TOY, None),
        ("answerdotai/ModernBERT-large", _TOY_LARGE, None),
        ("dllm-collection/ModernBERT-large-chat-v0", _TOY_LARGE, CHAT_TEMPLATE),
    ]:
        torch.manual_seed(seed)
        config = ModernBertConfig(vocab_size=len(modern), max_position_embeddings=8192, global_attn_every_n_layers=3,
                                  local_attention=128, **shape, **ids(modern))
        _save(ModernBertForMaskedLM(config), modern, root / hub_id, chat_template=template)

    torch.manual_seed(seed)
    bert = bert_uncased_tokenizer(texts)
    config = BertConfig(vocab_size=len(bert), max_position_embeddings=512, pad_token_id=bert.pad_token_id, **_TOY)
    _save(BertForMaskedLM(config), bert, root / "google-bert/bert-base-uncased")

    torch.manual_seed(seed)
    roberta = roberta_tokenizer(texts)
    config = RobertaConfig(vocab_size=len(roberta), max_position_embeddings=514, type_vocab_size=1,
                           pad_token_id=roberta.pad_token_id, bos_token_id=roberta.bos_token_id,
                           eos_token_id=roberta.eos_token_id, **_TOY)
    _save(RobertaForMaskedLM(config), roberta, root / "FacebookAI/roberta-base")

    # the seed's autoregressive baseline (notebook 05 scores it through lm-eval's own HFLM)
    torch.manual_seed(seed)
    qwen = qwen2_tokenizer(texts)
    config = Qwen2Config(vocab_size=len(qwen), max_position_embeddings=32768, tie_word_embeddings=True,
                         num_key_value_heads=_TOY["num_attention_heads"], bos_token_id=qwen.eos_token_id,
                         eos_token_id=qwen.eos_token_id, pad_token_id=qwen.pad_token_id, **_TOY)
    _save(Qwen2ForCausalLM(config), qwen, root / "Qwen/Qwen1.5-0.5B", chat_template=CHATML_TEMPLATE)


# --------------------------------------------------------------------------------------------
# data sets in the hub layouts
# --------------------------------------------------------------------------------------------


def _parquet(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_list(rows).to_parquet(str(path))


def build_wikitext(root: Path, train: list[str], held_out: list[str]) -> None:
    """wikitext-103-raw-v1's layout: one row per line, ' = Title = ' headings, blank rows."""
    folder = root / SMOKE_STANDINS["wikitext-103"]

    def lines(articles: list[str]) -> list[dict]:
        rows = []
        for i, article in enumerate(articles):
            rows += [{"text": ""}, {"text": f" = Article {i} = \n"}, {"text": ""}]
            for paragraph in article.split("\n"):
                rows += [{"text": f" {paragraph} \n"}, {"text": ""}]
        return rows

    half = len(held_out) // 2
    train_rows = lines(train)
    cut = len(train_rows) // 2  # two training shards, as on the hub
    _parquet(train_rows[:cut], folder / "train-00000-of-00002.parquet")
    _parquet(train_rows[cut:], folder / "train-00001-of-00002.parquet")
    _parquet(lines(held_out[:half]), folder / "validation-00000-of-00001.parquet")
    _parquet(lines(held_out[half:]), folder / "test-00000-of-00001.parquet")


def _sentences(articles: list[str]) -> list[str]:
    out = []
    for article in articles:
        for paragraph in article.split("\n"):
            out += [s.strip().rstrip(".") + "." for s in paragraph.split(". ") if 6 <= len(s.split()) <= 30]
    return out


def _instruction(rng: random.Random, sentence: str) -> tuple[str, str, str]:
    """(instruction, input, output) from one of a few project-authored templates over a sentence."""
    words = sentence.rstrip(".").split()
    kind = rng.randrange(5)
    if kind == 0:
        return "Repeat the following sentence.", sentence, sentence
    if kind == 1:
        return "What is the first word of the sentence below?", sentence, words[0]
    if kind == 2:
        return "How many words does this sentence have?", sentence, str(len(words))
    if kind == 3:
        return f"Continue this text: {' '.join(words[: len(words) // 2])}", "", " ".join(words[len(words) // 2 :]) + "."
    return "Write the last word of the sentence.", sentence, words[-1]


def _alpaca_text(instruction: str, inp: str, output: str) -> str:
    # the layout of Alpaca's `text` column (the prompt it was written with), worded here
    if inp:
        return (f"An instruction and an input follow. Answer the instruction.\n\n### Instruction:\n{instruction}\n\n"
                f"### Input:\n{inp}\n\n### Response:\n{output}")
    return f"An instruction follows. Answer it.\n\n### Instruction:\n{instruction}\n\n### Response:\n{output}"


def build_chat_data(root: Path, sentences: list[str], *, seed: int, rows: int = 240) -> None:
    rng = random.Random(seed)
    alpaca = []
    for _ in range(rows):
        instruction, inp, output = _instruction(rng, rng.choice(sentences))
        alpaca.append({"instruction": instruction, "input": inp, "output": output,
                       "text": _alpaca_text(instruction, inp, output)})
    _parquet(alpaca, root / "tatsu-lab/alpaca/data/train-00000-of-00001-smoke.parquet")

    def conversation(i: int, source: str) -> dict:
        turns = 1 + (i % 3 == 0)  # every third conversation has two exchanges
        messages = [{"role": "system", "content": "You are a helpful assistant."}] if i % 4 == 0 else []
        for _ in range(turns):
            instruction, inp, output = _instruction(rng, rng.choice(sentences))
            messages += [{"role": "user", "content": f"{instruction}\n\n{inp}".strip()},
                         {"role": "assistant", "content": output}]
        return {"id": f"{source}_{i}", "messages": messages, "source": source}

    tulu = [conversation(i, "smoke_tulu") for i in range(rows)]
    _parquet(tulu, root / "allenai/tulu-3-sft-mixture/data/train-00000-of-00001.parquet")
    smoltalk = [{k: v for k, v in conversation(i, "smoke_smoltalk").items() if k != "id"} for i in range(rows + 40)]
    _parquet(smoltalk[:rows], root / "HuggingFaceTB/smoltalk/data/all/train-00000-of-00001.parquet")
    _parquet(smoltalk[rows:], root / "HuggingFaceTB/smoltalk/data/all/test-00000-of-00001.parquet")


def build(root: Path, *, seed: int = 0) -> Path:
    """Write every stand-in under ``root`` and return it."""
    train, held_out = _articles()
    # a slice of the sample keeps tokenising and training seconds long; validation keeps enough
    # text for notebook 01's 232 held-out blocks of the profile's 32 tokens
    train = train[:20]
    build_models(root, train, seed=seed)
    build_wikitext(root, train, held_out)
    build_chat_data(root, _sentences(train), seed=seed)
    (root / "smoke_assets.json").write_text(json.dumps({"seed": seed, "standins": SMOKE_STANDINS}, indent=2) + "\n")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="default: $DLM_KIT_SMOKE_DIR or ~/.cache/dlm_kit/smoke")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    root = build(args.out or smoke_dir(), seed=args.seed)
    size = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    print(f"smoke stand-ins in {root} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
