"""Backbones and the chat template: offline loading, tied heads, the released chat format."""

import pytest
import torch
from transformers import AutoTokenizer

from dlm_kit.backbones import CHAT_TEMPLATE, load_backbone, minilm_path, prepare_tokenizer

SYSTEM_USER = [
    {"role": "system", "content": "You are a helpful AI assistant."},
    {"role": "user", "content": "Hi there"},
]
MULTI_TURN = [
    {"role": "user", "content": "What is 2+2?"},
    {"role": "assistant", "content": "4"},
    {"role": "user", "content": "And 3+3?"},
]


def test_chat_template_renders_the_released_modernbert_chat_format(tiny_tokenizer):
    render = lambda m, gen: tiny_tokenizer.apply_chat_template(m, add_generation_prompt=gen, tokenize=False)  # noqa: E731
    assert render(SYSTEM_USER, True) == (
        "[SYS]\nYou are a helpful AI assistant.\n[/SYS]\n\n[Question]\nHi there\n[/Question]\n\n[Answer]\n"
    )
    assert render(MULTI_TURN, True) == (
        "[Question]\nWhat is 2+2?\n[/Question]\n\n[Answer]\n4\n[/Answer]\n\n"
        "[Question]\nAnd 3+3?\n[/Question]\n\n[Answer]\n"
    )
    qa = [{"role": "user", "content": "  Q \n"}, {"role": "assistant", "content": "\nA  "}]
    assert render(qa, False) == "[Question]\nQ\n[/Question]\n\n[Answer]\nA\n[/Answer]\n\n"


def test_chat_template_round_trip_messages_text_tokens(tiny_tokenizer):
    text = tiny_tokenizer.apply_chat_template(MULTI_TURN, add_generation_prompt=True, tokenize=False)
    ids = tiny_tokenizer(text)["input_ids"]
    # the tiny tokenizer adds no [CLS]/[SEP] and keeps tags whole, so decoding gives the tags back
    assert tiny_tokenizer.convert_ids_to_tokens(ids)[:1] == ["[Question]"]
    decoded = tiny_tokenizer.decode(ids)
    # WordPiece decoding may space punctuation ("2 + 2"), so compare without whitespace,
    # and check that the decoded text tokenises back to the same ids
    assert "".join(decoded.split()) == "".join(text.split())
    assert tiny_tokenizer(decoded)["input_ids"] == ids


def test_unknown_chat_role_is_rejected(tiny_tokenizer):
    with pytest.raises(Exception, match="Unknown chat role"):
        tiny_tokenizer.apply_chat_template([{"role": "robot", "content": "x"}], tokenize=False)


def test_a_tokenizer_with_a_template_keeps_it():
    tok = AutoTokenizer.from_pretrained(minilm_path())
    tok.chat_template = "{{ messages[0]['content'] }}"
    assert prepare_tokenizer(tok).chat_template == "{{ messages[0]['content'] }}"
    assert prepare_tokenizer(AutoTokenizer.from_pretrained(minilm_path())).chat_template == CHAT_TEMPLATE


def test_a_tokenizer_without_mask_token_is_refused():
    tok = AutoTokenizer.from_pretrained(minilm_path())
    tok.mask_token = None
    with pytest.raises(ValueError, match="no mask token"):
        prepare_tokenizer(tok)


def test_minilm_loads_offline_with_head_tied_to_embeddings():
    model, tok = load_backbone("minilm")
    assert type(model).__name__ == "BertForMaskedLM"
    assert model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    # the encoder is pretrained (not random): its word embeddings match the shipped checkpoint
    from safetensors.torch import load_file

    shipped = load_file(f"{minilm_path()}/model.safetensors")
    key = next(k for k in shipped if k.endswith("word_embeddings.weight"))
    assert torch.equal(model.get_input_embeddings().weight, shipped[key])
    assert tok.mask_token_id == model.config.mask_token_id == 103


def test_minilm_random_has_the_same_shape_but_fresh_weights():
    pretrained, _ = load_backbone("minilm")
    random_init, _ = load_backbone("minilm-random", seed=0)
    assert pretrained.num_parameters() == random_init.num_parameters()
    assert not torch.equal(pretrained.get_input_embeddings().weight, random_init.get_input_embeddings().weight)


@pytest.mark.parametrize("name", ["tiny-bert", "tiny-modernbert", "tiny-roberta"])
def test_tiny_backbones_run_a_forward_pass_with_the_tiny_vocabulary(name, tiny_tokenizer):
    model, tok = load_backbone(name, seed=0)
    assert len(tok) == len(tiny_tokenizer)
    ids = torch.tensor([tok("[Question]\nSort the letters: b a\n[/Question]")["input_ids"]])
    logits = model(input_ids=ids).logits
    assert logits.shape == (1, ids.shape[1], len(tok))
    assert model.num_parameters() < 3_000_000


