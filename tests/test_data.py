"""Data loading: formats → messages, prompt masking, padding policies, corpora, synthetic tasks."""

import json

import pytest
import torch

from conftest import FIXTURES
from dlm_kit.data import (
    DataFormatError,
    SFTCollator,
    exact_match,
    group_texts,
    load_chat_dataset,
    load_text_corpus,
    make_synthetic_tasks,
    record_to_messages,
    tokenize_chat,
)


# ---- formats → messages --------------------------------------------------------------------


def test_alpaca_json_file_becomes_chat_messages():
    ds = load_chat_dataset(str(FIXTURES / "alpaca_sample.json"))
    assert ds.num_rows == 4
    assert ds[1]["messages"] == [
        {"role": "user", "content": "Sort these numbers from smallest to largest.\n\n9, 2, 7, 4"},
        {"role": "assistant", "content": "2, 4, 7, 9"},
    ]


def test_tulu_messages_jsonl_keeps_system_and_multi_turn():
    ds = load_chat_dataset(str(FIXTURES / "tulu_sample.jsonl"))
    assert [m["role"] for m in ds[1]["messages"]] == ["system", "user", "assistant"]
    assert len(ds[2]["messages"]) == 4


def test_local_folder_of_parquet_shards_loads_like_the_hub_layout(tmp_path):
    import datasets

    rows = [json.loads(line) for line in (FIXTURES / "tulu_sample.jsonl").read_text().splitlines()]
    (tmp_path / "data").mkdir()
    datasets.Dataset.from_list(rows).to_parquet(str(tmp_path / "data" / "train-00000-of-00001.parquet"))
    ds = load_chat_dataset(str(tmp_path))
    assert ds.num_rows == 3 and ds[0]["messages"][0]["role"] == "user"


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    "name, text, match",
    [
        ("bad.jsonl", '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n{oops}\n',
         r"bad\.jsonl, line 2: invalid JSON"),
        ("role.jsonl", '{"messages": [{"role": "user", "content": "a"}, {"role": "bot", "content": "b"}]}\n',
         r"role\.jsonl, line 1, field 'messages\[1\]\.role': 'bot' is not one of"),
        ("content.jsonl", '{"messages": [{"role": "user", "content": 3}, {"role": "assistant", "content": "b"}]}\n',
         r"line 1, field 'messages\[0\]\.content': expected a string, got int"),
        ("last.jsonl", '{"messages": [{"role": "assistant", "content": "a"}, {"role": "user", "content": "b"}]}\n',
         r"line 1, field 'messages': the last message must be the assistant"),
        ("empty.jsonl", '\n{"messages": []}\n', r"line 2, field 'messages': expected a non-empty list"),
        ("alpaca.json", '[\n  {"instruction": "a", "output": "b"},\n  {"instruction": "c", "output": ""}\n]',
         r"alpaca\.json, line 3, field 'output': Alpaca records need"),
        ("fields.json", '[{"question": "a", "answer": "b"}]', r"line 1: no 'messages' field .* fields present: \['answer', 'question'\]"),
        ("broken.json", '[\n {"instruction": "a",\n  "output": }\n]', r"broken\.json, line 3: invalid JSON"),
        ("notalist.json", '{"instruction": "a"}', r"line 1: expected a JSON list"),
        ("data.csv", "a,b\n", r"unsupported file type '\.csv'"),
    ],
)
def test_malformed_input_names_file_line_and_field(tmp_path, name, text, match):
    with pytest.raises(DataFormatError, match=match):
        load_chat_dataset(_write(tmp_path, name, text))


def test_record_that_is_not_an_object_is_rejected():
    with pytest.raises(DataFormatError, match="expected a JSON object, got list"):
        record_to_messages([1, 2], where="x")


# ---- tokenisation and padding ----------------------------------------------------------------


def test_prompt_tokens_get_label_minus_100_and_match_the_generation_prompt(tiny_tokenizer):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"},
                {"role": "assistant", "content": "4"}]
    ex = tokenize_chat(messages, tiny_tokenizer)
    prompt = tiny_tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=False)
    prompt_ids = tiny_tokenizer(prompt)["input_ids"]
    assert ex["input_ids"][: len(prompt_ids)] == prompt_ids
    assert ex["labels"][: len(prompt_ids)] == [-100] * len(prompt_ids)
    answer = tiny_tokenizer.convert_ids_to_tokens(ex["labels"][len(prompt_ids):])
    assert answer == ["4", "[/Answer]"]


def test_only_the_last_answer_of_a_multi_turn_chat_is_trained(tiny_tokenizer):
    ds = load_chat_dataset(str(FIXTURES / "tulu_sample.jsonl"))
    ex = tokenize_chat(ds[2]["messages"], tiny_tokenizer)
    trained = [t for t, label in zip(ex["input_ids"], ex["labels"]) if label != -100]
    assert tiny_tokenizer.convert_ids_to_tokens(trained) == ["6", "[/Answer]"]


def test_pad_as_eos_trains_padding_as_eos_and_attends_to_it(tiny_tokenizer):
    eos = tiny_tokenizer.eos_token_id
    batch = SFTCollator(tiny_tokenizer)([{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]},
                                         {"input_ids": [5, 6], "labels": [-100, 6]}])
    assert batch["input_ids"][1].tolist() == [5, 6, eos]
    assert batch["labels"][1].tolist() == [-100, 6, eos]
    assert batch["attention_mask"].all()


