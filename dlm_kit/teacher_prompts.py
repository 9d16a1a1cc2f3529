"""The teacher prompt set for ``bert-chat``: ~24,000 questions, topics x question types, split by topic.

Everything here was written for dlm-kit (no text copied from elsewhere). Each *topic* (an animal,
a food, a country, a city, a job, an everyday object, a science or nature idea, an activity, a
word, a goal, a list category, a sentence to rewrite, a Wikipedia article title of gensim's
sample, a greeting) is crossed with the question *types* that make sense for it: ``fact``,
``definition``, ``why_how``, ``list``, ``describe``, ``compare``, ``rewrite``, ``greet``,
``advise``, ``creative``. ``scripts/make_teacher_data.py`` has SmolLM2-135M-Instruct answer them.

The held-out split is **by topic**: about 6 % of each kind's topics (chosen by a seeded shuffle)
are test topics, and every question about a test topic (in any kind: "Angola" the country and
"Angola" the article) is a test question, so a model is judged on things it never read a question
about; a comparison that touches a test topic is a test question.

    >>> rows = teacher_prompts()
    >>> len(rows) >= 20000, len({r["prompt"] for r in rows}) == len(rows)
    (True, True)
    >>> sorted({r["type"] for r in rows})[:4]
    ['advise', 'compare', 'creative', 'definition']
    >>> test_topics = {r["topic"] for r in rows if r["split"] == "test" and r["type"] != "compare"}
    >>> any(set(topic_names(r)) & test_topics for r in rows if r["split"] == "train")
    False
"""

from __future__ import annotations

import random
from collections.abc import Iterable

# the sentences to rewrite and the first rewrite templates are the open prompt set's (english_prompts)
from .english_prompts import REWRITE_TEMPLATES as OPEN_REWRITE_TEMPLATES
from .english_prompts import SENTENCES, unique_prompts, word_list
from .teacher_topics import (  # the topic lists, one per kind
    ANIMALS,
    FOODS,
    COUNTRIES,
    CITIES,
    JOBS,
    OBJECTS,
    SCIENCE,
    ACTIVITIES,
    WORDS,
    GOALS,
    LIST_CATEGORIES,
    WHY_HOW,
    GREETINGS,
    SUBJECTS,
    ACTIONS,
    TIMES,
)

__all__ = ["teacher_prompts", "topic_names", "TOPIC_KINDS", "QUESTION_TYPES", "TEST_FRACTION", "article", "plural"]

TEST_FRACTION = 0.06
"""Share of each kind's topics held out (every question about them is a test question)."""

QUESTION_TYPES = ("fact", "definition", "why_how", "list", "describe", "compare", "rewrite", "greet", "advise", "creative")

REWRITE_TEMPLATES = OPEN_REWRITE_TEMPLATES + (
    "Turn this sentence into a question: {t}", "Rewrite this sentence in the future tense: {t}",
    "Make this sentence sound more exciting: {t}",
)

WIKI_TEMPLATES = ("What is {t}?", "Tell me about {t}.", "Tell me one fact about {t}.", "Describe {t} in one sentence.",
                  "Why is {t} important?", "Explain {t} to a child.")

