"""lm-eval integration: the MC log-likelihood estimator, tokenisation, the offline tasks, the CLI."""

import copy
import itertools
import json
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

lm_eval = pytest.importorskip("lm_eval")

from dlm_kit.backbones import load_backbone  # noqa: E402
from dlm_kit.sampling import generate  # noqa: E402
from dlm_kit.evaluation import (  # noqa: E402
    LOCAL_TASKS,
    TASKS_DIR,
    DiffusionLM,
    encode_pair,
    exact_loglikelihood,
    is_greedy,
    mc_loglikelihood,
    task_manager,
)

from conftest import REPO  # noqa: E402


@pytest.fixture(scope="module")
def chat_model():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # these tests compare numbers; restored after, so later tests keep every core
    model, tok = load_backbone("tiny-chat")
    yield model.eval(), tok
    torch.set_num_threads(threads)


def _request(*args):
    return type("Request", (), {"args": args})()


def _logp(model, ids, position, target):
    logits = model(input_ids=torch.tensor([ids])).logits[0, position]
    return F.log_softmax(logits.double(), -1)[target].item()


def test_one_token_continuation_is_the_exact_log_likelihood(chat_model):
    model, tok = chat_model
    context, continuation = encode_pair(tok, "[Question]\nWhat is the largest digit in 3 9 1 4 2?\n[/Question]\n\n[Answer]\n", "9")
    assert len(continuation) == 1
    exact = _logp(model, context + [tok.mask_token_id], len(context), continuation[0])
    for exact_when_cheaper in (True, False):  # enumeration and sampling must agree here
        (estimate,) = mc_loglikelihood(model, [context], [continuation], mask_token_id=tok.mask_token_id,
                                       num_samples=8, exact_when_cheaper=exact_when_cheaper)
        assert estimate == pytest.approx(exact, abs=1e-4)


def test_enumeration_is_the_average_over_generation_orders(chat_model):
    """exact_loglikelihood == mean over all 3! orders of the left-to-right-in-that-order log-likelihood."""
    model, tok = chat_model
    context, continuation = encode_pair(tok, "[Question]\nCopy the letters: q r s\n[/Question]\n\n[Answer]\n", "q r s")
    assert len(continuation) == 3
    start, totals = len(context), []
    for order in itertools.permutations(range(3)):
        canvas, total = context + [tok.mask_token_id] * 3, 0.0
        for i in order:
            total += _logp(model, canvas, start + i, continuation[i])
            canvas[start + i] = continuation[i]
        totals.append(total)
    (exact,) = exact_loglikelihood(model, [context], [continuation], mask_token_id=tok.mask_token_id)
    assert exact == pytest.approx(sum(totals) / len(totals), abs=1e-4)


def test_monte_carlo_converges_to_the_exact_value(chat_model):
    """Stated tolerance: with 1,024 samples every estimate lies within 3 % (+ 0.05 nats) of the exact
    value (measured worst case over 10 seeds: 0.3 % and 3.1 %), and the spread over seeds shrinks
    as samples grow."""
    model, tok = chat_model
    pairs = [encode_pair(tok, "[Question]\nReverse the letters: k a w q\n[/Question]\n\n[Answer]\n", a) for a in ("q w a k", "k a w q")]
    pairs.append(encode_pair(tok, "[Question]\nSort the letters: f c a d e b\n[/Question]\n\n[Answer]\n", "a b c d e f"))
    contexts, continuations = [p[0] for p in pairs], [p[1] for p in pairs]
    exact = torch.tensor(exact_loglikelihood(model, contexts, continuations, mask_token_id=tok.mask_token_id))

    def errors(num_samples):
        runs = [mc_loglikelihood(model, contexts, continuations, mask_token_id=tok.mask_token_id, num_samples=num_samples,
                                 exact_when_cheaper=False, generator=torch.Generator().manual_seed(s), batch_size=256)
                for s in range(4)]
        return torch.tensor(runs, dtype=torch.float64) - exact

    few, many = errors(32), errors(1024)
    assert (many.abs() <= 0.03 * exact.abs() + 0.05).all(), (many, exact)
    assert many.abs().max() < few.abs().max()
    assert few.std() > 0  # it really samples


