"""The bert-chat recipes at toy size: teacher data, MLM head, SFT, evaluation and cards run end to end."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _run(*args, cwd=REPO):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_teacher_recipe_writes_and_resumes(tmp_path):
    out = tmp_path / "answers.jsonl"
    _run("scripts/make_english_chat.py", "--limit", "2", "--batch_size", "2", "--max_new_tokens", "8", "--output", str(out))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2 and all(r["answer"] and r["split"] in ("train", "test") for r in rows)
    assert "2 answers already" in _run("scripts/make_english_chat.py", "--limit", "2", "--output", str(out))


def test_bert_chat_recipe_end_to_end_at_toy_size(tmp_path):
    models, runs = tmp_path / "models", tmp_path / "runs"
    common = ["--models_dir", str(models), "--runs_dir", str(runs), "--eval_every", "1", "--save_steps", "1"]
    _run("scripts/train_bert_chat.py", "--stage", "head", "--max_steps", "2", "--limit", "2", *common)
    assert (models / "minilm-mlm" / "delta.safetensors").exists()
    # rerun with more steps: it resumes from the checkpoint instead of starting over
    _run("scripts/train_bert_chat.py", "--stage", "head", "--max_steps", "3", "--limit", "2", *common)
    assert json.loads((models / "minilm-mlm" / "training.json").read_text())["resumed"] is True
    for objective, name in (("mdlm", "bert-chat"), ("mlm", "bert-chat-mlm")):
        _run("scripts/train_bert_chat.py", "--stage", "sft", "--objective", objective, "--max_steps", "2", "--limit", "16", *common)
        assert (models / name / "delta.safetensors").exists()
    _run("scripts/eval_bert_chat.py", "--models_dir", str(models), "--limit", "1")
    record = json.loads((models / "bert-chat" / "eval.json").read_text())
    assert {"before SFT", "bert-chat-mlm", "bert-chat", "teacher (ceiling)"} <= set(record["systems"])
    _run("scripts/write_bert_chat_cards.py", "--models_dir", str(models))
    assert "Held-out results" in (models / "bert-chat" / "README.md").read_text()


def test_teacher_data_recipe_writes_and_resumes(tmp_path):
    out = tmp_path / "answers.jsonl"
    _run("scripts/make_teacher_data.py", "--limit", "2", "--batch_size", "2", "--max_new_tokens", "8", "--output", str(out))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2 and all({"prompt", "type", "kind", "topic", "split", "answer", "truncated"} <= set(r) for r in rows)
    assert "2 answers already" in _run("scripts/make_teacher_data.py", "--limit", "2", "--output", str(out))


def test_new_bert_chat_recipe_stops_exports_and_resumes_in_a_fresh_sitting(tmp_path):
    models, runs, checkpoints = tmp_path / "models", tmp_path / "runs", tmp_path / "checkpoints"
    common = ["--stage", "sft", "--objective", "mdlm", "--data", "teacher", "--top_layers", "6", "--answer_length", "16",
              "--batch_size", "4", "--max_steps", "3", "--limit", "16", "--eval_every", "1", "--save_steps", "2",
              "--init", "models/minilm-mlm", "--models_dir", str(models), "--runs_dir", str(runs),
              "--checkpoints_dir", str(checkpoints)]
    out = _run("scripts/train_bert_chat.py", *common, "--max_minutes", "0")  # the sitting ends after its first step
    assert "stopped after 0.0 min" in out and not (models / "bert-chat").exists()
    _run("scripts/train_bert_chat.py", *common, "--export")
    exported = checkpoints / "bert-chat"
    assert (exported / "step.txt").read_text().strip() == "1"
    assert (exported / "optimizer.pt").stat().st_size < 100_000  # the moments are not committed
    import shutil

    shutil.rmtree(runs)  # a fresh clone: only the exported folder is left
    out = _run("scripts/train_bert_chat.py", *common)
    assert "restored" in out
    stage = json.loads((models / "bert-chat" / "training.json").read_text())
    assert stage["resumed"] is True and [row["step"] for row in stage["loss_by_mask_ratio"]] == [1, 2, 3]


def test_conversation_stage_continues_from_a_committed_model(tmp_path):
    """Stage 2 of bert-chat: from a model folder, rows with earlier turns, batches grouped by length."""
    models = tmp_path / "models"
    _run("scripts/train_bert_chat.py", "--stage", "sft", "--objective", "mdlm", "--data", "teacher", "--top_layers", "6",
         "--answer_length", "16", "--batch_size", "4", "--max_steps", "2", "--limit", "16", "--eval_every", "2",
         "--init", "models/minilm-mlm", "--earlier_turns", "1.0", "--refer_back", "0.5", "--group_by_length",
         "--models_dir", str(models), "--runs_dir", str(tmp_path / "runs"), "--checkpoints_dir", str(tmp_path / "ck"))
    record = json.loads((models / "bert-chat" / "training.json").read_text())
    assert record["earlier_turns"] == 1.0 and record["group_by_length"] is True and record["step"] == 2
