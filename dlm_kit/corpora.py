"""Corpora: raw text and synthetic tasks, before any tokenizer sees them.

Two sources the kit reads without a tokenizer:

1. **Text corpora** for continual MDLM pretraining (:func:`load_text_corpus`): wikitext-103 in the
   ``full`` profile; in ``tiny`` the English Wikipedia sample that ships in gensim's test data
   (:func:`gensim_wikipedia_pages`: 106 articles, ~480K words; Wikipedia text is CC BY-SA 4.0,
   https://en.wikipedia.org, loaded at run time, never copied into this repo), split 90/10 by
   :func:`article_split`.
2. **Synthetic instruction tasks** written for this project (:func:`make_synthetic_tasks`):
   families of graded difficulty whose answers can be checked exactly (:func:`exact_match`).

    >>> ds = make_synthetic_tasks(["sort", "add"], n_train=8, n_test=4, seed=0)
    >>> ds["test"][0]["messages"][0]["role"], len(ds["train"])  # 8 per family
    ('user', 16)

:mod:`dlm_kit.data` turns both into tokens (and re-exports these names).
"""

from __future__ import annotations

import bz2
import random
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal, TypeVar

import datasets

__all__ = [
    "DataFormatError",
    "gensim_wikipedia_pages",
    "article_split",
    "load_text_corpus",
    "SYNTHETIC_FAMILIES",
    "make_synthetic_tasks",
    "exact_match",
]

T = TypeVar("T")


class DataFormatError(ValueError):
    """A record does not have the fields a chat or text dataset needs; says where and why."""


# --------------------------------------------------------------------------------------------
# 1. Text corpora for continual MDLM pretraining
# --------------------------------------------------------------------------------------------

_GENSIM_WIKI = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
_WIKITEXT = {"wikitext-103": "wikitext-103-raw-v1", "wikitext-2": "wikitext-2-raw-v1"}


def _gensim_wikipedia_articles() -> list[str]:
    """The English Wikipedia sample in gensim's test data, as clean paragraphs per article."""
    return [text for _title, text in gensim_wikipedia_pages()]


def gensim_wikipedia_pages() -> list[tuple[str, str]]:
    """``(title, text)`` of each article of gensim's Wikipedia sample (redirects dropped; paragraphs
    of at least five words, one per line). Text CC BY-SA 4.0, Wikipedia contributors."""
    try:
        from gensim.corpora.wikicorpus import extract_pages, filter_wiki
        from gensim.test.utils import datapath
    except ImportError as err:
        raise ImportError(
            "The 'gensim-wikipedia' corpus needs gensim: pip install 'dlm-kit[tiny]'."
        ) from err
    articles = []
    with bz2.open(datapath(_GENSIM_WIKI), "rb") as dump:
        for title, markup, _pageid in extract_pages(dump):
            text = filter_wiki(markup)
            if text.lstrip().lower().startswith("#redirect"):
                continue
            text = re.sub(r"'{2,}", "", text)  # bold / italic quotes
            text = re.sub(r"^=+\s*(.*?)\s*=+\s*$", r"\1", text, flags=re.M)  # headings
            paragraphs = [" ".join(p.split()) for p in text.split("\n")]
            articles.append((title, "\n".join(p for p in paragraphs if len(p.split()) >= 5)))
    return articles


def article_split(articles: Sequence[T]) -> tuple[list[T], list[T]]:
    """The kit's 90/10 split of gensim's Wikipedia sample: ``(train, validation)`` by position.

    The first 90 % of the articles (rounded down) train; the rest are held out. One split for
    the text corpus (:func:`load_text_corpus`) and the English families
    (:func:`dlm_kit.english.wikipedia_families`), so no held-out question comes from a trained article.

    >>> article_split(list(range(10)))
    ([0, 1, 2, 3, 4, 5, 6, 7, 8], [9])
    """
    articles = list(articles)
    cut = int(len(articles) * 0.9)
    return articles[:cut], articles[cut:]