def test_estimates_rank_answers_like_the_model(chat_model):
    model, tok = chat_model
    context, right = encode_pair(tok, "[Question]\nReverse the letters: a b c d e f\n[/Question]\n\n[Answer]\n", "f e d c b a")
    _, wrong = encode_pair(tok, "", "a b c d e f")
    est = mc_loglikelihood(model, [context, context], [right, wrong], mask_token_id=tok.mask_token_id)
    assert est[0] > est[1] + 1.0


@pytest.mark.parametrize("name", ["tiny-chat", "minilm"])
def test_tokenisation_is_the_training_one(name):
    _, tok = load_backbone(name)
    context, continuation = "[Question]\nCopy the letters: a b\n[/Question]\n\n[Answer]\n", " a b"
    ctx, cont = encode_pair(tok, context, continuation)
    assert ctx + cont == tok(context + continuation, add_special_tokens=False)["input_ids"]
    assert tok.cls_token_id not in ctx + cont and tok.sep_token_id not in ctx + cont
    assert tok.decode(cont).strip() == "a b"
    # trailing spaces of the context belong to the continuation
    assert encode_pair(tok, "Copy: a b ", "c") == encode_pair(tok, "Copy: a b", " c")


def test_errors_name_the_problem(chat_model):
    model, tok = chat_model
    with pytest.raises(ValueError, match="no tokens"):
        mc_loglikelihood(model, [[5]], [[]], mask_token_id=tok.mask_token_id)
    with pytest.raises(ValueError, match="num_samples"):
        mc_loglikelihood(model, [[5]], [[6]], mask_token_id=tok.mask_token_id, num_samples=0)
    with pytest.raises(ValueError, match="loglikelihood_rolling"):
        mc_loglikelihood(model, [[5]], [[6] * 10], mask_token_id=tok.mask_token_id, max_length=8)
    with pytest.raises(ValueError, match="pretrained"):
        DiffusionLM()
    with pytest.raises(ValueError, match="dtype"):
        DiffusionLM(pretrained="tiny-chat", dtype="float8")
    with pytest.raises(ValueError, match="context=8: .* max_length=8"):
        DiffusionLM(pretrained=model, tokenizer=tok, max_length=8, rolling_context=8)
    with pytest.raises(ValueError, match="head_on_masked_only='maybe'"):
        DiffusionLM(pretrained=model, tokenizer=tok, head_on_masked_only="maybe")


def test_task_files_are_the_script_output():
    sys.path.insert(0, str(REPO / "scripts"))
    from make_eval_tasks import build

    gen, mc = build()
    for name, rows in (("gen.jsonl", gen), ("mc.jsonl", mc)):
        committed = [json.loads(line) for line in (TASKS_DIR / "dlm_kit_synthetic" / name).read_text().splitlines()]
        assert committed == rows
    assert all(len(set(r["choices"])) == 4 and r["choices"][r["label"]] == g["answer"] for r, g in zip(mc, gen))


@pytest.mark.slow
def test_simple_evaluate_on_the_local_tasks():
    results = lm_eval.simple_evaluate(
        model="dlm_kit", model_args="pretrained=tiny-chat,mc_num=16", tasks=list(LOCAL_TASKS),
        task_manager=task_manager(), limit=20, apply_chat_template=True, bootstrap_iters=0, verbosity="ERROR",
    )["results"]
    gen, mc = results["dlm_kit_synthetic_gen"], results["dlm_kit_synthetic_mc"]
    assert 0 <= gen["exact_match,strip"] <= 1 and 0 <= mc["acc,none"] <= 1
    # the tiny chat model answers 74 % of all 200 held-out questions (model card); chance on mc is 25 %
    assert gen["exact_match,strip"] >= 0.5 and mc["acc,none"] >= 0.5


def _order_average(model, context, continuation, mask_id):
    """Brute force: the mean over all generation orders of the log-likelihood in that order."""
    start, totals = len(context), []
    for order in itertools.permutations(range(len(continuation))):
        canvas, total = list(context) + [mask_id] * len(continuation), 0.0
        for i in order:
            total += _logp(model, canvas, start + i, continuation[i])
            canvas[start + i] = continuation[i]
        totals.append(total)
    return sum(totals) / len(totals)


