"""English instruction data made offline: teacher answers and checkable Wikipedia families.

The `tiny` profile's synthetic tasks have one-token answers, or answers fixed token by token by
the prompt, where filling every masked position independently works as well as diffusion. This
module gives a pretrained BERT real English to learn from:

- **open questions** (facts, definitions, explanations, lists, rewrites, greetings, advice, short
  descriptions; :mod:`dlm_kit.english_prompts`, written for this project) answered by the offline
  teacher SmolLM2-135M-Instruct (``scripts/make_english_chat.py``; the answers are committed in
  ``data/english_chat/teacher_answers.jsonl``). No exact answer: judged by SmolLM2
  (:func:`dlm_kit.judges.answer_logprob`) beside repetition statistics.
- **checkable families** built at load time from the English Wikipedia sample in gensim's test
  data (CC BY-SA 4.0; read from the installed package, never copied here). Each answer is several
  real-English tokens that depend on each other, so an exact match needs the whole answer to agree:

  ==============  ==========================================================  ====================
  family          question                                                     answer
  ==============  ==========================================================  ====================
  ``unscramble``  Put these words in the right order to make a sentence: ...  the sentence
  ``title``       Which Wikipedia article is this sentence from? "..."        the article's title
  ``sort_words``  Sort these words alphabetically: ocean, bridge, music       bridge, music, ocean
  ``fill_span``   Fill in the blank: The city ___ ___ river.                  the two/three words
  ==============  ==========================================================  ====================

Held-out questions never appear in training. ``unscramble``, ``sort_words`` and ``fill_span`` take
held-out sentences from the sample's validation articles (never trained on by any kit recipe);
``title`` asks about the training articles (their titles must be learnt) with sentences that no
training question uses.

    >>> rows = wikipedia_families(n_train=5, n_test=2)
    >>> sorted(set(rows["test"]["family"]))
    ['fill_span', 'sort_words', 'title', 'unscramble']
    >>> english_exact_match("The cat sat.", " the cat  sat")
    True
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import datasets

from .corpora import article_split, gensim_wikipedia_pages
from .paths import ENGLISH_CHAT_DIR, MODELS_DIR

__all__ = [
    "ENGLISH_FAMILIES",
    "TEACHER_ANSWERS",
    "wikipedia_families",
    "teacher_answers",
    "load_english_chat",
    "english_exact_match",
    "load_english_eval",
    "summarize_english_eval",
    "paired_comparison",
]

ENGLISH_FAMILIES = ("unscramble", "title", "sort_words", "fill_span")
"""The checkable Wikipedia families, in the order they are built."""
TEACHER_ANSWERS = ENGLISH_CHAT_DIR / "teacher_answers.jsonl"
"""The committed teacher answers (rebuild with ``python scripts/make_english_chat.py``); the wheel carries a copy."""

_PLAIN_WORD = re.compile(r"^[A-Za-z][A-Za-z'-]*$|^[0-9]{1,4}$")


def english_exact_match(prediction: str, answer: str) -> bool:
    """Equal as lower-case words, ignoring punctuation and spacing (BERT tokenizers lower-case and
    re-space punctuation on decoding)."""
    return _words(prediction) == _words(answer)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _sentences(text: str) -> list[str]:
    """Plain sentences: split at sentence ends, keep those made only of simple words."""
    found = []
    for paragraph in text.split("\n"):
        for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z])", paragraph):
            sentence = sentence.strip()
            if not sentence.endswith("."):
                continue
            words = sentence[:-1].replace(",", "").split()
            if words and all(_PLAIN_WORD.match(w) for w in words):
                found.append(sentence)
    return found


def _eligible_title(title: str) -> bool:
    return len(title) > 1 and "disambiguation" not in title and not title.startswith("List of")


def _unscramble(rng: random.Random, sentence: str) -> tuple[str, str] | None:
    words = sentence[:-1].replace(",", "").split()
    if not 5 <= len(words) <= 10:
        return None
    shuffled = words[:]
    for _ in range(10):
        rng.shuffle(shuffled)
        if shuffled != words:
            break
    else:
        return None
    question = "Put these words in the right order to make a sentence: " + " ".join(w.lower() for w in shuffled)
    return question, " ".join(words) + "."


def _title(rng: random.Random, sentence: str, title: str) -> tuple[str, str] | None:
    if not 8 <= len(sentence.split()) <= 25:
        return None
    return f'Which Wikipedia article is this sentence from? "{sentence}"', title


def _sort_words(rng: random.Random, sentence: str) -> tuple[str, str] | None:
    pool = sorted({w.lower() for w in sentence[:-1].replace(",", "").split() if w.isalpha() and 4 <= len(w) <= 10})
    if len(pool) < 3:
        return None
    picked = rng.sample(pool, rng.choice((3, 4)) if len(pool) >= 4 else 3)
    return "Sort these words alphabetically: " + ", ".join(picked), ", ".join(sorted(picked))


def _fill_span(rng: random.Random, sentence: str) -> tuple[str, str] | None:
    words = sentence[:-1].split()
    if not 8 <= len(words) <= 20:
        return None
    width = rng.choice((2, 3))
    start = rng.randrange(1, len(words) - width)
    span = words[start : start + width]
    if any(not w.replace(",", "").isalnum() for w in span):
        return None
    blanked = words[:start] + ["___"] * width + words[start + width :]
    return "Fill in the blank: " + " ".join(blanked) + ".", " ".join(w.replace(",", "") for w in span)


def wikipedia_families(
    families: tuple[str, ...] = ENGLISH_FAMILIES, *, n_train: int = 1000, n_test: int = 100, seed: int = 0
) -> datasets.DatasetDict:
    """Seeded train/test questions of the checkable families (``n_train`` / ``n_test`` per family).

    Rows: ``messages``, ``family``, ``category`` (= family), ``answer``, ``checkable`` (True).
    """
    unknown = [f for f in families if f not in ENGLISH_FAMILIES]
    if unknown:
        raise ValueError(f"Unknown English families {unknown}; choose from {list(ENGLISH_FAMILIES)}.")
    train_pages, test_pages = article_split(gensim_wikipedia_pages())  # as load_text_corpus("gensim-wikipedia")
    titled = [(title, s) for title, text in train_pages if _eligible_title(title) for s in _sentences(text)]
    splits: dict[str, list[dict]] = {"train": [], "test": []}
    for family in families:
        rng = random.Random(f"{seed}-{family}")
        if family == "title":
            pairs = titled[:]
            rng.shuffle(pairs)
            sources = {"test": pairs[: 4 * n_test], "train": pairs[4 * n_test :]}
        else:
            train_sentences = [s for _, text in train_pages for s in _sentences(text)]
            test_sentences = [s for _, text in test_pages for s in _sentences(text)]
            rng.shuffle(train_sentences)
            rng.shuffle(test_sentences)
            sources = {"test": [(None, s) for s in test_sentences], "train": [(None, s) for s in train_sentences]}
        seen: set[str] = set()
        for split, wanted in (("test", n_test), ("train", n_train)):
            made = 0
            for title, sentence in sources[split]:
                if made == wanted:
                    break
                if family == "title":
                    item = _title(rng, sentence, title)
                else:
                    item = {"unscramble": _unscramble, "sort_words": _sort_words, "fill_span": _fill_span}[family](rng, sentence)
                if item is None or item[0] in seen:
                    continue
                seen.add(item[0])
                question, answer = item
                splits[split].append(_row(question, answer, family, family, checkable=True))
                made += 1
            if made < wanted:
                raise ValueError(f"Family {family!r} has only {made} {split} questions; ask for at most that many.")
    random.Random(seed).shuffle(splits["train"])
    return datasets.DatasetDict({k: datasets.Dataset.from_list(v) for k, v in splits.items()})


def _row(question: str, answer: str, family: str, category: str, *, checkable: bool) -> dict:
    return {
        "messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}],
        "family": family,
        "category": category,
        "answer": answer,
        "checkable": checkable,
    }


def teacher_answers(path: str | Path = TEACHER_ANSWERS) -> datasets.DatasetDict:
    """The teacher's answers to the open questions as train/test chat rows (family ``open``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: it is made by `python scripts/make_english_chat.py` (~20 min on 2 CPU "
            "cores) and committed in the dlm-kit repository's data/english_chat/ folder."
        )
    splits: dict[str, list[dict]] = {"train": [], "test": []}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        record = json.loads(line)
        if record.get("split") not in splits or not record.get("answer", "").strip():
            if record.get("split") not in splits:
                raise ValueError(f"{path}:{number}: split={record.get('split')!r}; expected 'train' or 'test'.")
            continue  # the teacher said nothing: nothing to learn
        splits[record["split"]].append(_row(record["prompt"], record["answer"], "open", record["category"], checkable=False))
    return datasets.DatasetDict({k: datasets.Dataset.from_list(v) for k, v in splits.items()})


