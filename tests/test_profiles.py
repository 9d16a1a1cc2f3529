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
    from dlm_kit.backbones import KIT_MODELS, TINY_BACKBONES
    from dlm_kit.data import load_sft_stage

    tiny = get_profile("tiny")
    assert set(tiny.backbones) | {tiny.chat_backbone} <= set(TINY_BACKBONES) | set(KIT_MODELS)
    assert tiny.pretrain_corpus == "gensim-wikipedia"
    # the seed's two SFT stages in their layouts (Alpaca, then Tulu messages), offline
    alpaca, tulu = (load_sft_stage(stage) for stage in tiny.sft_stages)
    assert max(len(r["messages"]) for r in alpaca) == 2 and max(len(r["messages"]) for r in tulu) >= 4


def test_unknown_profile_lists_the_choices(monkeypatch):
    monkeypatch.setenv("DLM_KIT_PROFILE", "huge")
    with pytest.raises(ValueError, match=r"Unknown profile 'huge' \(from DLM_KIT_PROFILE\); choose one of"):
        get_profile()


def _full_hub_assets(full):
    return ({*full.backbones, full.chat_backbone, full.pair_backbone, full.released_chat_model, full.pretrain_corpus,
             full.causal_baseline, full.a2d_base, full.a2d_compare_with}
            | {source for stage in full.sft_stages for source in stage})


def test_every_hub_asset_of_full_has_a_smoke_standin():
    from dlm_kit.profiles import SMOKE_STANDINS

    assert _full_hub_assets(get_profile("full")) <= set(SMOKE_STANDINS)


def test_smoke_profile_is_full_on_local_standins_with_toy_budgets(monkeypatch, tmp_path):
    from dlm_kit.profiles import SMOKE_STANDINS

    (tmp_path / "smoke_assets.json").write_text("{}")
    monkeypatch.setenv("DLM_KIT_SMOKE_DIR", str(tmp_path))
    monkeypatch.setenv("DLM_KIT_PROFILE", "smoke")
    smoke, full = get_profile(), get_profile("full")
    assert smoke.name == "smoke" and smoke.device == "cpu"
    assert smoke.backbones == tuple(str(tmp_path / SMOKE_STANDINS[b]) for b in full.backbones)
    assert smoke.chat_backbone == str(tmp_path / full.chat_backbone)
    assert smoke.causal_baseline == smoke.a2d_base == str(tmp_path / "Qwen/Qwen1.5-0.5B")
    assert smoke.pretrain_corpus == str(tmp_path / "Salesforce/wikitext/wikitext-103-raw-v1")
    assert [len(stage) for stage in smoke.sft_stages] == [len(stage) for stage in full.sft_stages]
    assert smoke.pretrain_steps <= 10 and smoke.sft_steps <= 10 and smoke.seq_length <= 64


def test_smoke_profile_without_its_standins_says_how_to_build_them(monkeypatch, tmp_path):
    monkeypatch.setenv("DLM_KIT_SMOKE_DIR", str(tmp_path / "nothing"))
    with pytest.raises(FileNotFoundError, match=r"python scripts/make_smoke_assets.py --out .*nothing"):
        get_profile("smoke")


def test_benchmark_tasks_are_the_evaluation_module_task_lists():
    from dlm_kit.evaluation import LOCAL_TASKS, SEED_TABLE_TASKS

    assert get_profile("full").benchmark_tasks == tuple(SEED_TABLE_TASKS.values())
    assert get_profile("tiny").benchmark_tasks == tuple(LOCAL_TASKS)


def test_full_scores_the_seeds_autoregressive_baseline_beside_the_released_chat_model():
    full = get_profile("full")
    assert full.causal_baseline == "Qwen/Qwen1.5-0.5B" and full.released_chat_model.endswith("ModernBERT-large-chat-v0")


def test_notebook_02_compares_sft_on_a_backbone_the_profile_pretrains():
    """Bug 11: the SFT comparison must start from a backbone section 1 trained in every profile."""
    full, tiny = get_profile("full"), get_profile("tiny")
    assert full.chat_backbone in full.backbones  # notebook 02 uses it on full (the seed's ModernBERT-large)
    assert "minilm" in tiny.backbones