# Each kind: its topics and its templates, by question type. In templates {s} is the singular with
# its article ("an elephant"), {n} the bare singular ("elephant"), {p} the plural ("elephants"), {t}
# the topic as written, {be}/{Be}/{do} agree with {p} ("apples are", "rice is"); compare templates also take {s2}/{n2}/{p2}/{t2} of a second topic.
TOPIC_KINDS: dict[str, dict] = {
    "animal": {"items": ANIMALS, "countable": True, "types": {
        "fact": ("Tell me about {p}.", "Tell me one fact about {p}.", "Where do {p} live?", "What do {p} eat?",
                 "How many legs does {s} have?", "How long do {p} live?", "How big is {s}?", "Can {p} swim?",
                 "What sound does {s} make?", "What color is {s}?"),
        "definition": ("What is {s}?", "What kind of animal is {s}?"),
        "why_how": ("Why are {p} important?", "How do {p} find food?", "How do {p} sleep?", "How do {p} protect themselves?"),
        "list": ("List three facts about {p}.", "Name two things that {p} eat."),
        "describe": ("Describe {s} in one sentence.", "Describe {p} to a child.", "What does {s} look like?"),
        "creative": ("Write one sentence about {s}.", "Write a short poem about {s}.", "Tell me a short story about {s}."),
        "advise": ("How do I take care of {s}?",),
        "compare": ("What is the difference between {s} and {s2}?", "Compare {p} and {p2}.", "Which is bigger, {s} or {s2}?"),
    }},
    "food": {"items": FOODS, "countable": False, "types": {
        "fact": ("Tell me about {p}.", "Tell me one fact about {p}.", "Where {do} {p} come from?", "What color {be} {p}?",
                 "{Be} {p} healthy?", "What {be} {p} made of?", "Which vitamins {do} {p} have?"),
        "definition": ("What {be} {p}?",),
        "why_how": ("How {be} {p} made?", "Why do people like {p}?", "How do you store {p}?", "How {do} {p} grow?"),
        "list": ("Name three dishes made with {p}.", "List two ways to eat {p}."),
        "describe": ("Describe {p} in one sentence.", "What {do} {p} taste like?"),
        "creative": ("Write one sentence about {p}.", "Write a short poem about {p}."),
        "advise": ("Give me a simple recipe with {p}.", "How can I cook {p}?"),
        "compare": ("What is the difference between {p} and {p2}?", "Which is healthier, {p} or {p2}?"),
    }},
    "country": {"items": COUNTRIES, "countable": None, "types": {
        "fact": ("What is the capital of {t}?", "Tell me about {t}.", "Tell me one fact about {t}.", "Where is {t}?",
                 "What language do people speak in {t}?", "What is {t} famous for?", "What is the weather like in {t}?",
                 "What food is {t} known for?", "What animals live in {t}?"),
        "describe": ("Describe {t} in one sentence.",),
        "why_how": ("Why do people visit {t}?",),
        "list": ("Name two cities in {t}.", "List three things to see in {t}."),
        "advise": ("What should I pack for a trip to {t}?",),
        "compare": ("What is the difference between {t} and {t2}?",),
    }},
    "city": {"items": CITIES, "countable": None, "types": {
        "fact": ("Tell me about {t}.", "In which country is {t}?", "What is {t} known for?", "Tell me one fact about {t}."),
        "describe": ("Describe {t} in one sentence.",),
        "list": ("List three things to do in {t}.",),
        "creative": ("Write one sentence about {t}.",),
        "compare": ("Compare {t} and {t2}.",),
    }},
    "job": {"items": JOBS, "countable": True, "types": {
        "fact": ("What does {s} do?", "Where does {s} work?", "What tools does {s} use?", "What does {s} wear at work?"),
        "definition": ("What is {s}?",),
        "why_how": ("How do I become {s}?", "Why are {p} important?", "Is it hard to be {s}?"),
        "list": ("What skills does {s} need?", "List three things {s} does every day."),
        "describe": ("Describe the job of {s}.", "Describe a day in the life of {s}."),
        "creative": ("Write one sentence about {s}.", "Tell me a short story about {s}."),
        "compare": ("What is the difference between {s} and {s2}?",),
    }},
    "object": {"items": OBJECTS, "countable": True, "types": {
        "fact": ("What is {s} used for?", "What is {s} made of?", "Who invented {s}?", "Where can I find {s}?"),
        "definition": ("What is {s}?",),
        "why_how": ("How does {s} work?", "Why do people use {p}?", "How do you use {s}?"),
        "list": ("List three uses of {s}.",),
        "describe": ("Describe {s} in one sentence.", "Describe {s} to a child."),
        "creative": ("Write one sentence about {s}.", "Write a riddle about {s}."),
        "advise": ("How do I take care of {s}?",),
        "compare": ("What is the difference between {s} and {s2}?",),
    }},
    "science": {"items": SCIENCE, "countable": None, "types": {
        "fact": ("Tell me one fact about {t}.", "Tell me about {t}.", "Tell me a fun fact about {t}."),
        "definition": ("What is {t}?",),
        "why_how": ("Explain {t} in simple words.", "Why is {t} important?", "How does {t} affect our lives?",
                    "What would happen without {t}?"),
        "list": ("List three facts about {t}.",),
        "describe": ("Describe {t} to a child.", "Describe {t} in one sentence."),
        "creative": ("Write one sentence about {t}.", "Write a short poem about {t}."),
        "compare": ("What is the difference between {t} and {t2}?",),
    }},
    "activity": {"items": ACTIVITIES, "countable": None, "types": {
        "definition": ("What is {t}?",),
        "fact": ("Tell me one fact about {t}.",),
        "why_how": ("Why is {t} good for you?", "How do I start {t}?"),
        "list": ("What do I need for {t}?", "List three benefits of {t}."),
        "describe": ("Describe {t} in one sentence.",),
        "advise": ("Give me one tip for {t}.", "How can I get better at {t}?"),
        "compare": ("Which is more fun, {t} or {t2}?", "What is the difference between {t} and {t2}?"),
    }},
    "word": {"items": WORDS, "countable": None, "types": {
        "definition": ('What does the word "{t}" mean?', 'Define the word "{t}".', 'Explain the word "{t}" to a child.'),
        "creative": ('Use the word "{t}" in a sentence.', 'Write a sentence with the word "{t}".'),
        "fact": ('What is the opposite of "{t}"?', 'Give me a synonym for "{t}".'),
    }},
    "goal": {"items": GOALS, "countable": None, "types": {
        "advise": ("How can I {t}?", "Give me one tip to {t}.", "What is the best way to {t}?", "Give me two tips to {t}."),
        "why_how": ("Why should I {t}?",),
    }},
    "category": {"items": LIST_CATEGORIES, "countable": None, "types": {
        "list": ("List three {t}.", "Name three {t}.", "Give two examples of {t}.", "Name five {t}."),
    }},
    "question": {"items": WHY_HOW, "countable": None, "types": {"why_how": ("{t}", "{t} Explain briefly.")}},
    "greeting": {"items": GREETINGS, "countable": None, "types": {"greet": ("{t}",)}},
    "sentence": {"items": None, "countable": None, "types": {"rewrite": REWRITE_TEMPLATES}},
    "wikipedia": {"items": None, "countable": None, "types": {"fact": WIKI_TEMPLATES[:3], "describe": WIKI_TEMPLATES[3:4],
                                                            "why_how": WIKI_TEMPLATES[4:]}},
}
COMPARISONS_PER_TOPIC = 4
"""How many comparison partners (same kind) each topic gets, drawn by a seeded shuffle."""