def load_english_chat(
    *,
    families: tuple[str, ...] = ENGLISH_FAMILIES,
    n_train: int = 1000,
    n_test: int = 100,
    teacher: bool = True,
    teacher_path: str | Path = TEACHER_ANSWERS,
    seed: int = 0,
) -> datasets.DatasetDict:
    """English instructions for SFT: teacher answers (``teacher=True``) and the Wikipedia families.

    ``n_train`` / ``n_test`` are per Wikipedia family; every teacher answer is used, in its split
    (20 held-out questions per category). Train rows are shuffled (seeded); test rows keep the
    families together. Columns: ``messages``, ``family`` (a Wikipedia family or ``open``),
    ``category``, ``answer``, ``checkable``.
    """
    families = tuple(families)
    unknown = [f for f in families if f not in ENGLISH_FAMILIES]
    if unknown or not (families or teacher):
        raise ValueError(f"families={families!r}: choose one or more of {ENGLISH_FAMILIES}"
                         + (" (or teacher=True for the open questions alone)." if not unknown else "."))
    if not families:  # the open questions alone
        return teacher_answers(teacher_path)
    wiki = wikipedia_families(families, n_train=n_train, n_test=n_test, seed=seed)
    if not teacher:
        return wiki
    open_rows = teacher_answers(teacher_path)
    merged = {}
    for split in ("train", "test"):
        merged[split] = datasets.concatenate_datasets([wiki[split], open_rows[split].cast(wiki[split].features)])
    merged["train"] = merged["train"].shuffle(seed=seed)
    test_questions = {m[0]["content"] for m in merged["test"]["messages"]}
    overlap = [m[0]["content"] for m in merged["train"]["messages"] if m[0]["content"] in test_questions]
    if overlap:
        raise ValueError(f"{len(overlap)} held-out questions also appear in training, e.g. {overlap[0]!r}.")
    return datasets.DatasetDict(merged)