def test_single_eos_trains_one_eos_and_hides_the_rest(tiny_tokenizer):
    tok = tiny_tokenizer
    collate = SFTCollator(tok, pad_policy="single_eos", pad_to_length=6)
    batch = collate([{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]}])
    assert batch["labels"][0].tolist() == [-100, 6, 7, tok.eos_token_id, -100, -100]
    assert batch["attention_mask"][0].tolist() == [1, 1, 1, 1, 0, 0]


def test_bad_padding_choices_raise(tiny_tokenizer):
    with pytest.raises(ValueError, match="pad_policy='eos'"):
        SFTCollator(tiny_tokenizer, pad_policy="eos")
    with pytest.raises(ValueError, match="pad_to_length=2"):
        SFTCollator(tiny_tokenizer, pad_to_length=2)([{"input_ids": [1, 2, 3], "labels": [1, 2, 3]}])


# ---- corpora ---------------------------------------------------------------------------------


def test_gensim_wikipedia_sample_is_real_text_split_by_article():
    train, valid = load_text_corpus("gensim-wikipedia"), load_text_corpus("gensim-wikipedia", split="validation")
    words = sum(len(t.split()) for t in train["text"])
    assert 250_000 < words < 500_000  # ~480K words before markup removal
    assert train[0]["text"].startswith("Anarchism is a political philosophy")
    assert not set(train["text"]) & set(valid["text"])


def test_wikitext_format_local_files_load(tmp_path):
    lines = [" = Valkyria Chronicles = \n", "", " The game began development in 2010 . \n"]
    (tmp_path / "wiki.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in lines))
    assert load_text_corpus(str(tmp_path / "wiki.jsonl"))["text"] == lines
    with pytest.raises(DataFormatError, match="no 'text' column"):
        (tmp_path / "bad.jsonl").write_text('{"body": "x"}\n')
        load_text_corpus(str(tmp_path / "bad.jsonl"))


def test_group_texts_cuts_equal_blocks_all_trained(tiny_tokenizer):
    import datasets

    corpus = datasets.Dataset.from_dict({"text": ["one two three four five six seven"] * 10})
    blocks = group_texts(corpus, tiny_tokenizer, seq_length=16)
    assert all(len(b) == 16 for b in blocks["input_ids"])
    assert blocks["labels"] == blocks["input_ids"]


# ---- synthetic tasks --------------------------------------------------------------------------


def test_synthetic_tasks_are_seeded_and_train_test_disjoint():
    a = make_synthetic_tasks(n_train=300, n_test=50, seed=0)
    b = make_synthetic_tasks(n_train=300, n_test=50, seed=0)
    assert a["train"]["messages"] == b["train"]["messages"]
    questions = lambda split: {m[0]["content"] for m in a[split]["messages"]}  # noqa: E731
    assert not questions("train") & questions("test")
    assert set(a["test"]["family"]) == {"copy", "maximum", "reverse", "sort", "add"}
    assert set(a["test"]["difficulty"]) == {"easy", "medium", "hard"}


def test_synthetic_answers_are_correct():
    ds = make_synthetic_tasks(n_train=20, n_test=0, seed=1)["train"]
    for row in ds:
        q, family = row["messages"][0]["content"], row["family"]
        letters = q.split(": ")[-1].split()
        if family == "sort":
            assert row["answer"].split() == sorted(letters)
        elif family == "reverse":
            assert row["answer"].split() == letters[::-1]
        elif family == "add":
            a, b = q.removeprefix("What is ").removesuffix("?").split(" + ")
            assert int(row["answer"]) == int(a) + int(b)


def test_exact_match_ignores_spacing_and_case_only():
    assert exact_match("E H j", "e h j")
    assert not exact_match("e h k", "e h j")


def test_unknown_family_is_rejected():
    with pytest.raises(ValueError, match=r"Unknown task families \['multiply'\]"):
        make_synthetic_tasks(["multiply"])


def test_wikitext_hub_layout_folder_loads_each_split(tmp_path):
    import datasets

    folder = tmp_path / "wikitext-103-raw-v1"
    folder.mkdir()
    for split, text in [("train", "The train article ."), ("validation", "The validation article .")]:
        datasets.Dataset.from_dict({"text": ["", f" {text} \n"]}).to_parquet(str(folder / f"{split}-00000-of-00001.parquet"))
    assert load_text_corpus(str(folder), split="validation")["text"][1] == " The validation article . \n"
    assert load_text_corpus(str(folder))["text"][1] == " The train article . \n"


def test_sft_stage_mixes_its_sources_reproducibly():
    from dlm_kit.data import load_sft_stage

    sources = [str(FIXTURES / "alpaca_sample.json"), str(FIXTURES / "tulu_sample.jsonl")]
    parts = [load_chat_dataset(s) for s in sources]
    stage = load_sft_stage(sources, seed=0)
    assert stage.num_rows == sum(p.num_rows for p in parts)
    assert sorted(map(str, stage["messages"])) == sorted(str(m) for p in parts for m in p["messages"])
    assert stage["messages"] == load_sft_stage(sources, seed=0)["messages"]
    with pytest.raises(TypeError, match="list of sources"):
        load_sft_stage(sources[0])