PAIR = " / "
"""Joins the two topics of a comparison in its ``topic`` field."""


def topic_names(row: dict) -> list[str]:
    """The topic(s) a prompt row is about: one, or two for a comparison.

    >>> topic_names({"topic": "cat / dog"})
    ['cat', 'dog']
    """
    return row["topic"].split(PAIR)


def plural(noun: str) -> str:
    """English plural of a regular noun.

    >>> [plural(w) for w in ("cat", "fox", "city", "day", "bus")]
    ['cats', 'foxes', 'cities', 'days', 'buses']
    """
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def article(noun: str) -> str:
    """``noun`` with "a" or "an" (by its first letter; "hour"-style exceptions are not in the lists).

    >>> article("owl"), article("cat")
    ('an owl', 'a cat')
    """
    return ("an " if noun[0].lower() in "aeiou" else "a ") + noun


def _forms(entry: str, countable: bool | None) -> dict[str, str]:
    singular, _, given_plural = entry.partition("|")
    forms = {"t": singular, "n": singular, "p": given_plural or plural(singular)}
    forms["s"] = article(singular) if countable else singular
    many = forms["p"] != singular  # "apples are", but "rice is"
    forms.update(be="are" if many else "is", Be="Are" if many else "Is", do="do" if many else "does")
    return forms


def _wikipedia_titles() -> list[str]:
    """Titles of gensim's Wikipedia sample that read as a topic (no lists, disambiguation pages or one-letter titles)."""
    from .corpora import gensim_wikipedia_pages  # imported late (gensim is slow)

    titles = []
    for title, _ in gensim_wikipedia_pages():
        if len(title) < 3 or "(" in title or title.startswith(("List of", "Demographics", "Politics", "Economy",
                                                                 "Transport", "Foreign")):
            continue
        titles.append(title)
    return titles


COMPOSED_SENTENCES = 400
"""How many subject-action-time sentences (of the 1,008 combinations, seeded) join the written ones."""


def _sentences() -> list[str]:
    composed = [f"{s} {a} {t}." for s in SUBJECTS for a in ACTIONS for t in TIMES]
    return word_list(SENTENCES) + random.Random(0).sample(composed, COMPOSED_SENTENCES)


def _topics(kind: str) -> list[str]:
    if kind == "sentence":
        return _sentences()
    if kind == "wikipedia":
        return _wikipedia_titles()
    return word_list(TOPIC_KINDS[kind]["items"])


def teacher_prompts(seed: int = 0, *, kinds: Iterable[str] | None = None) -> list[dict[str, str]]:
    """Every teacher prompt: ``{"prompt", "type", "kind", "topic", "split"}`` rows, no duplicates.

    ``split`` is ``"test"`` for every question about a held-out topic (``TEST_FRACTION`` of each
    kind's topics, seeded) and ``"train"`` otherwise. The order is a seeded shuffle, so the first N
    rows are a random subset (a partial teacher run is still balanced).
    """
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    held_out: set[str] = set()  # test topics of every kind: a name held out in one kind is held out in all
    for kind in kinds or TOPIC_KINDS:
        spec = TOPIC_KINDS[kind]
        entries = _topics(kind)
        order = entries[:]
        rng.shuffle(order)
        held_out.update(_forms(e, spec["countable"])["t"] for e in order[: max(1, round(len(order) * TEST_FRACTION))])
        for entry in entries:
            forms = _forms(entry, spec["countable"])
            for qtype, templates in spec["types"].items():
                if qtype == "compare":
                    partners = [e for e in entries if e != entry]
                    for other in rng.sample(partners, min(COMPARISONS_PER_TOPIC, len(partners))):
                        second = {k + "2": v for k, v in _forms(other, spec["countable"]).items()}
                        rows.append({"prompt": rng.choice(templates).format(**forms, **second), "type": qtype,
                                     "kind": kind, "topic": f"{forms['t']}{PAIR}{second['t2']}"})
                    continue
                for template in templates:
                    rows.append({"prompt": template.format(**forms), "type": qtype, "kind": kind, "topic": forms["t"]})
    for row in rows:
        row["split"] = "test" if held_out & set(topic_names(row)) else "train"
    unique = unique_prompts(rows)
    rng.shuffle(unique)
    return unique
