"""A model folder carries its recommended sampler settings; every user path uses them when given none."""

import json
import logging

import pytest
import torch

from dlm_kit.backbones import add_chat_tag_tokens, load_backbone, save_delta
from dlm_kit.chat import SAMPLING_CONFIG_FILE, ChatSession, SamplingConfig, answer, strip_tag_fragment, trim_answer


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"steps": 0}, "steps=0"),
        ({"block_size": 0}, "block_size=0"),
        ({"max_new_tokens": -4}, "max_new_tokens=-4"),
        ({"temperature": -1.0}, "temperature"),
        ({"threshold": 1.5}, "threshold"),
        ({"remasking": "lowest"}, "remasking"),
        ({"mode": "quick"}, "mode"),
    ],
)
def test_bad_settings_are_refused_where_they_are_made(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SamplingConfig(**kwargs)


def test_settings_round_trip_and_unknown_keys_are_refused(tmp_path):
    config = SamplingConfig(max_new_tokens=48, block_size=8, steps=24)
    path = config.save_pretrained(tmp_path)
    assert path.name == SAMPLING_CONFIG_FILE and SamplingConfig.from_pretrained(tmp_path) == config
    path.write_text(json.dumps({"block_size": 8, "blocksize": 4}))
    with pytest.raises(ValueError, match="blocksize"):
        SamplingConfig.from_pretrained(tmp_path)


@pytest.fixture(scope="module")
def tiny_with_settings(tmp_path_factory):
    """tiny-bert saved to a folder with recommended settings (blocks of 4, 2 tokens per step)."""
    folder = tmp_path_factory.mktemp("tiny-with-settings")
    model, tok = load_backbone("tiny-bert", seed=0)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    SamplingConfig(max_new_tokens=8, block_size=4, steps=4).save_pretrained(folder)
    return folder


def test_answer_uses_the_models_settings_when_given_none(tiny_with_settings, caplog):
    model, tok = load_backbone(str(tiny_with_settings))
    assert model.config.dlm_kit_sampling["block_size"] == 4
    questions = ["Sort the letters: c a b", "Copy: x y"]
    recommended = SamplingConfig.from_pretrained(tiny_with_settings)
    with caplog.at_level(logging.INFO, logger="dlm_kit.chat"):
        plain = answer(model.eval(), tok, questions)
    assert "recommended settings" in caplog.text
    assert plain == answer(model, tok, questions, sampling=recommended)
    session = ChatSession(model, tok)
    assert session.sampling == recommended and "recommended" in session.sampling_source


def test_a_model_without_settings_gets_the_kit_defaults_and_says_so():
    model, _ = load_backbone("tiny-bert", seed=0)
    config, source = SamplingConfig.for_model(model)
    assert config == SamplingConfig() and source == "the kit defaults"


@pytest.mark.parametrize("batch_size", [0, -1, 2.5])
def test_answer_refuses_a_bad_batch_size(batch_size):
    model, tok = load_backbone("tiny-bert", seed=0)
    with pytest.raises(ValueError, match="batch_size"):
        answer(model.eval(), tok, ["Copy: a"], batch_size=batch_size)


def test_cli_generate_says_which_settings_it_used(tiny_with_settings):
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "dlm_kit.cli", "generate", "--model", str(tiny_with_settings), "--prompt", "Copy: a b"],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "sampling: the model's recommended settings (sampling_config.json)" in run.stderr
    run = subprocess.run(
        [sys.executable, "-m", "dlm_kit.cli", "generate", "--model", str(tiny_with_settings), "--prompt", "Copy: a b",
         "--steps", "0"],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode != 0 and "steps=0" in run.stderr and "Traceback" not in run.stderr


def test_chat_tags_become_single_tokens_and_the_text_is_unchanged():
    model, tok = load_backbone("minilm")
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello there."}]
    text_before = tok.apply_chat_template(messages, tokenize=False)
    assert add_chat_tag_tokens(model, tok) == 6
    assert tok.apply_chat_template(messages, tokenize=False) == text_before  # the released format
    assert tok.tokenize(text_before) == ["[Question]", "hi", "[/Question]", "[Answer]", "hello", "there", ".", "[/Answer]"]
    assert add_chat_tag_tokens(model, tok) == 0
    ids = tok("hello there . [/Answer] [PAD] [PAD]", add_special_tokens=False)["input_ids"]
    assert trim_answer(ids, tok) == "hello there."


def test_a_delta_with_added_tags_stores_only_the_new_rows(tmp_path):
    model, tok = load_backbone("minilm")
    add_chat_tag_tokens(model, tok)
    with torch.no_grad():
        model.bert.encoder.layer[5].output.dense.bias.add_(0.5)
    save_delta(model, tok, tmp_path / "delta", base="minilm")
    assert (tmp_path / "delta" / "delta.safetensors").stat().st_size < 3_000_000  # not the 23 MB embedding matrix
    again, tok2 = load_backbone(str(tmp_path / "delta"))
    assert len(tok2) == len(tok) and again.get_input_embeddings().weight.shape[0] == len(tok)
    ids = torch.tensor([tok("[Question] hi [/Question] [Answer]", add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        assert torch.allclose(model.eval()(ids).logits, again.eval()(ids).logits, atol=0.05)


@pytest.mark.parametrize(
    "text, clean",
    [("milk, milk [ / answer", "milk, milk"), ("the sea. [ question", "the sea."), ("ok [", "ok"), ("[1] is fine", "[1] is fine")],
)
def test_no_tag_fragment_is_ever_shown(text, clean):
    assert strip_tag_fragment(text) == clean


# --- reliability of the chat and loading paths (issue "Reliability, round 2") ---------------


def test_a_rejected_turn_leaves_the_session_usable():
    from dlm_kit.chat import ChatSession

    model, tok = load_backbone("tiny-bert", seed=0)
    chat = ChatSession(model.eval(), tok, sampling=SamplingConfig(max_new_tokens=4))
    with pytest.raises(ValueError):
        chat.send(f"what is {tok.mask_token} here")
    assert chat.messages == []
    chat.send("Copy: a b")
    assert [m["role"] for m in chat.messages] == ["user", "assistant"]


def test_a_long_conversation_drops_its_oldest_turns_and_says_so():
    from dlm_kit.chat import ChatSession

    model, tok = load_backbone("tiny-bert", seed=0)
    model.config.max_position_embeddings = 64  # a small context, so a few turns fill it
    chat = ChatSession(model.eval(), tok, sampling=SamplingConfig(max_new_tokens=8, block_size=8))
    with pytest.warns(UserWarning, match="dropped the oldest"):
        for turn in range(12):
            chat.send(f"Copy: a b c d e f g h {turn}")
    assert chat.dropped_turns > 0 and chat.messages[-2]["content"].endswith("11")


def test_cli_chat_survives_a_bad_line_and_thirty_turns(tiny_with_settings):
    import subprocess
    import sys

    lines = [f"Copy: a b {i}" for i in range(30)]
    lines.insert(3, "a [MASK] inside")
    run = subprocess.run([sys.executable, "-m", "dlm_kit.cli", "chat", "--model", str(tiny_with_settings)],
                         input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("bot>") == 30
    assert "was not answered" in run.stderr and "Traceback" not in run.stderr


def test_from_scratch_on_a_delta_model_gives_random_weights():
    trained, _ = load_backbone("bert-chat")
    fresh, tok = load_backbone("bert-chat", from_scratch=True, seed=0)
    assert type(fresh) is type(trained) and len(tok) == fresh.get_input_embeddings().weight.shape[0]
    layer = "bert.encoder.layer.5.output.dense.weight"
    assert not torch.equal(fresh.state_dict()[layer], trained.state_dict()[layer])


def test_a_damaged_delta_file_names_itself(tmp_path):
    import shutil

    from dlm_kit.backbones import MODELS_DIR

    folder = tmp_path / "bert-chat"
    shutil.copytree(MODELS_DIR / "bert-chat", folder)
    weights = folder / "delta.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ValueError, match="delta.safetensors"):
        load_backbone(str(folder))


def test_training_on_rows_without_answer_tokens_is_refused(tmp_path):
    from dlm_kit.training import TrainConfig, train

    model, tok = load_backbone("tiny-bert", seed=0)
    rows = [{"input_ids": [5, 6, 7], "labels": [-100, -100, -100]}] * 4
    with pytest.raises(ValueError, match="no.*token to learn|none of the first"):
        train(model, tok, rows, config=TrainConfig(output_dir=str(tmp_path), max_steps=1, batch_size=2, progress_bar=False))


@pytest.mark.parametrize("kwargs", [{"n_train": -3}, {"n_test": -1}])
def test_negative_task_counts_are_refused(kwargs):
    from dlm_kit.data import make_synthetic_tasks

    with pytest.raises(ValueError, match=next(iter(kwargs))):
        make_synthetic_tasks(["copy"], **kwargs)


def test_a_negative_limit_is_refused():
    from dlm_kit.data import load_chat_dataset

    with pytest.raises(ValueError, match="limit=-1"):
        load_chat_dataset("synthetic", limit=-1)


def test_an_over_long_row_is_refused_before_step_one(tmp_path):
    from dlm_kit.training import TrainConfig, train

    model, tok = load_backbone("tiny-bert", seed=0)
    rows = [{"input_ids": [5, 6, 7], "labels": [5, 6, 7]}] * 3 + [{"input_ids": [5] * 600, "labels": [5] * 600}]
    with pytest.raises(ValueError, match="row 3 has 600 tokens, more than the 512 positions"):
        train(model, tok, rows, config=TrainConfig(output_dir=str(tmp_path), max_steps=1, batch_size=2, progress_bar=False))


def test_empty_and_malformed_inputs_get_clear_errors(tmp_path, tiny_tokenizer):
    import datasets

    from dlm_kit.data import DataFormatError, SFTCollator, group_texts, load_chat_dataset, tokenize_chat_dataset
    from dlm_kit.masking import loss_at_mask_ratios

    with pytest.raises(ValueError, match="empty batch"):
        SFTCollator(tiny_tokenizer)([])
    with pytest.raises(ValueError, match="seq_length=0"):
        group_texts(datasets.Dataset.from_dict({"text": ["a b c"]}), tiny_tokenizer, seq_length=0)
    with pytest.raises(ValueError, match="'messages' column"):
        tokenize_chat_dataset(datasets.Dataset.from_dict({"text": ["a"]}), tiny_tokenizer)
    with pytest.raises(ValueError, match="empty"):
        loss_at_mask_ratios(None, [], mask_token_id=tiny_tokenizer.mask_token_id)
    bad = tmp_path / "latin1.jsonl"
    bad.write_bytes(b'{"instruction": "hi", "output": "ok"}\n{"instruction": "caf\xe9", "output": "x"}\n')
    with pytest.raises(DataFormatError, match=r"latin1.jsonl, line 2: not UTF-8"):
        load_chat_dataset(str(bad))


def test_english_families_must_be_known_or_the_open_questions_alone():
    from dlm_kit.english import load_english_chat

    with pytest.raises(ValueError, match="choose one or more"):
        load_english_chat(families=("haiku",))
    assert set(load_english_chat(families=())["train"]["family"]) == {"open"}


def test_gif_columns_must_be_positive(tmp_path):
    from dlm_kit.sampling import generate
    from dlm_kit.widgets import save_denoising_gif

    model, tok = load_backbone("tiny-bert", seed=0)
    out = generate(model.eval(), [[5, 6]], max_new_tokens=4, steps=4, block_size=4, mask_token_id=tok.mask_token_id,
                   return_history=True)
    with pytest.raises(ValueError, match="columns=0"):
        save_denoising_gif(out, tok, str(tmp_path / "x.gif"), columns=0)


@pytest.mark.parametrize("messages, says", [
    ([{"content": "hi"}, {"role": "assistant", "content": "yo"}], r"messages\[0\].role': None is not one of"),
    ([{"role": "user", "content": None}, {"role": "assistant", "content": "yo"}], r"messages\[0\].content': expected a string"),
    ([{"role": "robot", "content": "hi"}, {"role": "assistant", "content": "yo"}], "'robot' is not one of"),
    ("hello", "non-empty list of messages"),
    ([], "non-empty list of messages"),
    ([{"role": "user", "content": "hi"}], "last message must be the assistant's answer"),
])
def test_a_malformed_message_is_named(messages, says, tiny_tokenizer):
    from dlm_kit.data import DataFormatError, tokenize_chat

    with pytest.raises(DataFormatError, match=says):
        tokenize_chat(messages, tiny_tokenizer)


def test_a_dataset_row_with_a_message_without_role_is_named(tiny_tokenizer):
    import datasets

    from dlm_kit.data import DataFormatError, tokenize_chat_dataset

    rows = {"messages": [[{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],
                         [{"content": "a"}, {"role": "assistant", "content": "b"}]]}
    with pytest.raises(DataFormatError, match=r"row 1: tokenize_chat, field 'messages\[0\].role': None"):
        tokenize_chat_dataset(datasets.Dataset.from_list([{"messages": m} for m in rows["messages"]]), tiny_tokenizer)


def test_a_tokenizer_larger_than_the_model_is_refused_with_the_fix(tmp_path):
    from dlm_kit.chat import answer
    from dlm_kit.training import TrainConfig, train

    model, tok = load_backbone("tiny-bert", seed=0)
    rows = [{"input_ids": [5, 6, 7], "labels": [5, 6, 7]}, {"input_ids": [5, 9999], "labels": [5, 9999]}]
    with pytest.raises(ValueError, match="row 1 holds token id 9999.*resize_token_embeddings"):
        train(model, tok, rows, config=TrainConfig(output_dir=str(tmp_path), max_steps=1, batch_size=2, progress_bar=False))
    tok.add_tokens([f"brandnew{i}" for i in range(5000)])
    with pytest.raises(ValueError, match="outside the model's vocabulary.*resize_token_embeddings"):
        answer(model.eval(), tok, ["brandnew4999 brandnew4998"])


def test_examples_without_labels_are_named_in_every_path(tiny_tokenizer):
    from dlm_kit.data import SFTCollator
    from dlm_kit.masking import loss_at_mask_ratios

    rows = [{"input_ids": [5, 6, 7]}]
    with pytest.raises(ValueError, match="'input_ids' and 'labels'"):
        SFTCollator(tiny_tokenizer)(rows)
    model, _ = load_backbone("tiny-bert", seed=0)
    with pytest.raises(ValueError, match=r"missing \['labels'\]"):
        loss_at_mask_ratios(model, rows, mask_token_id=tiny_tokenizer.mask_token_id)


def test_a_truncated_weights_file_in_a_saved_folder_names_the_folder(tmp_path):
    model, tok = load_backbone("tiny-bert", seed=0)
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(ValueError, match=f"{tmp_path}: cannot read the saved weights.*damaged"):
        load_backbone(str(tmp_path))
