"""Data: chat datasets and text corpora → tokens, with prompt labels = -100 (:data:`IGNORE_INDEX`).

Three kinds of data feed a diffusion BERT:

1. **Instruction data** (SFT). Alpaca rows (``instruction``/``input``/``output``) and Tulu-3 /
   SmolTalk rows (``messages``), from the hub or local JSON/JSONL, all become chat ``messages``
   (:func:`load_chat_dataset`), then tokens where the prompt is never trained
   (:func:`tokenize_chat`), then padded batches (:class:`SFTCollator`).
2. **Text corpora** for continual MDLM pretraining, cut into token blocks (:func:`group_texts`):
   wikitext-103 in the ``full`` profile, gensim's Wikipedia sample in ``tiny``.
3. **Synthetic instruction tasks** written for this project, whose answers can be checked exactly.

The raw text and the synthetic tasks come from :mod:`dlm_kit.corpora` (``load_text_corpus``,
``make_synthetic_tasks``, ``exact_match``, ``gensim_wikipedia_pages``, ``DataFormatError``; re-exported
here), the English chat data from :mod:`dlm_kit.english` (``load_english_chat``, re-exported).

    >>> ds = make_synthetic_tasks(["sort", "add"], n_train=8, n_test=4, seed=0)
    >>> ds["test"][0]["messages"][0]["role"], len(ds["train"])  # 8 per family
    ('user', 16)

The end-of-answer / padding policy (:class:`SFTCollator`) is a choice, documented there.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import datasets
import torch
from transformers import PreTrainedTokenizerBase

from .corpora import (  # re-exported: the names' old home
    SYNTHETIC_FAMILIES,
    DataFormatError,
    exact_match,
    gensim_wikipedia_pages,
    load_text_corpus,
    make_synthetic_tasks,
)
from .english import load_english_chat  # re-exported

__all__ = [
    "DataFormatError",
    "record_to_messages",
    "load_chat_dataset",
    "load_sft_stage",
    "tokenize_chat",
    "tokenize_chat_dataset",
    "SFTCollator",
    "load_text_corpus",
    "group_texts",
    "SYNTHETIC_FAMILIES",
    "make_synthetic_tasks",
    "exact_match",
    "gensim_wikipedia_pages",
    "load_english_chat",
]

IGNORE_INDEX = -100
"""The label of a position that is never trained (prompts, padding): PyTorch's cross-entropy default."""
ROLES = ("system", "user", "assistant")
# datasets whose hub layout needs a config name
_HUB_CONFIGS = {"HuggingFaceTB/smoltalk": "all"}


# --------------------------------------------------------------------------------------------
# 1. Instruction data → chat messages
# --------------------------------------------------------------------------------------------


def record_to_messages(record: Any, *, where: str = "record") -> list[dict[str, str]]:
    """One Alpaca or ``messages`` record → a validated list of ``{"role", "content"}``.

    ``where`` names the record in errors (``"data.jsonl, line 3"``).

    >>> record_to_messages({"instruction": "Add 2 and 3.", "input": "", "output": "5"})
    [{'role': 'user', 'content': 'Add 2 and 3.'}, {'role': 'assistant', 'content': '5'}]
    """
    if not isinstance(record, dict):
        raise DataFormatError(f"{where}: expected a JSON object, got {type(record).__name__}.")
    if "messages" in record:
        return _validate_messages(record["messages"], where)
    if "instruction" in record or "output" in record:
        for key in ("instruction", "output"):
            if not isinstance(record.get(key), str) or not record[key].strip():
                raise DataFormatError(
                    f"{where}, field {key!r}: Alpaca records need a non-empty string "
                    f"'instruction' and 'output' (got {record.get(key)!r})."
                )
        extra = record.get("input") or ""
        if not isinstance(extra, str):
            raise DataFormatError(f"{where}, field 'input': expected a string, got {type(extra).__name__}.")
        prompt = record["instruction"].strip() + (f"\n\n{extra.strip()}" if extra.strip() else "")
        return [{"role": "user", "content": prompt}, {"role": "assistant", "content": record["output"]}]
    raise DataFormatError(
        f"{where}: no 'messages' field (Tulu-3 / SmolTalk format) and no 'instruction'/'output' "
        f"fields (Alpaca format); fields present: {sorted(record)}."
    )