def test_rolling_loglikelihood_gives_every_window_the_text_before_it(chat_model):
    """A 7-token text in windows of 4 positions: the first window holds 4 tokens, each later one
    2 new tokens after the 2 before them; the sum equals brute-force enumeration window by window."""
    model, tok = chat_model
    lm = DiffusionLM(pretrained=model, tokenizer=tok, mc_num=64, max_length=4)  # 2**4 - 1 <= 64: exact
    text = "Copy the letters: a b c"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert len(ids) == 7
    mask = tok.mask_token_id
    expected = (_order_average(model, [], ids[0:4], mask) + _order_average(model, ids[2:4], ids[4:6], mask)
                + _order_average(model, ids[4:6], ids[6:7], mask))
    (rolling,) = lm.loglikelihood_rolling([_request(text)], disable_tqdm=True)
    assert rolling == pytest.approx(expected, abs=1e-4)


def test_generate_until_cuts_at_stop_strings_and_warns_without_template(chat_model, caplog):
    model, tok = chat_model
    lm = DiffusionLM(pretrained=model, tokenizer=tok)
    templated = tok.apply_chat_template([{"role": "user", "content": "Copy the letters: k a w"}], add_generation_prompt=True, tokenize=False)
    Request = type("Request", (), {})
    requests = []
    for context, until in ((templated, ["\n"]), (templated, ["a"]), ("Copy the letters: k a w", ["\n"])):
        request = Request()
        request.args = (context, {"until": until, "max_gen_toks": 8})
        requests.append(request)
    with caplog.at_level("WARNING"):
        replies = lm.generate_until(requests, disable_tqdm=True)
    assert replies[0] == "k a w" and replies[1] == "k "
    assert "apply_chat_template" in caplog.text


