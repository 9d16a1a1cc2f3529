"""Chat: prompts through the template, answers trimmed at their end, exact match per family, CLI."""

import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch

from dlm_kit.backbones import load_backbone
from dlm_kit.chat import ChatSession, SamplingConfig, answer, build_prompt, evaluate_tasks, trim_answer
from dlm_kit.data import make_synthetic_tasks


class OracleLM(torch.nn.Module):
    """A stand-in masked LM that 'knows' each prompt's full reply and predicts it everywhere."""

    def __init__(self, tokenizer, replies: dict[tuple, list[int]]):
        super().__init__()
        self.tokenizer, self.replies = tokenizer, replies
        self.config = SimpleNamespace(vocab_size=len(tokenizer), max_position_embeddings=512,
                                      mask_token_id=tokenizer.mask_token_id, pad_token_id=tokenizer.pad_token_id)
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, input_ids, attention_mask=None):
        logits = torch.zeros(*input_ids.shape, self.config.vocab_size)
        for row, ids in enumerate(input_ids.tolist()):
            prompt = next(p for p in self.replies if tuple(ids[: len(p)]) == p)
            target = list(prompt) + self.replies[prompt]
            target += [self.tokenizer.eos_token_id] * (len(ids) - len(target))
            logits[row, torch.arange(len(ids)), torch.tensor(target[: len(ids)])] = 10.0
        return SimpleNamespace(logits=logits)


def _oracle(tok, rows, wrong=False):
    replies = {}
    for row in rows:
        reply = "z z z" if wrong else row["answer"]
        replies[tuple(build_prompt(tok, row["messages"][:-1]))] = tok(f"{reply}\n[/Answer]\n\n")["input_ids"]
    return OracleLM(tok, replies).eval()


def test_trim_answer_stops_at_the_end_tag_or_eos(tiny_tokenizer):
    tok = tiny_tokenizer
    assert trim_answer(tok("a b [/Answer] c d")["input_ids"], tok) == "a b"
    assert trim_answer(tok("a b")["input_ids"] + [tok.eos_token_id] + tok("c")["input_ids"], tok) == "a b"


def test_evaluate_tasks_scores_exact_match_per_family(tiny_tokenizer):
    test = make_synthetic_tasks(["sort", "copy"], n_train=0, n_test=6, seed=0)["test"]
    sampling = SamplingConfig(max_new_tokens=16)
    assert evaluate_tasks(_oracle(tiny_tokenizer, test), tiny_tokenizer, test, sampling=sampling) == {
        "all": 1.0, "copy": 1.0, "sort": 1.0}
    assert evaluate_tasks(_oracle(tiny_tokenizer, test, wrong=True), tiny_tokenizer, test, sampling=sampling)["all"] == 0.0


def test_answer_batches_prompts_of_different_lengths(tiny_tokenizer):
    test = make_synthetic_tasks(["copy", "add"], n_train=0, n_test=3, seed=0)["test"]
    replies = answer(_oracle(tiny_tokenizer, test), tiny_tokenizer, [r["messages"][:-1] for r in test],
                     sampling=SamplingConfig(max_new_tokens=16), batch_size=4)
    assert [r.replace(" ", "") for r in replies] == [r["answer"].replace(" ", "") for r in test]


def test_chat_session_carries_earlier_turns_into_the_next_prompt(tiny_tokenizer):
    model, tok = load_backbone("tiny-bert", seed=0)
    chat = ChatSession(model.eval(), tok, system="Be brief.", sampling=SamplingConfig(max_new_tokens=8))
    first = chat.send("Hi")
    chat.send("And now?")
    prompt = tok.decode(build_prompt(tok, [{"role": "system", "content": "Be brief."}] + chat.messages[:3]))
    assert "Hi" in prompt and "And now?" in prompt and [m["role"] for m in chat.messages] == [
        "user", "assistant", "user", "assistant"]
    assert chat.messages[1]["content"] == first
    assert chat.last_output.history and len(chat.last_output.history) == chat.last_output.steps_taken
    chat.reset()
    assert chat.messages == []


def test_answer_refuses_a_bare_string(tiny_tokenizer):
    model, tok = load_backbone("tiny-bert", seed=0)
    with pytest.raises(TypeError, match="wrap a single one"):
        answer(model, tok, "Hi")


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    model, tok = load_backbone("tiny-bert", seed=0)
    path = tmp_path_factory.mktemp("cli") / "model"
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


def _cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "dlm_kit.cli", *args], input=stdin, capture_output=True,
                          text=True, timeout=120)


def test_cli_generate_prints_an_answer_and_its_cost(saved_model):
    proc = _cli("generate", "--model", saved_model, "--prompt", "Sort the letters: b a", "--max_new_tokens", "8",
                "--live")
    assert proc.returncode == 0, proc.stderr
    assert "step   1 |" in proc.stdout and "forward passes" in proc.stderr


def test_cli_chat_reads_turns_until_exit(saved_model):
    proc = _cli("chat", "--model", saved_model, "--max_new_tokens", "8", stdin="Hello\n/reset\nAgain\n/exit\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("bot> ") == 2


def test_cli_without_model_says_what_to_pass():
    proc = _cli("generate", "--prompt", "x")
    assert proc.returncode != 0 and "--model is required" in proc.stderr


def test_committed_tiny_chat_model_answers_held_out_questions():
    """models/tiny-chat (scripts/train_tiny_chat.py) must keep its model card's promise."""
    import json

    from dlm_kit.backbones import MODELS_DIR

    model, tok = load_backbone("tiny-chat")
    card = json.loads((MODELS_DIR / "tiny-chat" / "eval_results.json").read_text())
    test = make_synthetic_tasks(["reverse", "maximum"], n_train=4000, n_test=200, seed=0)["test"]
    test = test.select([*range(30), *range(200, 230)])  # 30 of each family
    scores = evaluate_tasks(model, tok, test, sampling=SamplingConfig(max_new_tokens=16))
    assert scores["reverse"] >= 0.8 and scores["maximum"] >= 0.8
    assert card["reverse"] >= 0.8 and max(card.values()) >= 0.8


def test_speed_quality_rows_keep_each_questions_hit_for_paired_comparisons():
    from dlm_kit.chat import speed_quality_sweep
    from dlm_kit.stats import compare

    model, tok = load_backbone("tiny-chat")
    rows = make_synthetic_tasks(["copy", "maximum"], n_train=4000, n_test=6, seed=0)["test"]
    configs = {"1/step": SamplingConfig(max_new_tokens=16), "8/step": SamplingConfig(max_new_tokens=16, steps=2)}
    one, eight = speed_quality_sweep(model.eval(), tok, rows, configs)
    assert len(one["hits"]) == len(rows) and set(one["hits"]) <= {0.0, 1.0}
    assert sum(one["hits"]) / len(rows) == one["exact_match"]
    assert compare(eight["hits"], one["hits"]).n == len(rows)  # the same questions: a paired comparison
