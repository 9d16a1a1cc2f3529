"""Every notebook's `full` branch, executed top to bottom with the `smoke` profile.

`smoke` is `full` with local stand-ins for the hub models and data (built here by
``scripts/make_smoke_assets.py``) and toy sizes and step counts, so the code a GPU user with
the hub runs is executed on every commit. This is execution, not output comparison: nbval
compares the `tiny` outputs; here any error fails. The notebooks run from a scratch copy, so
nothing is written next to the committed ones.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import REPO

pytestmark = pytest.mark.slow

NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))

PENDING: dict[str, str] = {}
"""Notebooks whose `full` branch still hard-codes a hub id or a size: skipped, saying why."""


@pytest.fixture(scope="session")
def smoke_assets(tmp_path_factory):
    """The stand-ins: ``$DLM_KIT_SMOKE_DIR`` if it already holds them, else built here (~20 s)."""
    given = os.environ.get("DLM_KIT_SMOKE_DIR")
    if given and (Path(given) / "smoke_assets.json").exists():
        return Path(given)
    out = tmp_path_factory.mktemp("smoke-assets")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, str(REPO / "scripts" / "make_smoke_assets.py"), "--out", str(out)],
                   check=True, env=env, capture_output=True)
    return out


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_its_full_branch_with_the_smoke_profile(name, smoke_assets, tmp_path, monkeypatch):
    if name in PENDING:
        pytest.skip(f"{name}: full branch not yet profile-driven: {PENDING[name]}")
    from nbclient import NotebookClient

    # a scratch copy of the layout the notebooks expect (they read ../data, write runs/)
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "data").symlink_to(REPO / "data")
    shutil.copy(REPO / "notebooks" / name, tmp_path / "notebooks" / name)
    monkeypatch.setenv("DLM_KIT_PROFILE", "smoke")
    monkeypatch.setenv("DLM_KIT_SMOKE_DIR", str(smoke_assets))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("MPLBACKEND", "agg")
    nb = nbformat.read(tmp_path / "notebooks" / name, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path / "notebooks")}})
    client.execute()  # raises CellExecutionError naming the cell and its traceback
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    if "profile:" in printed:
        assert "profile: smoke" in printed


def test_smoke_standins_have_the_hub_formats(smoke_assets):
    """The stand-ins load like the hub assets: same model classes, tokenizer kinds and layouts."""
    import json

    from dlm_kit.backbones import load_backbone
    from dlm_kit.data import load_sft_stage, load_text_corpus
    from dlm_kit.profiles import SMOKE_STANDINS

    def folder(hub_id):
        return str(smoke_assets / SMOKE_STANDINS[hub_id])

    expected = {
        "answerdotai/ModernBERT-base": ("ModernBertForMaskedLM", "[CLS]", "[SEP]"),
        "google-bert/bert-base-uncased": ("BertForMaskedLM", "[CLS]", "[SEP]"),
        "FacebookAI/roberta-base": ("RobertaForMaskedLM", "<s>", "</s>"),
    }
    for hub_id, (model_class, first, last) in expected.items():
        model, tok = load_backbone(folder(hub_id), seed=0)
        ids = tok("Hello World")["input_ids"]
        assert type(model).__name__ == model_class
        assert tok.convert_ids_to_tokens([ids[0], ids[-1]]) == [first, last]  # the real post-processors
        assert model.num_parameters() < 1_000_000
    backend = {h: json.loads((smoke_assets / h / "tokenizer.json").read_text())["model"]["type"] for h in expected}
    assert backend == {"answerdotai/ModernBERT-base": "BPE", "google-bert/bert-base-uncased": "WordPiece",
                       "FacebookAI/roberta-base": "BPE"}
    assert load_backbone(folder("FacebookAI/roberta-base"))[1].pad_token_id == 1  # positions start at pad + 1
    from transformers import AutoModelForCausalLM, AutoTokenizer

    qwen_folder = folder("Qwen/Qwen1.5-0.5B")
    qwen, qwen_tok = AutoModelForCausalLM.from_pretrained(qwen_folder), AutoTokenizer.from_pretrained(qwen_folder)
    assert type(qwen).__name__ == "Qwen2ForCausalLM" and qwen.num_parameters() < 1_000_000
    specials = (qwen_tok.eos_token, qwen_tok.pad_token, qwen_tok.bos_token, qwen_tok.mask_token)
    assert specials == ("<|endoftext|>", "<|endoftext|>", None, None)  # no BOS, no mask: a causal LM's tokenizer
    chat = qwen_tok.apply_chat_template([{"role": "user", "content": "Hi"}], add_generation_prompt=True, tokenize=False)
    assert chat == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"  # ChatML, as Qwen1.5
    bert = load_backbone(folder("google-bert/bert-base-uncased"))[1]
    assert bert.tokenize("The HISTORY") == bert.tokenize("the history")  # uncased
    assert load_text_corpus(folder("wikitext-103"), split="validation").num_rows > 100
    stage = load_sft_stage([folder("allenai/tulu-3-sft-mixture"), folder("HuggingFaceTB/smoltalk")])
    assert {m["role"] for row in stage["messages"] for m in row} == {"system", "user", "assistant"}
    assert load_sft_stage([folder("tatsu-lab/alpaca")])[0]["messages"][0]["role"] == "user"