def _validate_messages(messages: Any, where: str) -> list[dict[str, str]]:
    """The messages as plain dicts, or a DataFormatError naming the first field that is wrong."""
    if not isinstance(messages, (list, tuple)) or not messages:
        raise DataFormatError(f"{where}, field 'messages': expected a non-empty list of messages like "
                              f"[{{'role': 'user', 'content': '...'}}, {{'role': 'assistant', 'content': '...'}}], "
                              f"got {type(messages).__name__}.")
    clean = []
    for i, message in enumerate(messages):
        field = f"messages[{i}]"
        if not isinstance(message, Mapping):
            raise DataFormatError(f"{where}, field {field!r}: expected an object with 'role' and 'content'.")
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise DataFormatError(f"{where}, field '{field}.role': {role!r} is not one of {ROLES}.")
        if not isinstance(content, str):
            raise DataFormatError(
                f"{where}, field '{field}.content': expected a string, got {type(content).__name__}."
            )
        clean.append({"role": role, "content": content})
    if clean[-1]["role"] != "assistant":
        raise DataFormatError(
            f"{where}, field 'messages': the last message must be the assistant's answer to train "
            f"on, got role {clean[-1]['role']!r}."
        )
    if not any(m["role"] == "user" for m in clean):
        raise DataFormatError(f"{where}, field 'messages': no user message before the answer.")
    return clean