@pytest.mark.parametrize("name, suggestion", [("tiny-bertt", "tiny-bert"), ("bert-chatt", "bert-chat"), ("TINY-CHAT", "tiny-chat")])
def test_unknown_kit_name_fails_at_once_naming_the_kit_models(name, suggestion):
    import time

    start = time.perf_counter()
    with pytest.raises(FileNotFoundError, match=rf"no kit model of that name\. Did you mean '{suggestion}'\?.*Kit models: "):
        load_backbone(name)
    assert time.perf_counter() - start < 10  # no network retries


def test_a_relative_run_folder_that_does_not_exist_is_local(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # even online, "runs/sort" is not a hub id here
    with pytest.raises(FileNotFoundError, match="No folder 'runs/sort'"):
        load_backbone("runs/sort")


def test_a_folder_without_tokenizer_files_is_refused(tmp_path):
    model, _ = load_backbone("tiny-bert", seed=0)
    model.save_pretrained(tmp_path)
    with pytest.raises(FileNotFoundError, match="no tokenizer files"):
        load_backbone(str(tmp_path))


def test_dtype_as_a_string():
    model, _ = load_backbone("tiny-bert", dtype="float16", seed=0)
    assert next(model.parameters()).dtype == torch.float16
    with pytest.raises(ValueError, match="dtype='half-ish'"):
        load_backbone("tiny-bert", dtype="half-ish")


def test_shipped_tiny_tokenizer_is_the_one_the_committed_models_use(tiny_tokenizer):
    # the trainer orders tied merges differently from run to run, so the vocabulary ships
    chat_tokenizer = load_backbone("tiny-chat")[1]
    assert tiny_tokenizer.get_vocab() == chat_tokenizer.get_vocab()


def test_retraining_the_tiny_tokenizer_reproduces_the_shipped_vocabulary_closely(tiny_tokenizer, tmp_path, monkeypatch):
    # the trainer breaks ties differently from run to run: a few boundary tokens and the ids
    # change, which is why the vocabulary ships; the recipe itself must still reproduce it
    from dlm_kit.backbones import CHAT_TAGS, build_tiny_tokenizer

    monkeypatch.setenv("DLM_KIT_CACHE", str(tmp_path))
    retrained, shipped = set(build_tiny_tokenizer(retrain=True).get_vocab()), set(tiny_tokenizer.get_vocab())
    assert len(retrained) == len(shipped)
    assert len(retrained & shipped) / len(shipped) > 0.98
    assert set(CHAT_TAGS) | {"[MASK]", "[PAD]"} <= retrained


def test_from_scratch_keeps_architecture_and_tokenizer_but_not_weights():
    trained, tok = load_backbone("tiny-chat")
    fresh, fresh_tok = load_backbone("tiny-chat", from_scratch=True, seed=0)
    assert type(fresh) is type(trained) and fresh.config.hidden_size == trained.config.hidden_size
    assert fresh_tok.get_vocab() == tok.get_vocab() and fresh_tok.chat_template == tok.chat_template
    name, weight = next((n, p) for n, p in trained.named_parameters() if p.dim() == 2)
    assert not torch.equal(dict(fresh.named_parameters())[name], weight)


def _save(model, tok, folder):
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return str(folder)


def test_an_encoder_only_folder_warns_that_its_mlm_head_starts_random(tmp_path, tiny_tokenizer):
    from transformers import BertModel

    from dlm_kit.backbones import tiny_config

    folder = _save(BertModel(tiny_config("bert", tiny_tokenizer, num_layers=1)), tiny_tokenizer, tmp_path / "encoder")
    with pytest.warns(UserWarning, match=r"encoder: 6 weights of BertForMaskedLM .* start random: "
                                         r"cls\.predictions\.bias, .*cls\.predictions\.transform\.dense\.weight\. "
                                         r"An encoder-only checkpoint"):
        model, _ = load_backbone(folder)
    assert type(model).__name__ == "BertForMaskedLM"


def test_minilm_and_a_complete_masked_lm_folder_load_without_that_warning(tmp_path):
    import warnings

    model, tok = load_backbone("tiny-bert", seed=0)
    folder = _save(model, tok, tmp_path / "mlm")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_backbone("minilm")  # its new head is documented: fine-tuning it is the point
        load_backbone(folder)
    assert not [w for w in caught if "start random" in str(w.message)]


@pytest.mark.parametrize("path", ["/nonexistent/run", "./runs/missing", "runs/sort/final", "~/no-such-run"])
def test_a_missing_local_folder_says_so_instead_of_blaming_the_hub_id(path):
    with pytest.raises(FileNotFoundError, match=r"No folder .* does not exist\) and no kit model of that name.*a folder a training run wrote"):
        load_backbone(path)