@pytest.mark.slow
def test_cli_eval(tmp_path):
    out = tmp_path / "missing" / "dir" / "results.json"  # the folders are made before the evaluation
    run = subprocess.run(
        [sys.executable, "-m", "dlm_kit.cli", "eval", "--model", "tiny-chat", "--tasks", "dlm_kit_synthetic_gen",
         "--limit", "10", "--output", str(out)], capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "dlm_kit_synthetic_gen" in run.stdout and "exact_match" in run.stdout
    assert json.loads(out.read_text())["results"]["dlm_kit_synthetic_gen"]["exact_match,strip"] >= 0.5


def test_cli_eval_refuses_an_unwritable_output_before_evaluating(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    run = subprocess.run(
        [sys.executable, "-m", "dlm_kit.cli", "eval", "--model", "tiny-chat", "--tasks", "dlm_kit_synthetic_gen",
         "--output", str(blocker / "res.json")], capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 2 and "cannot create its folder" in run.stderr and "Traceback" not in run.stderr


def _greedy_by_hand(model, context, size, mask_id):
    """The greedy sampler written out: each step commits the argmax at the most confident mask."""
    canvas = list(context) + [mask_id] * size
    for _ in range(size):
        confidence, tokens = F.softmax(model(input_ids=torch.tensor([canvas])).logits[0], -1).max(-1)
        best = max((i for i, t in enumerate(canvas) if t == mask_id), key=lambda i: confidence[i].item())
        canvas[best] = tokens[best].item()
    return canvas[len(context):]


def test_an_empty_context_is_scored_unconditionally(chat_model):
    """lm-eval sends ("", continuation) for acc_mutual_info and unconditional scoring."""
    model, tok = chat_model
    lm = DiffusionLM(pretrained=model, tokenizer=tok, mc_num=16)
    ids = tok(" a b", add_special_tokens=False)["input_ids"]
    ((score, greedy),) = lm.loglikelihood([_request("", " a b")], disable_tqdm=True)
    (direct,) = mc_loglikelihood(model, [[]], [ids], mask_token_id=tok.mask_token_id, num_samples=16)
    assert score == pytest.approx(direct) and score < 0
    assert greedy == (ids == _greedy_by_hand(model, [], len(ids), tok.mask_token_id))


def test_a_continuation_that_fills_max_length_is_scored_without_context(chat_model):
    model, tok = chat_model
    lm = DiffusionLM(pretrained=model, tokenizer=tok, mc_num=16, max_length=4)
    ids = tok(" a b c d", add_special_tokens=False)["input_ids"]
    assert len(ids) == 4
    ((score, greedy),) = lm.loglikelihood([_request("Copy the letters:", " a b c d")], disable_tqdm=True)
    (direct,) = mc_loglikelihood(model, [[]], [ids], mask_token_id=tok.mask_token_id, num_samples=16)
    assert score == pytest.approx(direct)
    assert greedy == (ids == _greedy_by_hand(model, [], 4, tok.mask_token_id))


def test_greedy_check_says_whether_the_sampler_writes_the_continuation(chat_model):
    model, tok = chat_model
    contexts = [encode_pair(tok, f"[Question]\nCopy the letters: {q}\n[/Question]\n\n[Answer]\n", "")[0]
                for q in ("k a w", "b d", "q r s t")]
    written = [generate(model, [c], max_new_tokens=4, steps=4, block_size=4, mask_token_id=tok.mask_token_id).new_tokens[0].tolist()
               for c in contexts]
    other = [w[::-1] if w != w[::-1] else w[1:] + w[:1] for w in written]
    assert all(o != w for o, w in zip(other, written))
    checks = is_greedy(model, contexts + contexts, written + other, mask_token_id=tok.mask_token_id, batch_size=4)
    assert checks == [True] * 3 + [False] * 3
    # the sampler never writes [MASK] (a committed mask stays masked)
    assert is_greedy(model, contexts[:1], [[tok.mask_token_id] + written[0][1:]], mask_token_id=tok.mask_token_id) == [False]
    # an empty context (the sampler needs a prompt token): the greedy run written out by hand
    unconditional = _greedy_by_hand(model, [], 3, tok.mask_token_id)
    assert is_greedy(model, [[], []], [unconditional, unconditional[::-1]], mask_token_id=tok.mask_token_id) == [
        True, unconditional == unconditional[::-1]]


def test_generate_until_shortens_an_answer_longer_than_max_length(chat_model, caplog):
    """max_gen_toks >= max_length: the canvas is clamped to max_length - 1 tokens, with a warning."""
    model, tok = chat_model
    lm = DiffusionLM(pretrained=model, tokenizer=tok, max_length=12)
    context = tok.apply_chat_template([{"role": "user", "content": "Copy the letters: k a w"}], add_generation_prompt=True, tokenize=False)
    with caplog.at_level("WARNING"):
        (reply,) = lm.generate_until([_request(context, {"until": [], "max_gen_toks": 16})], disable_tqdm=True)
    assert "max_gen_toks=16" in caplog.text and "11" in caplog.text
    (same,) = lm.generate_until([_request(context, {"until": [], "max_gen_toks": 11})], disable_tqdm=True)
    assert reply == same


def test_a_chat_template_without_generation_prompt_is_accepted(chat_model):
    model, tok = chat_model
    plain = copy.deepcopy(tok)
    plain.chat_template = "{% for m in messages %}{{ m['content'] }}\n{% endfor %}"
    lm = DiffusionLM(pretrained=model, tokenizer=plain)
    assert lm.apply_chat_template([{"role": "user", "content": "Copy the letters: a b"}]) == "Copy the letters: a b\n"


@pytest.mark.parametrize("name", ["tiny-bert", "tiny-modernbert", "tiny-roberta"])
def test_head_on_masked_only_gives_the_numbers_of_the_full_forward(name):
    """head_on_masked_only=True runs the MLM head only on scored positions; the values are the full forward's."""
    model, tok = load_backbone(name, seed=0)
    model.eval()
    contexts = [[5, 6, 7, 8, 9, 10], [11, 12], []]  # different lengths: padded batches
    continuations = [[13, 14, 15, 16, 17], [18, 19, 20], [21, 22, 23, 24]]
    mask = tok.mask_token_id
    for estimate in (
        lambda head_only: mc_loglikelihood(model, contexts, continuations, mask_token_id=mask, num_samples=8,
                                           exact_when_cheaper=False, head_on_masked_only=head_only),
        lambda head_only: exact_loglikelihood(model, contexts, continuations, mask_token_id=mask,
                                              head_on_masked_only=head_only),
    ):
        head_only, full = estimate(True), estimate(False)
        assert max(abs(a - b) for a, b in zip(head_only, full)) < 1e-4, (head_only, full)
        assert len(set(head_only)) == 3  # three different requests, three different values
    written = [_greedy_by_hand(model, c, 3, mask) for c in contexts]  # what the model writes after each context
    for head_only in (True, False):
        assert is_greedy(model, contexts, written, mask_token_id=mask, head_on_masked_only=head_only) == [True] * 3


def test_old_names_of_head_on_masked_only_still_work():
    """``fast=`` (likelihood functions) and ``fast_likelihood`` (model_args) are the old names."""
    from dlm_kit.eval_args import DiffusionLMArgs

    model, tok = load_backbone("tiny-bert", seed=0)
    model.eval()
    args = dict(mask_token_id=tok.mask_token_id)
    with pytest.warns(FutureWarning, match="head_on_masked_only"):
        old = exact_loglikelihood(model, [[5, 6]], [[7, 8]], fast=False, **args)
    assert old == exact_loglikelihood(model, [[5, 6]], [[7, 8]], head_on_masked_only=False, **args)
    assert DiffusionLMArgs.parse(pretrained="tiny-chat", fast_likelihood="false").head_on_masked_only is False
    with pytest.raises(ValueError, match="old name"):
        DiffusionLMArgs.parse(pretrained="tiny-chat", fast_likelihood=True, head_on_masked_only=False)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message for a machine without CUDA")
def test_cuda_device_without_cuda_says_how_to_fix_it():
    from dlm_kit.backbones import load_backbone

    model, tok = load_backbone("tiny-bert", seed=0)
    with pytest.raises(ValueError, match="device='cpu'"):
        DiffusionLM(pretrained=model, tokenizer=tok, device="cuda")


def test_the_seeds_table_has_the_columns_of_the_seed_tasks():
    from dlm_kit.evaluation import SEED_RESULTS, SEED_TABLE_TASKS

    assert all(list(row) == list(SEED_TABLE_TASKS) for row in SEED_RESULTS.values())
    assert SEED_RESULTS["Qwen1.5-0.5B (reported)"]["MMLU"] == 39.2  # as printed in the seed's blog post
    assert SEED_RESULTS["Qwen1.5-0.5B-chat (reported)"]["LAMBADA"] is None  # "/" in the post


def test_document_scores_follow_document_order_and_headline_score_picks_the_tables_metric():
    from dlm_kit.evaluation import document_scores, headline_score

    results = {"samples": {"t": [{"doc_id": 1, "acc": 0.0, "acc_norm": 1.0}, {"doc_id": 0, "acc": 1.0, "acc_norm": 1.0}]},
               "results": {"t": {"alias": "t", "acc,none": 0.5, "acc_stderr,none": "N/A"},
                           "gsm8k": {"exact_match,flexible-extract": 0.3, "exact_match,strict-match": 0.2}}}
    assert document_scores(results, "t") == [1.0, 0.0]
    assert headline_score(results, "t") == 0.5 and headline_score(results, "gsm8k") == 0.2
    with pytest.raises(ValueError, match="these tasks ran"):
        headline_score(results, "mmlu")
    math = {"samples": {"m": [{"doc_id": 0, "math_verify": 1.0, "doc": {}}]}}
    with pytest.raises(ValueError, match=r"neither exact_match nor acc .*metric= one of \['doc_id', 'math_verify'\]"):
        document_scores(math, "m")
    assert document_scores(math, "m", metric="math_verify") == [1.0]


def test_generation_mode_fast_writes_the_exact_modes_answers_and_scoring_does_not_depend_on_it(chat_model):
    model, tok = chat_model
    questions = ["Copy the letters: k a w", "Sort the letters: c a b", "Reverse the letters: x y z", "Count the letters: a b"]
    requests = [_request(tok.apply_chat_template([{"role": "user", "content": q}], add_generation_prompt=True,
                                                 tokenize=False), {"until": ["\n"], "max_gen_toks": 16}) for q in questions]
    exact, fast = (DiffusionLM(pretrained=model, tokenizer=tok, mode=m, mc_num=8) for m in ("exact", "fast"))
    assert DiffusionLM(pretrained=model, tokenizer=tok).sampling["mode"] == "fast"  # the default
    assert fast.generate_until(requests, disable_tqdm=True) == exact.generate_until(requests, disable_tqdm=True)
    pairs = [_request("Copy the letters: k a w", " k a w"), _request("Sort: b a", " a b")]
    assert fast.loglikelihood(pairs, disable_tqdm=True) == exact.loglikelihood(pairs, disable_tqdm=True)
    with pytest.raises(ValueError, match="mode='quick'"):
        DiffusionLM(pretrained=model, tokenizer=tok, mode="quick")


def test_generation_stops_at_the_end_of_answer_tag_without_changing_answers(chat_model, monkeypatch):
    import dlm_kit.evaluation as evaluation

    model, tok = chat_model
    questions = ["Copy the letters: k a w", "Sort the letters: c a b", "Reverse the letters: x y z"]
    requests = [_request(tok.apply_chat_template([{"role": "user", "content": q}], add_generation_prompt=True,
                                                 tokenize=False), {"until": ["\n"], "max_gen_toks": 16}) for q in questions]
    lm = DiffusionLM(pretrained=model, tokenizer=tok, mc_num=8)
    passes, plain_generate = {}, evaluation.generate  # forward passes by whether the tag was passed

    def counting(*args, stop_sequences=(), **kwargs):
        out = plain_generate(*args, stop_sequences=stop_sequences, **kwargs)
        passes["with stops" if stop_sequences else "without"] = out.nfe
        return out

    monkeypatch.setattr(evaluation, "generate", counting)
    stopped = lm.generate_until(requests, disable_tqdm=True)
    monkeypatch.setattr(evaluation, "answer_stop_sequences", lambda tokenizer: [])
    assert lm.generate_until(requests, disable_tqdm=True) == stopped
    assert set(passes) == {"with stops", "without"}  # the tag was passed to the sampler, then not


def test_generate_until_without_a_chat_template_generates(chat_model):
    """A tokenizer with no chat template: contexts cannot be checked, so none is called untemplated."""
    model, tok = chat_model
    plain = copy.deepcopy(tok)
    plain.chat_template = None
    lm = DiffusionLM(pretrained=model, tokenizer=plain)
    (reply,) = lm.generate_until([_request("Copy the letters: k a w", {"until": [], "max_gen_toks": 4})], disable_tqdm=True)
    assert isinstance(reply, str)


def test_no_room_to_generate_is_refused_by_name(chat_model):
    model, tok = chat_model
    with pytest.raises(ValueError, match="max_length=1"):
        DiffusionLM(pretrained=model, tokenizer=tok, max_length=1)
    with pytest.raises(ValueError, match="max_new_tokens=0"):
        DiffusionLM(pretrained=model, tokenizer=tok, max_new_tokens=0)
    lm = DiffusionLM(pretrained=model, tokenizer=tok)
    with pytest.raises(ValueError, match="max_gen_toks=0"):
        lm.generate_until([_request("Copy the letters: k a w", {"until": [], "max_gen_toks": 0})], disable_tqdm=True)


def test_a_max_length_beyond_the_model_is_clamped_to_its_positions(chat_model, caplog):
    """max_length past the model's positions (or unset, in the scoring functions) never reaches the model."""
    model, tok = chat_model
    positions = model.config.max_position_embeddings
    with caplog.at_level("WARNING"):
        lm = DiffusionLM(pretrained=model, tokenizer=tok, max_length=positions * 4)
    assert lm.max_length == positions and f"max_length={positions * 4}" in caplog.text
    context, continuation = list(range(5, 5 + positions + 20)), [7, 8]
    mask = tok.mask_token_id
    unset = mc_loglikelihood(model, [context], [continuation], mask_token_id=mask, num_samples=3)
    cut = mc_loglikelihood(model, [context[-(positions - 2):]], [continuation], mask_token_id=mask, num_samples=3)
    assert unset == cut
    assert is_greedy(model, [context], [continuation], mask_token_id=mask, max_length=positions * 4) == \
        is_greedy(model, [context[-(positions - 2):]], [continuation], mask_token_id=mask)