def summarize_english_eval(record: dict, *, systems: list[str] | None = None) -> dict[str, dict]:
    """Per system: exact match per checkable family (k, n, 95 % interval) and, on open questions,
    the judge score (mean, 95 % interval, n scored, n empty), the relevance (judge score minus the
    judge score of the same answer given another question: repeated filler scores well on the
    judge whatever was asked, and near 0 here), answer length and repetition.

    ``record`` is what ``scripts/eval_bert_chat.py`` writes (``models/bert-chat/eval.json``):
    per-question answers, exact-match flags and judge scores for each system.
    """
    from .judges import repetition_stats
    from .stats import mean_interval, wilson_interval

    questions = record["questions"]
    families = [f for f in ENGLISH_FAMILIES if any(q["family"] == f for q in questions)]
    summary: dict[str, dict] = {}
    for name in systems or list(record["systems"]):
        result = record["systems"][name]
        row: dict = {"exact": {}}
        for family in families + ["all checkable"]:
            flags = [e for q, e in zip(questions, result["exact"]) if e is not None and (family == "all checkable" or q["family"] == family)]
            if flags:
                k, n = sum(flags), len(flags)
                row["exact"][family] = {"k": k, "n": n, "rate": k / n, "interval": wilson_interval(k, n)}
        open_answers = [a for q, a in zip(questions, result["answers"]) if q["family"] == "open"]
        scores = [s for q, s in zip(questions, result["judge"]) if q["family"] == "open" and s is not None]
        if len(scores) >= 2:
            mean, low, high = mean_interval(scores)
            row["judge"] = {"mean": mean, "interval": (low, high), "n": len(scores), "empty": len(open_answers) - len(scores)}
            texts = [a for a in open_answers if a]
            row["words_per_answer"] = sum(len(a.split()) for a in texts) / max(len(texts), 1)
            row["repetition"] = repetition_stats(texts)
        relevance = _relevance(questions, result)
        if len(relevance) >= 2:
            mean, low, high = mean_interval(list(relevance.values()))
            row["relevance"] = {"mean": mean, "interval": (low, high), "n": len(relevance)}
        shuffled = [s for q, s in zip(questions, result.get("judge_words_shuffled") or []) if q["family"] == "open" and s is not None]
        if len(shuffled) >= 2:
            mean, low, high = mean_interval(shuffled)
            row["judge_words_shuffled"] = {"mean": mean, "interval": (low, high), "n": len(shuffled)}
        summary[name] = row
    return summary


