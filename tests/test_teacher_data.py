"""The teacher prompt set and its filtered answers: size, split by topic, what the filter drops."""

import json

import pytest

from dlm_kit.teacher_data import answer_problem, filter_report, keyword_correct, load_teacher_chat, simple_facts
from dlm_kit.teacher_prompts import QUESTION_TYPES, article, plural, teacher_prompts, topic_names


@pytest.fixture(scope="module")
def prompts():
    return teacher_prompts()


def test_prompt_set_is_large_unique_and_covers_every_type(prompts):
    assert len(prompts) >= 20000
    assert len({r["prompt"] for r in prompts}) == len(prompts)
    assert {r["type"] for r in prompts} == set(QUESTION_TYPES)
    assert len({r["topic"] for r in prompts}) > 1500


def test_split_is_by_topic_and_seeded(prompts):
    test_topics = {name for r in prompts if r["split"] == "test" for name in topic_names(r) if r["type"] != "compare"}
    for row in prompts:
        if row["split"] == "train":
            assert not set(topic_names(row)) & test_topics, row
    assert 0.03 < sum(r["split"] == "test" for r in prompts) / len(prompts) < 0.15
    assert teacher_prompts() == prompts  # the same rows, split and order on every machine
    assert teacher_prompts(seed=1) != prompts


def test_grammar_helpers():
    assert [plural(w) for w in ("bus", "fly", "day", "dish")] == ["buses", "flies", "days", "dishes"]
    assert article("elephant") == "an elephant"


@pytest.mark.parametrize(
    "answer, kind, problem",
    [
        ("", "fact", "short"),
        ("Yes, sure.", "fact", "short"),
        ("As an AI, I do not have feelings about cats.", "fact", "refusal"),
        ("I'm an AI assistant here to help you.", "greet", None),
        ("the sea is blue and the sea is blue and the sea is blue", "fact", "loop"),
        ("Cats sleep a lot. [/Answer] more", "fact", "tag"),
        ("Paris is the capital of France.", "fact", None),
    ],
)
def test_answer_problem(answer, kind, problem):
    assert answer_problem(answer, question_type=kind) == problem


def test_loader_filters_dedups_and_splits(tmp_path, prompts):
    rows = [prompts[0], prompts[1], prompts[2], prompts[3]]
    lines = [
        {**rows[0], "answer": "A fine answer about it."},
        {**rows[1], "answer": "A fine answer about it."},  # the same answer twice: dropped
        {**rows[2], "answer": "I'm sorry, I cannot answer that."},
        {**rows[3], "answer": "Another useful answer here."},
        {"prompt": "not a kit prompt", "answer": "Some answer text."},
    ]
    path = tmp_path / "answers.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    data = load_teacher_chat(path)
    kept = [r["messages"][0]["content"] for split in data.values() for r in split]
    assert sorted(kept) == sorted([rows[0]["prompt"], rows[3]["prompt"]])
    report = filter_report(path)
    assert report["dropped"] == {"duplicate": 1, "refusal": 1, "not_in_prompt_set": 1}
    first = next(r for split in data.values() for r in split if r["messages"][0]["content"] == rows[0]["prompt"])
    assert first["messages"][1] == {"role": "assistant", "content": "A fine answer about it."}


def test_loader_names_the_recipe_when_the_file_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="make_teacher_data.py"):
        load_teacher_chat(tmp_path / "nothing.jsonl")


def test_committed_answers_are_mostly_kept():
    report = filter_report()
    kept = sum(report["kept"].values())
    assert kept >= 0.8 * (kept + sum(report["dropped"].values()))
    assert report["kept"]["test"] > 500


def test_simple_facts_are_never_asked_in_training(prompts):
    train_prompts = {r["prompt"] for r in prompts if r["split"] == "train"}
    train_topics = {n.lower() for r in prompts if r["split"] == "train" for n in topic_names(r)}
    facts = simple_facts()
    assert len(facts) >= 20
    for fact in facts:
        assert fact["question"] not in train_prompts and fact["topic"].lower() not in train_topics
    assert keyword_correct("It has eight legs.", ("eight", "8")) and not keyword_correct("Eighty.", ("eight",))


def _rows(n_per_topic=3):
    import datasets

    rows = [{"messages": [{"role": "user", "content": f"What do {t}s eat? ({i})"},
                          {"role": "assistant", "content": f"{t} answer {i}."}], "topic": t, "kind": "animal"}
            for t in ("robin", "otter", "heron") for i in range(n_per_topic)]
    return datasets.Dataset.from_list(rows)


def test_earlier_turns_keep_the_trained_answer_and_the_split_and_are_seeded():
    from dlm_kit.teacher_data import add_earlier_turns

    rows = _rows()
    out = add_earlier_turns(rows, fraction=1.0, max_earlier=2, seed=3)
    assert len(out) == len(rows)
    answers = {m["content"] for r in rows for m in r["messages"]}
    for before, after in zip(rows, out):
        # the last exchange's answer is the row's own; every earlier turn comes from the same dataset
        assert after["messages"][-1] == before["messages"][-1]
        assert 2 <= after["turns"] <= 3 and len(after["messages"]) == 2 * after["turns"]
        assert [m["role"] for m in after["messages"]] == ["user", "assistant"] * after["turns"]
        assert {m["content"] for m in after["messages"][:-2] if m["role"] == "assistant"} <= answers
        assert before["messages"][-1] not in after["messages"][:-2]  # never the row's own answer as history
    assert add_earlier_turns(rows, fraction=1.0, seed=3)["messages"] == out["messages"]
    assert add_earlier_turns(rows, fraction=0.0)["messages"] == rows["messages"]


def test_same_topic_follow_ups_refer_back_by_pronoun():
    from dlm_kit.teacher_data import add_earlier_turns

    out = add_earlier_turns(_rows(), fraction=1.0, max_earlier=1, same_topic=1.0, refer=1.0, seed=0)
    for row in out:
        earlier_question, question = row["messages"][0]["content"], row["messages"][-2]["content"]
        assert question.startswith("What do they eat?")
        topic = row["topic"]
        assert topic in earlier_question  # the earlier turn names what "they" are


@pytest.mark.parametrize("question, topic, kind, expected", [
    ("How do you use a bus?", "bus", "object", "How do you use it?"),
    ("Name two things that grasshoppers eat.", "grasshopper", "animal", "Name two things that they eat."),
    ("Describe clouds in one sentence.", "clouds", "science", "Describe them in one sentence."),
    ("Tell me about the Netherlands.", "the Netherlands", "country", "Tell me about it."),
    ("What tools does a mayor use?", "mayor", "job", None),  # a person is not "it"
    ("Compare a cat and a dog.", "cat / dog", "animal", None),
    ("Is a cat a cat?", "cat", "animal", None),  # named twice: ambiguous
])
def test_refer_back(question, topic, kind, expected):
    from dlm_kit.teacher_data import refer_back

    assert refer_back(question, topic, kind) == expected


def test_earlier_turns_refuse_bad_arguments():
    from dlm_kit.teacher_data import add_earlier_turns

    with pytest.raises(ValueError, match="fraction"):
        add_earlier_turns(_rows(), fraction=1.5)
    with pytest.raises(ValueError, match="max_earlier"):
        add_earlier_turns(_rows(), max_earlier=0)
