"""Judges: generative perplexity is a real AR model's perplexity; repetition is counted."""

import math

import pytest

from dlm_kit.judges import generative_perplexity, load_smollm2, repetition_stats


@pytest.fixture(scope="module")
def judge():
    return load_smollm2()


def test_smollm2_prefers_real_text_to_shuffled_words(judge):
    prompt = ["The city of London is the capital of"]
    fluent = generative_perplexity(prompt, ["England and the largest city in the United Kingdom."], judge=judge)
    shuffled = generative_perplexity(prompt, ["Kingdom largest the in England United and city the."], judge=judge)
    assert 1 < fluent < 50 < shuffled


def test_generative_perplexity_is_exp_of_mean_token_nll(judge):
    import torch

    model, tok = judge
    context, target = tok("Paris is", add_special_tokens=False)["input_ids"], tok(" big", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([context + target])).logits[0, len(context) - 1]
    nll = -torch.log_softmax(logits.float(), -1)[target[0]].item()
    assert generative_perplexity(["Paris is"], ["big"], judge=judge) == pytest.approx(math.exp(nll), rel=1e-5)


def test_repetition_stats_count_collapse():
    collapsed = repetition_stats(["the the the the"])
    assert collapsed == {"distinct_1": 0.25, "distinct_2": 1 / 3, "top_word_share": 1.0}
    assert repetition_stats(["a b c d"])["distinct_2"] == 1.0


def test_mismatched_or_empty_inputs_raise(judge):
    with pytest.raises(ValueError, match="2 prompts but 1 continuations"):
        generative_perplexity(["a", "b"], ["c"], judge=judge)
    with pytest.raises(ValueError, match="empty"):
        generative_perplexity(["a"], [" "], judge=judge)


def test_relevance_rewards_the_answer_to_its_own_question(judge):
    from dlm_kit.judges import relevance

    questions = ["What is the capital of France?", "How do plants make their food?"]
    answers = ["The capital of France is Paris.", "Plants make their food by photosynthesis, using sunlight."]
    assert all(score > 0 for score in relevance(questions, answers, judge=judge))
    assert all(score < 0 for score in relevance(questions, answers[::-1], judge=judge))  # each answers the other one
    assert relevance(questions, ["", answers[1]], judge=judge)[0] == 0.0  # nothing to score
    with pytest.raises(ValueError, match="at least 2 questions"):
        relevance(questions[:1], answers[:1], judge=judge)
