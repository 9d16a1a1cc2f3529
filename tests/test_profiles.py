"""Profiles: notebooks read one preset; a wrong name says what exists."""

import pytest

from dlm_kit.profiles import get_profile


def test_tiny_is_the_default(monkeypatch):
    monkeypatch.delenv("DLM_KIT_PROFILE", raising=False)
    assert get_profile().name == "tiny" and get_profile().device == "cpu"


def test_environment_variable_selects_the_profile(monkeypatch):
    monkeypatch.setenv("DLM_KIT_PROFILE", "full")
    assert get_profile().pretrain_corpus == "wikitext-103"
    assert get_profile("tiny").name == "tiny"  # an explicit argument wins


def test_tiny_profile_names_only_offline_assets():
    from dlm_kit.backbones import TINY_BACKBONES

    tiny = get_profile("tiny")
    assert set(tiny.backbones) | {tiny.chat_backbone} <= set(TINY_BACKBONES)
    assert tiny.sft_stages == (("synthetic",),) and tiny.pretrain_corpus == "gensim-wikipedia"


def test_unknown_profile_lists_the_choices(monkeypatch):
    monkeypatch.setenv("DLM_KIT_PROFILE", "huge")
    with pytest.raises(ValueError, match=r"Unknown profile 'huge' \(from DLM_KIT_PROFILE\); choose one of"):
        get_profile()