def _read_json_records(path: Path) -> Iterable[tuple[str, Any]]:
    """Yield (where, record) from a .jsonl or .json (a list of objects) file with line numbers."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise DataFormatError(f"{path}, line {line}: not UTF-8 text ({err.reason} at byte {err.start}); "
                              "save the file as UTF-8.") from None
    if path.suffix == ".jsonl":
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataFormatError(f"{path}, line {lineno}: invalid JSON ({err.msg}).") from None
            yield f"{path}, line {lineno}", record
        return
    try:
        records = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataFormatError(f"{path}, line {err.lineno}: invalid JSON ({err.msg}).") from None
    if not isinstance(records, list):
        raise DataFormatError(f"{path}, line 1: expected a JSON list of records, got {type(records).__name__}.")
    # locate each top-level record's first line for error messages
    decoder, pos, lines = json.JSONDecoder(), text.index("[") + 1, []
    for _ in records:
        while text[pos] in " \t\r\n,":
            pos += 1
        lines.append(text.count("\n", 0, pos) + 1)
        _, pos = decoder.raw_decode(text, pos)
    for lineno, record in zip(lines, records):
        yield f"{path}, line {lineno}", record


def load_chat_dataset(
    source: str, *, split: str = "train", limit: int | None = None, seed: int = 0
) -> datasets.Dataset:
    """Load instruction data as a ``datasets.Dataset`` with one ``messages`` column.

    ``source`` is ``"synthetic"`` (the project's tasks), a local ``.json``/``.jsonl`` file or a
    folder of such files / parquet shards, or a hub id (``tatsu-lab/alpaca``,
    ``allenai/tulu-3-sft-mixture``, ``HuggingFaceTB/smoltalk``). Malformed records raise
    :class:`DataFormatError` naming the file, line and field.

    >>> load_chat_dataset("synthetic", split="test", limit=2).num_rows
    2
    """
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise ValueError(f"limit={limit!r}: use a whole number of rows, at least 1, or None for all of them.")
    if source == "synthetic":
        ds = make_synthetic_tasks(seed=seed)[split]
        return ds.select(range(min(limit, len(ds)))) if limit else ds
    path = Path(source)
    if path.is_file():
        if path.suffix not in (".json", ".jsonl"):
            raise DataFormatError(f"{path}: unsupported file type {path.suffix!r}; use .json or .jsonl.")
        rows = []
        for where, record in _read_json_records(path):
            rows.append({"messages": record_to_messages(record, where=where)})
            if limit and len(rows) >= limit:
                break
        if not rows:
            raise DataFormatError(f"{path}: no records found.")
        return datasets.Dataset.from_list(rows)
    if path.is_dir():
        raw = datasets.load_dataset(str(path), split=split)
        name = str(path)
    else:  # a hub id; needs internet (the `full` profile)
        raw = datasets.load_dataset(source, _HUB_CONFIGS.get(source), split=split)
        name = source
    if limit:
        raw = raw.select(range(min(limit, len(raw))))
    rows = [
        {"messages": record_to_messages(record, where=f"{name} [{split}], row {i}")}
        for i, record in enumerate(raw)
    ]
    return datasets.Dataset.from_list(rows)


def load_sft_stage(
    sources: Sequence[str], *, split: str = "train", limit_per_source: int | None = None, seed: int = 0
) -> datasets.Dataset:
    """Several chat datasets as one shuffled ``messages`` dataset: one SFT stage.

    The seed trains ModernBERT on Alpaca, then on Tulu-3 and SmolTalk mixed:
    ``[load_sft_stage(s) for s in get_profile("full").sft_stages]``.

    >>> load_sft_stage(["data/fixtures/alpaca_sample.json", "data/fixtures/tulu_sample.jsonl"]).num_rows > 3
    True
    """
    if isinstance(sources, str):
        raise TypeError(f"sources={sources!r}: pass a list of sources, e.g. [{sources!r}].")
    parts = [load_chat_dataset(source, split=split, limit=limit_per_source, seed=seed) for source in sources]
    merged = datasets.concatenate_datasets([part.select_columns(["messages"]) for part in parts])
    return merged.shuffle(seed=seed) if len(parts) > 1 else merged


# --------------------------------------------------------------------------------------------
# 2. Chat messages → tokens; padding policy
# --------------------------------------------------------------------------------------------


def tokenize_chat(
    messages: Sequence[dict[str, str]], tokenizer: PreTrainedTokenizerBase
) -> dict[str, list[int]]:
    """Tokenise a conversation for SFT: the last answer is trained, everything before is not.

    Returns ``input_ids`` and ``labels`` (prompt positions = -100; the answer and its
    end-of-answer tag keep their ids) and ``prompt_length``. The prompt is exactly what
    ``tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True)`` gives, which
    is what a user's prompt looks like at inference.

    >>> from dlm_kit.backbones import build_tiny_tokenizer
    >>> ex = tokenize_chat([{"role": "user", "content": "2+2?"},
    ...                     {"role": "assistant", "content": "4"}], build_tiny_tokenizer())
    >>> ex["labels"][: ex["prompt_length"]] == [-100] * ex["prompt_length"]
    True
    """
    messages = _validate_messages(messages, "tokenize_chat")
    prompt_text = tokenizer.apply_chat_template(list(messages[:-1]), add_generation_prompt=True, tokenize=False)
    full_text = tokenizer.apply_chat_template(list(messages), tokenize=False)
    if not full_text.startswith(prompt_text):
        raise ValueError(
            "The chat template renders the prompt differently inside the full conversation, so "
            "prompt tokens cannot be masked reliably. Fix the template (see dlm_kit.backbones.CHAT_TEMPLATE)."
        )
    prompt_ids = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    input_ids = tokenizer(full_text, add_special_tokens=False)["input_ids"]
    if input_ids[: len(prompt_ids)] != prompt_ids:
        raise ValueError(
            "Tokenising the full conversation changed the prompt's tokens at the answer boundary; "
            "the generation prompt must end on a token boundary (the kit's template ends it with a newline)."
        )
    labels = [IGNORE_INDEX] * len(prompt_ids) + input_ids[len(prompt_ids):]
    return {"input_ids": input_ids, "labels": labels, "prompt_length": len(prompt_ids)}


def tokenize_chat_dataset(
    dataset: datasets.Dataset, tokenizer: PreTrainedTokenizerBase, *, max_length: int | None = None
) -> datasets.Dataset:
    """:func:`tokenize_chat` over a ``messages`` dataset; drops (and reports) over-long examples."""
    columns = getattr(dataset, "column_names", None)
    if columns is not None and "messages" not in columns:
        raise ValueError(
            f"tokenize_chat_dataset: the dataset has columns {columns}; it needs a 'messages' column of chat "
            "messages (dlm_kit.data.load_chat_dataset makes one from Alpaca, Tulu or JSON records)."
        )
    def tokenize_row(row: dict, index: int) -> dict[str, list[int]]:
        try:
            return tokenize_chat(row["messages"], tokenizer)
        except DataFormatError as error:  # say which row, as a JSONL error says which line
            raise DataFormatError(f"row {index}: {error}") from None

    tokenized = dataset.map(tokenize_row, with_indices=True, remove_columns=dataset.column_names,
                            desc="Tokenising conversations")
    if max_length is not None:
        before = len(tokenized)
        tokenized = tokenized.filter(lambda row: len(row["input_ids"]) <= max_length)
        if len(tokenized) < before:
            print(f"tokenize_chat_dataset: dropped {before - len(tokenized)} of {before} examples longer than {max_length} tokens")
    return tokenized


@dataclass
class SFTCollator:
    """Pad a list of tokenised examples into a batch, under an explicit end-of-answer policy.

    ``pad_policy``:

    - ``"pad_as_eos"`` (the reference recipe): padding is filled with the EOS token, trained
      like answer tokens, and visible to attention. The model learns to fill the rest of the
      canvas with EOS, so generation stops by itself. Known downside ("EOS overflow"): since
      most trained tokens of short answers are EOS, a model can learn to end answers early,
      and answers can change with the allowed length; notebook 03 measures it.
    - ``"single_eos"``: one EOS after each answer is trained; the remaining padding is
      excluded from the loss and from attention.

    ``pad_to_length`` pads every batch to a fixed length (e.g. the generation canvas size)
    instead of the longest example, so the amount of trained EOS does not depend on the batch.
    ``answer_length`` instead pads each answer to that many tokens after its prompt (rows need
    ``prompt_length``, as :func:`tokenize_chat` gives), the canvas a user's ``max_new_tokens``
    gives at inference: the model is trained on exactly the padding it will have to write (the
    batch's extra positions beyond a row's canvas are neither attended to nor scored).

    >>> from dlm_kit.backbones import build_tiny_tokenizer
    >>> batch = SFTCollator(build_tiny_tokenizer(), answer_length=3)([
    ...     {"input_ids": [7, 8, 9], "labels": [-100, 8, 9], "prompt_length": 1},
    ...     {"input_ids": [7, 7, 8], "labels": [-100, -100, 8], "prompt_length": 2}])
    >>> batch["attention_mask"].tolist()
    [[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]]

    >>> from dlm_kit.backbones import build_tiny_tokenizer
    >>> collate = SFTCollator(build_tiny_tokenizer())
    >>> batch = collate([{"input_ids": [7, 8, 9], "labels": [-100, 8, 9]},
    ...                  {"input_ids": [7, 8], "labels": [-100, 8]}])
    >>> batch["labels"][1].tolist() == [-100, 8, collate.tokenizer.eos_token_id]
    True
    """

    tokenizer: PreTrainedTokenizerBase
    pad_policy: Literal["pad_as_eos", "single_eos"] = "pad_as_eos"
    pad_to_length: int | None = None
    answer_length: int | None = None

    def __post_init__(self) -> None:
        if self.pad_policy not in ("pad_as_eos", "single_eos"):
            raise ValueError(f"pad_policy={self.pad_policy!r}; choose 'pad_as_eos' or 'single_eos'.")
        if self.answer_length is not None and (self.pad_to_length is not None or self.answer_length < 1):
            raise ValueError(f"answer_length={self.answer_length}: a positive canvas, and not together with pad_to_length.")
        if self.tokenizer.eos_token_id is None or self.tokenizer.pad_token_id is None:
            raise ValueError("SFTCollator needs a tokenizer with EOS and pad tokens; run prepare_tokenizer first.")

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        if not examples:
            raise ValueError("SFTCollator: an empty batch; pass at least one tokenised example.")
        for ex in examples:
            if not (isinstance(ex, Mapping) and "input_ids" in ex and "labels" in ex):
                got = f"fields {sorted(ex)}" if isinstance(ex, Mapping) else f"a {type(ex).__name__}"
                raise ValueError(f"SFTCollator: an example without 'input_ids' and 'labels' ({got}); "
                                 "tokenise chat rows with dlm_kit.data.tokenize_chat_dataset first.")
        eos, pad = self.tokenizer.eos_token_id, self.tokenizer.pad_token_id
        extra = 1 if self.pad_policy == "single_eos" else 0
        longest = max(len(ex["input_ids"]) for ex in examples) + extra
        length = self.pad_to_length or longest
        if self.answer_length is not None:
            if any("prompt_length" not in ex for ex in examples):
                raise ValueError("SFTCollator(answer_length=...) needs each row's prompt_length (dlm_kit.data.tokenize_chat gives it).")
            length = max(longest, max(ex["prompt_length"] + self.answer_length for ex in examples))
        if length < longest:
            raise ValueError(
                f"An example has {longest - extra} tokens (+{extra} EOS) but pad_to_length={self.pad_to_length}; "
                "raise pad_to_length or filter long examples (tokenize_chat_dataset(max_length=...))."
            )
        input_ids = torch.full((len(examples), length), pad, dtype=torch.long)
        labels = torch.full_like(input_ids, IGNORE_INDEX)
        attention_mask = torch.zeros_like(input_ids)
        for row, ex in enumerate(examples):
            n = len(ex["input_ids"])
            input_ids[row, :n] = torch.as_tensor(ex["input_ids"])
            labels[row, :n] = torch.as_tensor(ex["labels"])
            if self.pad_policy == "pad_as_eos":
                # each row's canvas: to the batch's end, or exactly its own answer_length after its prompt
                end = length if self.answer_length is None else max(n, ex["prompt_length"] + self.answer_length)
                input_ids[row, n:end] = eos
                labels[row, n:end] = eos
                attention_mask[row, :end] = 1
            else:
                input_ids[row, n] = eos
                labels[row, n] = eos
                attention_mask[row, : n + 1] = 1
        return {"input_ids": input_ids, "labels": labels, "attention_mask": attention_mask}


# --------------------------------------------------------------------------------------------
# 3. Text corpora → token blocks for continual MDLM pretraining
# --------------------------------------------------------------------------------------------


def group_texts(
    corpus: datasets.Dataset, tokenizer: PreTrainedTokenizerBase, *, seq_length: int
) -> datasets.Dataset:
    """Tokenise a text corpus and cut it into ``seq_length`` blocks; every token is trained.

    Documents are joined with the EOS token between them; the last partial block is dropped.
    """
    if not isinstance(seq_length, int) or seq_length < 2:
        raise ValueError(f"seq_length={seq_length!r}: use a block of at least 2 tokens, e.g. 128.")
    if "text" not in corpus.column_names:
        raise ValueError(f"group_texts: the corpus has columns {corpus.column_names}; it needs a 'text' column.")
    eos = tokenizer.eos_token_id
    ids: list[int] = []
    for text in corpus["text"]:
        if text.strip():
            # verbose=False: whole documents exceed model_max_length before they are cut into blocks
            ids.extend(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"] + [eos])
    blocks = [ids[i : i + seq_length] for i in range(0, len(ids) - seq_length + 1, seq_length)]
    if not blocks:
        raise ValueError(f"The corpus has {len(ids)} tokens, fewer than one block of {seq_length}.")
    return datasets.Dataset.from_dict({"input_ids": blocks, "labels": [list(b) for b in blocks]})

