"""eval_chat_bars.py --pick_sampling is resumable: a setting scored before an interruption is not scored again."""

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _load_script():
    spec = importlib.util.spec_from_file_location("eval_chat_bars", REPO / "scripts" / "eval_chat_bars.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bars_script(monkeypatch, calls: list, fail_after: int | None = None):
    module = _load_script()

    def answers(model, tok, questions, sampling=None):
        if fail_after is not None and len(calls) >= fail_after:
            raise KeyboardInterrupt  # the sitting ends
        calls.append(sampling)
        # a made-up relevance that differs between settings, so the pick is the same however timed
        value = sampling.block_size / 64 + sampling.steps / 1000 + sampling.min_new_tokens / 100 + sampling.repetition_penalty
        words = f"an answer worth {value:.4f} to the made-up judge, in a few more words"
        return [f"{words} {i}" for i in range(len(questions))], "settings", 1.0

    monkeypatch.setattr(module, "load_backbone", lambda folder: (type("M", (), {"eval": lambda self: self})(), None))
    monkeypatch.setattr(module, "model_answers", answers)
    monkeypatch.setattr(module, "relevance", lambda questions, replies, judge: [float(r.split()[3]) for r in replies])
    monkeypatch.setattr(module, "conversation_turns", lambda model, tok, questions, judge, sampling: {"turns": [
        {"clean": 1.0, "replies": r, "relevance_per_reply": [float(x.split()[3]) for x in r]}
        for r in [answers(model, tok, questions, sampling)[0]] * 3]})
    return module


def test_a_rerun_skips_the_settings_scored_before_the_interruption(monkeypatch, tmp_path):
    dev = [{"messages": [{"role": "user", "content": f"question {i}?"}], "answer": f"an answer {i}"} for i in range(4)]
    first: list = []
    with pytest.raises(KeyboardInterrupt):
        _bars_script(monkeypatch, first, fail_after=5).pick_sampling(str(tmp_path), dev, judge=None)
    saved = json.loads((tmp_path / "sampling_pick.partial.json").read_text())
    assert len(saved["scores"]) == 5 and saved["n_dev"] == 4
    second: list = []
    picked = _bars_script(monkeypatch, second).pick_sampling(str(tmp_path), dev, judge=None)
    full: list = []
    (tmp_path / "uninterrupted").mkdir()
    _bars_script(monkeypatch, full).pick_sampling(str(tmp_path / "uninterrupted"), dev, judge=None)
    assert len(second) == len(full) - len(first)  # the rest, and only the rest
    resumed, whole = (json.loads((d / "sampling_pick.json").read_text()) for d in (tmp_path, tmp_path / "uninterrupted"))
    assert resumed["picked"] == whole["picked"] and resumed["scores"].keys() == whole["scores"].keys()
    assert not (tmp_path / "sampling_pick.partial.json").exists() and picked.max_new_tokens == 64


def test_keep_reuses_the_other_systems_rows_and_refuses_other_questions(monkeypatch, tmp_path):
    module = _bars_script(monkeypatch, [])
    output = tmp_path / "bars.json"
    rows = [{"system": module.TEACHER}, {"system": "bert-chat"}, {"system": "bert-chat-mlm"}]
    output.write_text(json.dumps({"questions": ["q1", "q2"], "facts": [{"question": "f"}], "results": rows}))
    kept = module.kept_rows(output, ["q1", "q2"], [{"question": "f"}], ["models/bert-chat-mlm"])
    assert [r["system"] for r in kept] == [module.TEACHER, "bert-chat"]  # the listed system is measured again
    assert module.kept_rows(tmp_path / "none.json", ["q1"], [], ["bert-chat"]) == []
    with pytest.raises(SystemExit, match="other questions"):
        module.kept_rows(output, ["q1", "q3"], [{"question": "f"}], ["bert-chat"])


def test_systems_are_named_by_what_they_are(monkeypatch):
    module = _bars_script(monkeypatch, [])
    assert module.system_name("checkpoints/bert-chat") == "bert-chat"
    assert module.system_name("ar:smollm2-135m-instruct") == "smollm2-135m-instruct (AR, KV cache)"
    assert module.system_name("before-sft:models/smollm2-diffusion") == "smollm2-diffusion, before SFT"
    with pytest.raises(SystemExit, match="has no dlm_kit_a2d.json; name a converted model's adapter folder"):
        module.load_system("before-sft:bert-chat")  # a BERT's folder: nothing was converted


def test_conversations_carry_each_reply_into_the_next_turn(monkeypatch):
    module = _load_script()
    seen = []
    monkeypatch.setattr(module, "write_replies", lambda model, tok, conversations, sampling: seen.append(
        [len(c) for c in conversations]) or [f"reply {len(c)}" for c in conversations])
    monkeypatch.setattr(module, "relevance", lambda questions, replies, judge: [1.0] * len(replies))
    talks = module.conversation_turns(None, None, [f"question {i}?" for i in range(6)], judge=None)
    assert seen == [[1, 1], [3, 3], [5, 5]]  # two conversations; each turn sees the earlier exchanges
    assert talks["conversations"][0][1] == {"role": "assistant", "content": "reply 1"}
    assert [t["clean"] for t in talks["turns"]] == [0.0, 0.0, 0.0]  # two-word replies are not clean answers
