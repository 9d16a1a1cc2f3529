"""The teacher's answers to :mod:`dlm_kit.teacher_prompts`, filtered, as chat rows; and simple facts to check.

``scripts/make_teacher_data.py`` writes the raw answers of SmolLM2-135M-Instruct to
``data/teacher_chat/answers.jsonl``. :func:`load_teacher_chat` keeps the ones worth learning
from (:func:`answer_problem`: not empty, not a refusal, no loop, no tag; no answer twice) and
splits them by topic (the split of :func:`dlm_kit.teacher_prompts.teacher_prompts`).

:data:`SIMPLE_FACTS` are short questions with a keyword answer (a capital, a colour, a number of
legs...), written for the kit; :func:`simple_facts` keeps those whose topic no training prompt is
about, so a model is checked on facts it was never asked about.

    >>> answer_problem("I'm sorry, but I cannot help with that.")
    'refusal'
    >>> answer_problem("Cats are small pets. They like to sleep.") is None
    True
    >>> keyword_correct("The capital is Paris.", ("paris",))
    True
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path

import datasets

from .paths import TEACHER_CHAT_DIR
from .teacher_prompts import teacher_prompts, topic_names

__all__ = ["TEACHER_CHAT", "answer_problem", "load_teacher_chat", "filter_report", "add_earlier_turns", "refer_back", "SIMPLE_FACTS",
           "simple_facts", "keyword_correct", "repeated_ngram", "distinct_n"]

TEACHER_CHAT = TEACHER_CHAT_DIR / "answers.jsonl"
"""The committed raw teacher answers (rebuild with ``python scripts/make_teacher_data.py``)."""

_REFUSAL = re.compile(
    r"\b(i'?m sorry|i am sorry|i cannot|i can'?t|i can not|as an ai|i'?m an ai|i am an ai|i'?m just an ai|"
    r"i don'?t have (?:personal|the ability|access)|i do not have|i'?m not able|i am not able|i'?m unable)\b",
    re.IGNORECASE,
)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def repeated_ngram(text: str, n: int) -> bool:
    """Whether some word n-gram occurs twice in ``text`` (the repetition rate's unit).

    >>> repeated_ngram("the sea is the sea is blue", 3), repeated_ngram("the sea is blue", 3)
    (True, False)
    """
    words = _words(text)
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    return len(grams) != len(set(grams))


def distinct_n(texts: list[str], n: int = 2) -> float:
    """Distinct word n-grams over all n-grams of ``texts`` (1.0: no n-gram repeats anywhere).

    >>> distinct_n(["a b c", "a b d"], 2)
    0.75
    """
    grams = [tuple(w[i : i + n]) for w in map(_words, texts) for i in range(len(w) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def answer_problem(answer: str, *, question_type: str | None = None) -> str | None:
    """Why a teacher answer is not worth learning from, or None if it is.

    ``'short'`` (fewer than 3 words), ``'refusal'`` (an apology or "as an AI" disclaimer, except
    in greetings, where "I'm an AI assistant" answers "Who are you?"), ``'loop'`` (a word 4-gram
    twice, or a word 3-gram three times), ``'tag'`` (a chat tag inside the answer).
    """
    words = _words(answer)
    if len(words) < 3:
        return "short"
    if question_type != "greet" and _REFUSAL.search(answer):
        return "refusal"
    trigrams = Counter(tuple(words[i : i + 3]) for i in range(len(words) - 2))
    if repeated_ngram(answer, 4) or (trigrams and max(trigrams.values()) >= 3):
        return "loop"
    if re.search(r"\[/?(?:SYS|Question|Answer)\]", answer):
        return "tag"
    return None


def _filtered(path: Path) -> tuple[list[dict], Counter]:
    meta = {row["prompt"]: row for row in teacher_prompts()}
    kept, dropped, seen_answers = [], Counter(), set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        if record.get("prompt") not in meta:
            dropped["not_in_prompt_set"] += 1
            continue
        row = {**record, **meta[record["prompt"]]}  # type/kind/topic/split from the prompt set (the source of truth)
        problem = answer_problem(row.get("answer", ""), question_type=row["type"])
        key = " ".join(_words(row.get("answer", "")))
        if problem is None and key in seen_answers:
            problem = "duplicate"
        if problem:
            dropped[problem] += 1
            continue
        seen_answers.add(key)
        kept.append(row)
    return kept, dropped


def filter_report(path: str | Path = TEACHER_CHAT) -> dict:
    """Counts of what :func:`load_teacher_chat` keeps and drops (and why), per split.

    >>> report = filter_report()
    >>> report["kept"]["train"] > report["kept"]["test"] > 0
    True
    """
    kept, dropped = _filtered(Path(path))
    return {"kept": dict(Counter(row["split"] for row in kept)), "dropped": dict(dropped)}


def load_teacher_chat(path: str | Path = TEACHER_CHAT) -> datasets.DatasetDict:
    """The filtered teacher answers as ``train`` / ``test`` chat rows (split by topic).

    Each row: ``messages`` (question, answer), ``answer``, ``type``, ``kind``, ``topic``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No teacher answers at {path}; make them with: python scripts/make_teacher_data.py")
    kept, _ = _filtered(path)
    splits: dict[str, list[dict]] = {"train": [], "test": []}
    for row in kept:
        splits[row["split"]].append({
            "messages": [{"role": "user", "content": row["prompt"]}, {"role": "assistant", "content": row["answer"]}],
            "answer": row["answer"], "type": row["type"], "kind": row["kind"], "topic": row["topic"],
        })
    return datasets.DatasetDict({k: datasets.Dataset.from_list(v) for k, v in splits.items()})


_NOUN_KINDS = {"animal", "object", "food", "science", "job", "activity"}  # topics a pronoun can stand for
_NAME_KINDS = {"country", "city", "wikipedia"}  # proper names: always "it"


def refer_back(question: str, topic: str, kind: str) -> str | None:
    """``question`` with its topic replaced by a pronoun (a follow-up such as "What do they eat?"), or None.

    Only for single-noun topics (animals, objects, foods, places...) named once in the question.

    >>> refer_back("What do robins eat?", "robin", "animal"), refer_back("What is Czechia famous for?", "Czechia", "country")
    ('What do they eat?', 'What is it famous for?')
    >>> refer_back("Tell me about a drum.", "drum", "object"), refer_back("Use the word 'x'.", "x", "word")
    ('Tell me about it.', None)
    """
    if "/" in topic or kind not in _NOUN_KINDS | _NAME_KINDS:
        return None
    pattern = re.compile(rf"\b(?:(?:a|an|the)\s+)?{re.escape(topic)}(e?s)?\b", re.IGNORECASE)
    found = list(pattern.finditer(question))
    if len(found) != 1:
        return None
    match = found[0]
    has_article = re.match(r"(?:a|an|the)\s", match.group(0), re.IGNORECASE) is not None
    plural = kind not in _NAME_KINDS and (match.group(1) is not None or (not has_article and topic.endswith("s")
                                                                         and not topic.endswith("ss")))
    if kind == "job" and not plural:
        return None  # a person is not "it"
    before = question[: match.start()]
    if not plural:
        pronoun = "it"
    else:  # a subject after an auxiliary, a question word or "that"; an object otherwise
        subject = r"\b(do|are|can|were|have|did|that|where|when|why|how|what|which)\s*$"
        pronoun = "they" if re.search(subject, before, re.IGNORECASE) else "them"
    if not before.strip():
        pronoun = pronoun.capitalize() if pronoun != "them" else "They"
    return before + pronoun + question[match.end():]


def add_earlier_turns(
    dataset: datasets.Dataset, *, fraction: float = 0.5, max_earlier: int = 2, same_topic: float = 0.5,
    refer: float = 0.5, seed: int = 0
) -> datasets.Dataset:
    """Prepend earlier exchanges to a ``fraction`` of single-question chat rows (multi-turn SFT data).

    A model trained only on single questions has never seen ``[/Answer]`` inside its prompt; in a
    :class:`~dlm_kit.chat.ChatSession` it then reads the earlier answer's end as its cue and writes
    end-of-text at once (bert-chat's empty second turns). Here a chosen row keeps its question and
    its answer (still the only trained part, see :func:`~dlm_kit.data.tokenize_chat`) and gets 1 to
    ``max_earlier`` exchanges of *other rows of the same dataset* before it: with probability
    ``same_topic`` rows about the same ``topic`` (a conversation that stays on one subject), else
    any rows (a conversation that changes subject, as users do). In a same-topic conversation the
    last question names its topic by a pronoun with probability ``refer`` (:func:`refer_back`:
    "What do they eat?" after a question about robins), so the model learns to read the earlier
    turns, not only to survive them. The rows stay in their split, so
    no held-out answer leaks into training. Seeded; the other columns are kept, plus ``turns``.

    >>> rows = datasets.Dataset.from_list([
    ...     {"messages": [{"role": "user", "content": f"Q{i}?"}, {"role": "assistant", "content": f"A{i}."}],
    ...      "topic": "cats" if i < 2 else "dogs"} for i in range(4)])
    >>> out = add_earlier_turns(rows, fraction=1.0, max_earlier=1, same_topic=1.0)
    >>> out[0]["turns"], [m["content"] for m in out[0]["messages"]]
    (2, ['Q1?', 'A1.', 'Q0?', 'A0.'])
    """
    if not 0.0 <= fraction <= 1.0 or not 0.0 <= same_topic <= 1.0:
        raise ValueError(f"add_earlier_turns: fraction={fraction} and same_topic={same_topic} must lie in [0, 1].")
    if max_earlier < 1:
        raise ValueError(f"add_earlier_turns: max_earlier={max_earlier}; use at least 1 earlier exchange.")
    if "messages" not in dataset.column_names or len(dataset) < 2:
        raise ValueError("add_earlier_turns needs a 'messages' dataset of at least 2 rows (load_teacher_chat gives one).")
    rng = random.Random(seed)
    messages = dataset["messages"]
    topics, kinds = ([*dataset[name]] if name in dataset.column_names else [None] * len(dataset) for name in ("topic", "kind"))
    by_topic: dict[str, list[int]] = {}
    for index, topic in enumerate(topics):
        by_topic.setdefault(str(topic), []).append(index)

    def earlier(index: int) -> tuple[list[dict], bool]:
        count = rng.randint(1, max_earlier)
        pool = [i for i in by_topic[str(topics[index])] if i != index] if rng.random() < same_topic else []
        on_topic = len(pool) >= count
        if not on_topic:  # too few rows on this topic: a conversation that changes subject
            pool = range(len(messages))
        picks = [i for i in rng.sample(pool, min(len(pool), count + 1)) if i != index][:count]
        return [turn for i in picks for turn in messages[i]], on_topic

    def with_history(row: dict, index: int) -> dict:
        history, on_topic = earlier(index) if rng.random() < fraction else ([], False)
        conversation = history + row["messages"]
        if on_topic and topics[index] is not None and rng.random() < refer:
            question = conversation[-2]["content"]
            follow_up = refer_back(question, str(topics[index]), str(kinds[index]))
            if follow_up is not None:
                conversation = conversation[:-2] + [{**conversation[-2], "content": follow_up}, conversation[-1]]
        return {"messages": conversation, "turns": 1 + len(history) // 2}

    return dataset.map(with_history, with_indices=True, desc="Adding earlier turns")


# (question, keywords any of which makes the answer right, topic). Written for dlm-kit.
SIMPLE_FACTS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("What is the capital of France?", ("paris",), "France"),
    ("What is the capital of Japan?", ("tokyo",), "Japan"),
    ("What is the capital of Italy?", ("rome",), "Italy"),
    ("What is the capital of Spain?", ("madrid",), "Spain"),
    ("What is the capital of Germany?", ("berlin",), "Germany"),
    ("What is the capital of Egypt?", ("cairo",), "Egypt"),
    ("What is the capital of Russia?", ("moscow",), "Russia"),
    ("What is the capital of Kenya?", ("nairobi",), "Kenya"),
    ("What is the capital of Greece?", ("athens",), "Greece"),
    ("What is the capital of Norway?", ("oslo",), "Norway"),
    ("What is the capital of Portugal?", ("lisbon",), "Portugal"),
    ("What is the capital of Austria?", ("vienna",), "Austria"),
    ("What is the capital of Peru?", ("lima",), "Peru"),
    ("What is the capital of Thailand?", ("bangkok",), "Thailand"),
    ("What is the capital of Ireland?", ("dublin",), "Ireland"),
    ("What is the capital of Poland?", ("warsaw",), "Poland"),
    ("What is the capital of China?", ("beijing",), "China"),
    ("What is the capital of Sweden?", ("stockholm",), "Sweden"),
    ("What is the capital of Belarus?", ("minsk",), "Belarus"),
    ("What is the capital of Qatar?", ("doha",), "Qatar"),
    ("What is the capital of Slovenia?", ("ljubljana",), "Slovenia"),
    ("What is the capital of Armenia?", ("yerevan",), "Armenia"),
    ("What is the capital of England?", ("london",), "England"),
    ("What is the capital of Scotland?", ("edinburgh",), "Scotland"),
    ("How many legs does a spider have?", ("eight", "8"), "spider"),
    ("How many legs does a dog have?", ("four", "4"), "dog"),
    ("How many legs does a cat have?", ("four", "4"), "cat"),
    ("How many legs does a chicken have?", ("two", "2"), "chicken"),
    ("How many legs does an ant have?", ("six", "6"), "ant"),
    ("How many legs does a horse have?", ("four", "4"), "horse"),
    ("How many legs does a bee have?", ("six", "6"), "bee"),
    ("How many legs does an ostrich have?", ("two", "2"), "ostrich"),
    ("How many legs does a giraffe have?", ("four", "4"), "giraffe"),
    ("How many legs does a beetle have?", ("six", "6"), "beetle"),
    ("How many legs does a parrot have?", ("two", "2"), "parrot"),
    ("How many legs does a wombat have?", ("four", "4"), "wombat"),
    ("How many legs does a cricket have?", ("six", "6"), "cricket"),
    ("How many legs does a pelican have?", ("two", "2"), "pelican"),
    ("What color is the sky on a clear day?", ("blue",), "the sky"),
    ("What color is grass?", ("green",), "grass"),
    ("What color is snow?", ("white",), "snow"),
    ("What color is a banana?", ("yellow",), "banana"),
    ("What color is a lemon?", ("yellow",), "lemon"),
    ("What color is a tomato?", ("red",), "tomato"),
    ("What color is coal?", ("black",), "coal"),
    ("What color is a carrot?", ("orange",), "carrot"),
    ("What color is milk?", ("white",), "milk"),
    ("What color is a strawberry?", ("red",), "strawberry"),
    ("What color is a flamingo?", ("pink",), "flamingo"),
    ("What color is a polar bear?", ("white",), "polar bear"),
    ("What color is a crow?", ("black",), "crow"),
    ("What color is a lime?", ("green",), "lime"),
    ("What color is a cucumber?", ("green",), "cucumber"),
    ("What color is chalk?", ("white",), "chalk"),
    ("What color is an emerald?", ("green",), "emerald"),
    ("What color is a ruby?", ("red",), "ruby"),
    ("What do bees make?", ("honey",), "bee"),
    ("What do cows drink?", ("water",), "cow"),
    ("What animal says moo?", ("cow",), "moo"),
    ("What animal barks?", ("dog",), "bark"),
    ("Which planet do we live on?", ("earth",), "the planet we live on"),
    ("What is frozen water called?", ("ice",), "frozen water"),
    ("How many days are in a week?", ("seven", "7"), "week"),
    ("How many months are in a year?", ("twelve", "12"), "year"),
    ("How many hours are in a day?", ("24", "twenty-four", "twenty four"), "day"),
    ("What is the opposite of hot?", ("cold",), "hot"),
    ("What is the opposite of up?", ("down",), "up"),
    ("What is the opposite of day?", ("night",), "night and day"),
    ("Which animal is the largest on Earth?", ("whale",), "largest animal"),
    ("What gas do plants take in from the air?", ("carbon dioxide", "co2"), "plants and air"),
)
"""Simple questions with keyword answers; :func:`simple_facts` picks the held-out ones."""


def keyword_correct(answer: str, keywords: tuple[str, ...]) -> bool:
    """Whether any keyword appears in ``answer`` as whole words (case-insensitive)."""
    text = " ".join(_words(answer))
    return any(re.search(rf"\b{re.escape(' '.join(_words(k)))}\b", text) for k in keywords)


def simple_facts(*, held_out_only: bool = True) -> list[dict]:
    """Rows ``{"question", "keywords", "topic"}`` of :data:`SIMPLE_FACTS`; with ``held_out_only`` only
    those whose topic no training prompt is about and whose question is not a training prompt.

    >>> facts = simple_facts()
    >>> 20 <= len(facts) <= len(SIMPLE_FACTS)
    True
    """
    rows = teacher_prompts()
    train_prompts = {r["prompt"] for r in rows if r["split"] == "train"}
    train_topics = {name.lower() for r in rows if r["split"] == "train" for name in topic_names(r)}
    out = []
    for question, keywords, topic in SIMPLE_FACTS:
        if held_out_only and (question in train_prompts or topic.lower() in train_topics):
            continue
        out.append({"question": question, "keywords": list(keywords), "topic": topic})
    return out