def load_text_corpus(source: str, *, split: Literal["train", "validation"] = "train") -> datasets.Dataset:
    """A text corpus as a ``datasets.Dataset`` with a ``text`` column.

    ``source``: ``"gensim-wikipedia"`` (offline; articles split 90/10 into train/validation by
    position), ``"wikitext-103"`` / ``"wikitext-2"`` (hub), or a local ``.txt`` file (one
    document per blank-line-separated block), ``.jsonl``/``.json``/``.parquet`` file or folder
    with a ``text`` column (e.g. a downloaded copy of wikitext).

    >>> load_text_corpus("gensim-wikipedia", split="validation").num_rows > 5
    True
    """
    if split not in ("train", "validation"):
        raise ValueError(f"split={split!r}; choose 'train' or 'validation'.")
    if source == "gensim-wikipedia":
        train, validation = article_split(_gensim_wikipedia_articles())
        return datasets.Dataset.from_dict({"text": train if split == "train" else validation})
    if source in _WIKITEXT:
        return datasets.load_dataset("Salesforce/wikitext", _WIKITEXT[source], split=split)
    path = Path(source)
    if path.suffix == ".txt" and path.is_file():
        docs = [d.strip() for d in path.read_text(encoding="utf-8").split("\n\n") if d.strip()]
        return datasets.Dataset.from_dict({"text": docs})
    if path.is_file():
        builder = {".jsonl": "json", ".json": "json", ".parquet": "parquet"}.get(path.suffix)
        if builder is None:
            raise ValueError(f"{path}: unsupported corpus file type {path.suffix!r}; use .txt, .jsonl, .json or .parquet.")
        ds = datasets.load_dataset(builder, data_files=str(path), split="train")
    elif path.is_dir():
        ds = datasets.load_dataset(str(path), split=split)
    else:
        raise ValueError(
            f"Unknown corpus {source!r}: use 'gensim-wikipedia', 'wikitext-103', 'wikitext-2' or a local path."
        )
    if "text" not in ds.column_names:
        raise DataFormatError(f"{source}: no 'text' column (columns: {ds.column_names}).")
    return ds


# --------------------------------------------------------------------------------------------
# 2. Synthetic instruction tasks (project-authored) with checkable answers
# --------------------------------------------------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _letters(rng: random.Random, n: int) -> list[str]:
    return rng.sample(_LETTERS, n)


def _copy(rng: random.Random) -> tuple[str, str]:
    word = _letters(rng, rng.randint(3, 6))
    return f"Copy the letters: {' '.join(word)}", " ".join(word)


def _maximum(rng: random.Random) -> tuple[str, str]:
    digits = [str(rng.randint(0, 9)) for _ in range(5)]
    return f"What is the largest digit in {' '.join(digits)}?", max(digits)


def _reverse(rng: random.Random) -> tuple[str, str]:
    word = _letters(rng, 6)
    return f"Reverse the letters: {' '.join(word)}", " ".join(reversed(word))


def _sort(rng: random.Random) -> tuple[str, str]:
    word = _letters(rng, 6)
    return f"Sort the letters: {' '.join(word)}", " ".join(sorted(word))


def _add(rng: random.Random) -> tuple[str, str]:
    a, b = rng.randint(10, 99), rng.randint(10, 99)
    return f"What is {a} + {b}?", str(a + b)


SYNTHETIC_FAMILIES: dict[str, tuple[str, Callable[[random.Random], tuple[str, str]]]] = {
    "copy": ("easy", _copy),
    "maximum": ("easy", _maximum),
    "reverse": ("medium", _reverse),
    "sort": ("medium", _sort),
    "add": ("hard", _add),
}
"""name → (difficulty, generator(rng) → (question, answer))."""


def make_synthetic_tasks(
    families: Sequence[str] | None = None, *, n_train: int = 2000, n_test: int = 200, seed: int = 0
) -> datasets.DatasetDict:
    """Seeded train/test splits of the synthetic tasks; no question appears in both.

    ``n_train`` / ``n_test`` are per family. Rows: ``messages``, ``family``, ``difficulty``,
    ``answer``.

    >>> ds = make_synthetic_tasks(["sort"], n_train=3, n_test=1, seed=1)
    >>> ds["test"][0]["family"], ds["test"][0]["difficulty"]
    ('sort', 'medium')
    """
    for name, value in (("n_train", n_train), ("n_test", n_test)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{name}={value!r}: use a whole number of questions per family, 0 or more.")
    families = list(families or SYNTHETIC_FAMILIES)
    unknown = [f for f in families if f not in SYNTHETIC_FAMILIES]
    if unknown:
        raise ValueError(f"Unknown task families {unknown}; choose from {list(SYNTHETIC_FAMILIES)}.")
    splits: dict[str, list[dict]] = {"train": [], "test": []}
    for family in families:
        difficulty, generate = SYNTHETIC_FAMILIES[family]
        rng = random.Random(f"{seed}-{family}")
        pool: dict[str, str] = {}
        for _ in range(50 * (n_train + n_test)):  # bounded: small families may run out
            question, answer = generate(rng)
            pool.setdefault(question, answer)
            if len(pool) == n_train + n_test:
                break
        if len(pool) < n_train + n_test:
            raise ValueError(f"Family {family!r} has only {len(pool)} distinct questions; ask for fewer.")
        for i, (question, answer) in enumerate(pool.items()):
            row = {
                "messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}],
                "family": family,
                "difficulty": difficulty,
                "answer": answer,
            }
            splits["test" if i < n_test else "train"].append(row)
    random.Random(seed).shuffle(splits["train"])
    return datasets.DatasetDict({k: datasets.Dataset.from_list(v) for k, v in splits.items()})


def exact_match(prediction: str, answer: str) -> bool:
    """Whitespace- and case-insensitive equality (tokenizers may space letters differently).

    >>> exact_match(" A b  c", "a b c")
    True
    """
    return "".join(prediction.lower().split()) == "".join(answer.lower().split())
