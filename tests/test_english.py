"""The English instruction data: checkable families, teacher answers, held-out split, judge helpers."""

import pytest

from dlm_kit.english import ENGLISH_FAMILIES, english_exact_match, load_english_chat, teacher_answers, wikipedia_families
from dlm_kit.judges import shuffle_words


@pytest.fixture(scope="module")
def english():
    return load_english_chat()


def _questions(rows):
    return [m[0]["content"] for m in rows["messages"]]


def test_no_held_out_question_is_trained_on(english):
    assert not set(_questions(english["test"])) & set(_questions(english["train"]))


def test_held_out_split_has_every_family_and_twenty_open_questions_per_category(english):
    test = english["test"]
    for family in ENGLISH_FAMILIES:
        assert test["family"].count(family) == 100
    open_categories = [c for c, f in zip(test["category"], test["family"]) if f == "open"]
    assert len(open_categories) == 160 and all(open_categories.count(c) == 20 for c in set(open_categories))


def test_checkable_answers_are_several_words_that_must_all_be_right(english):
    for row in english["test"]:
        if row["family"] == "unscramble":
            question = row["messages"][0]["content"].split(": ", 1)[1]
            # the answer uses exactly the shuffled words, in another order
            assert sorted(question.split()) == sorted(w.lower() for w in row["answer"].rstrip(".").split())
            assert len(row["answer"].split()) >= 5
        if row["family"] == "sort_words":
            words = row["answer"].split(", ")
            assert words == sorted(words) and len(words) >= 3


def test_unscramble_and_fill_span_hold_out_whole_articles():
    rows = wikipedia_families(("unscramble",), n_train=50, n_test=20)
    train_answers = set(rows["train"]["answer"])
    assert not train_answers & set(rows["test"]["answer"])


def test_families_are_seeded():
    a = wikipedia_families(("sort_words",), n_train=5, n_test=5, seed=3)
    b = wikipedia_families(("sort_words",), n_train=5, n_test=5, seed=3)
    assert a["test"]["answer"] == b["test"]["answer"]


def test_unknown_family_is_named():
    with pytest.raises(ValueError, match="rhyme"):
        wikipedia_families(("rhyme",))


def test_teacher_answers_file_missing_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="make_english_chat.py"):
        teacher_answers(tmp_path / "none.jsonl")


def test_exact_match_ignores_case_punctuation_and_spacing_but_not_order():
    assert english_exact_match("apollo 11", "Apollo 11")
    assert english_exact_match("bridge , music , ocean", "bridge, music, ocean")
    assert not english_exact_match("music, bridge, ocean", "bridge, music, ocean")


def test_shuffled_words_keep_the_words():
    text = "the quick brown fox jumps over the lazy dog"
    assert sorted(shuffle_words(text).split()) == sorted(text.split())
    assert shuffle_words(text) != text