def load_english_eval(path: str | Path | None = None) -> dict:
    """The per-question results of ``scripts/eval_bert_chat.py`` (default: ``models/bert-chat/eval.json``, which it writes; the record of the first round's models is ``docs/results_round1_english_eval.json``)."""
    path = Path(path) if path is not None else MODELS_DIR / "bert-chat" / "eval.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `python scripts/eval_bert_chat.py` (~15 min on 2 CPU cores).")
    return json.loads(path.read_text())


def _relevance(questions: list[dict], result: dict) -> dict[int, float]:
    """Question index → judge score minus judge score given another question (both present)."""
    other = result.get("judge_other_question") or []
    return {
        i: s - o for i, (q, s, o) in enumerate(zip(questions, result["judge"], other))
        if q["family"] == "open" and s is not None and o is not None
    }


def paired_comparison(record: dict, a: str, b: str) -> dict[str, dict]:
    """System ``a`` minus system ``b`` on the same held-out questions, with 95 % intervals.

    ``exact``: difference in exact-match rate over every checkable question; ``judge``: mean
    difference in judge score over the open questions both answered (non-empty); ``relevance``:
    the same for the relevance of :func:`summarize_english_eval`.
    """
    from .stats import paired_difference

    ra, rb = record["systems"][a], record["systems"][b]
    exact_pairs = [(x, y) for x, y in zip(ra["exact"], rb["exact"]) if x is not None and y is not None]
    judge_pairs = [(x, y) for x, y in zip(ra["judge"], rb["judge"]) if x is not None and y is not None]
    result = {}
    if len(exact_pairs) >= 2:
        diff, low, high = paired_difference([float(x) for x, _ in exact_pairs], [float(y) for _, y in exact_pairs])
        result["exact"] = {"difference": diff, "interval": (low, high), "n": len(exact_pairs)}
    if len(judge_pairs) >= 2:
        diff, low, high = paired_difference([x for x, _ in judge_pairs], [y for _, y in judge_pairs])
        result["judge"] = {"difference": diff, "interval": (low, high), "n": len(judge_pairs)}
    rel_a, rel_b = _relevance(record["questions"], ra), _relevance(record["questions"], rb)
    both = sorted(set(rel_a) & set(rel_b))
    if len(both) >= 2:
        diff, low, high = paired_difference([rel_a[i] for i in both], [rel_b[i] for i in both])
        result["relevance"] = {"difference": diff, "interval": (low, high), "n": len(both)}
    return result
