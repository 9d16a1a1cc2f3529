"""Does bert-chat chat? The bars of issue 19, through the plain user path, beside the teacher.

    OMP_NUM_THREADS=2 python scripts/eval_chat_bars.py --systems bert-chat bert-chat-mlm   # ~10 min on 2 cores
    OMP_NUM_THREADS=2 python scripts/eval_chat_bars.py --systems bert-chat-mlm --keep   # measure one again, keep the others
    OMP_NUM_THREADS=2 python scripts/eval_chat_bars.py --pick_sampling runs/bert-chat/bert-chat  # choose its settings
    OMP_NUM_THREADS=2 python scripts/eval_chat_bars.py --systems ar:smollm2-135m-instruct \
        before-sft:smollm2-diffusion smollm2-diffusion --output models/smollm2-diffusion/bars.json  # notebook 06's four

A system is a kit name or a folder (answered through ``answer``), ``ar:<causal LM>`` (an autoregressive
model: :func:`dlm_kit.a2d_adapter.load_causal_lm`, greedy left to right with its KV cache,
:func:`dlm_kit.baselines.answer_causal`, 64 new tokens), or ``before-sft:<adapter folder>`` (that
folder's conversion of its base with no training at all, sampled with the folder's settings).

Questions (none ever trained on): the held-out topics of :func:`dlm_kit.teacher_data.load_teacher_chat`,
split in two halves by topic: ``dev`` (only for ``--pick_sampling``) and ``test`` (the bars), and
the held-out :func:`dlm_kit.teacher_data.simple_facts`. Every model answers through
``answer(model, tok, questions)`` with **no sampling argument**: its own recommended settings
(``sampling_config.json``) or the kit's defaults, as a user gets them.

Per system, also three-turn conversations of held-out questions (:func:`conversation_turns`: clean,
empty and relevance at each turn). Per system: clean answers (>= 3 words, no tag fragment, not empty), repeated word 3-gram and
4-gram rates, distinct-2, relevance (SmolLM2's mean log-probability per answer token given the
question minus the same given another held-out question; an empty answer counts 0) with a 95 %
interval, and simple facts keyword-correct with its Wilson interval; paired relevance differences.
The teacher's own answers are measured the same way (its held-out answers from the data; its
answers to the facts generated here with the data's settings).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch
from transformers import GenerationMixin

from dlm_kit.a2d_adapter import A2D_CONFIG, conversion_of, load_causal_lm
from dlm_kit.backbones import MODELS_DIR, load_backbone
from dlm_kit.baselines import answer_causal
from dlm_kit.chat import SamplingConfig, answer
from dlm_kit.chat_format import is_clean_answer as clean
from dlm_kit.judges import load_smollm2, relevance, teacher_answer_batch
from dlm_kit.stats import mean_interval, paired_difference, wilson_interval
from dlm_kit.teacher_data import distinct_n, keyword_correct, load_teacher_chat, repeated_ngram, simple_facts

BARS = {"clean": 0.95, "distinct_2": 0.6, "relevance": 0.8, "facts": 0.40}


def eligible(scores: dict, teacher_repeated_3gram: float) -> bool:
    """The sampler pick's rule for one setting's scores: >= 95 % clean, word 3-grams repeated no more
    often than in the teacher's own dev answers, distinct-2 >= 0.6 (the bars' definitions)."""
    return (scores["clean"] >= BARS["clean"] and scores["repeated_3gram"] <= teacher_repeated_3gram
            and scores["distinct_2"] >= BARS["distinct_2"])


def question_sets(n_test: int, n_dev: int, seed: int = 0) -> dict[str, list[str]]:
    """Held-out questions by topic halves (dev / test), at most one question per topic first, seeded."""
    import random

    rows = list(load_teacher_chat()["test"])
    topics = sorted({r["topic"] for r in rows})
    random.Random(seed).shuffle(topics)
    half = {t: ("dev" if i % 2 else "test") for i, t in enumerate(topics)}
    out: dict[str, list[dict]] = {"dev": [], "test": []}
    random.Random(seed).shuffle(rows)
    for part in out:
        seen: set[str] = set()
        pool = [r for r in rows if half[r["topic"]] == part]
        firsts = [r for r in pool if not (r["topic"] in seen or seen.add(r["topic"]))]
        rest = [r for r in pool if r not in firsts]
        out[part] = (firsts + rest)[: n_test if part == "test" else n_dev]
    return {part: out[part] for part in out}


def measure(name: str, questions: list[str], answers: list[str], facts: list[dict], fact_answers: list[str], judge) -> dict:
    rel = relevance(questions, answers, judge=judge)
    mean, low, high = mean_interval(rel)
    hits = sum(keyword_correct(a, tuple(f["keywords"])) for a, f in zip(fact_answers, facts))
    flo, fhi = wilson_interval(hits, len(facts))
    n_clean = sum(map(clean, answers))
    clo, chi = wilson_interval(n_clean, len(answers))
    return {
        "system": name, "n": len(answers), "clean": n_clean / len(answers), "clean_interval": [clo, chi],
        "empty": sum(not a.strip() for a in answers) / len(answers),
        "repeated_3gram": sum(repeated_ngram(a, 3) for a in answers) / len(answers),
        "repeated_4gram": sum(repeated_ngram(a, 4) for a in answers) / len(answers),
        "distinct_2": distinct_n(answers, 2), "mean_words": sum(len(a.split()) for a in answers) / len(answers),
        "relevance": mean, "relevance_interval": [low, high], "relevance_per_question": rel,
        "facts": hits / len(facts), "facts_interval": [flo, fhi], "facts_n": len(facts),
        "answers": answers, "fact_answers": fact_answers,
    }


AR_TOKENS = SamplingConfig(max_new_tokens=64)
"""An autoregressive system writes as many new tokens as the diffusion models' canvas holds."""


SYSTEM_KINDS = {"": "", "ar": " (AR, KV cache)", "before-sft": ", before SFT"}
"""The kinds of ``--systems`` entry (see the module docstring), each with what its row name adds."""


def parse_system(system: str) -> tuple[str, str]:
    """(kind, name) of a ``--systems`` entry: ``ar:smollm2-135m-instruct`` is ("ar", "smollm2-135m-instruct")."""
    kind, _, name = system.partition(":")
    return (kind, name) if name and kind in SYSTEM_KINDS else ("", system)


def system_name(system: str) -> str:
    """A ``--systems`` entry's row name: a folder is named by its last part (checkpoints/bert-chat is bert-chat)."""
    kind, name = parse_system(system)
    return Path(name).name + SYSTEM_KINDS[kind]


def load_system(system: str) -> tuple[torch.nn.Module, object]:
    """(model in eval mode, tokenizer) of a ``--systems`` entry (see the module docstring)."""
    kind, name = parse_system(system)
    folder = Path(name) if Path(name).exists() else MODELS_DIR / name
    if kind == "ar":
        model, tok = load_causal_lm(name)
    elif kind == "before-sft":
        if not (folder / A2D_CONFIG).exists():
            raise SystemExit(f"{system}: {folder} has no {A2D_CONFIG}; name a converted model's adapter folder "
                             "(scripts/train_smollm2_diffusion.py writes one), e.g. before-sft:smollm2-diffusion.")
        model, tok = conversion_of(folder)
        model.config.dlm_kit_sampling = dataclasses.asdict(SamplingConfig.from_pretrained(folder))  # the folder's own
    else:
        model, tok = load_backbone(str(folder))
    return model.eval(), tok


def write_replies(model, tok, questions: list, sampling: SamplingConfig | None = None) -> list[str]:
    """``answer`` with the model's own settings (or ``sampling``); an autoregressive model's greedy replies."""
    with torch.no_grad():
        if isinstance(model, GenerationMixin):
            return answer_causal(model, tok, questions, sampling=AR_TOKENS)
        return answer(model, tok, questions, sampling=sampling)  # None: the model's own settings


def model_answers(model, tok, questions: list[str], sampling: SamplingConfig | None = None) -> tuple[list[str], str, float]:
    """The model's replies (:func:`write_replies`), what it used, and the seconds."""
    if isinstance(model, GenerationMixin):
        used = f"greedy, left to right with its KV cache: {AR_TOKENS.max_new_tokens} new tokens"
    else:
        config, source = (sampling, "given") if sampling else SamplingConfig.for_model(model)
        used = f"{source}: {config}"
    start = time.perf_counter()
    replies = write_replies(model, tok, questions, sampling)
    return replies, used, time.perf_counter() - start


def answer_scores(replies: list[str], rel: list[float]) -> dict[str, float]:
    """The pick's (and the sweeps') measures of a set of replies: clean rate, mean relevance (``rel``, per reply),
    answers with a repeated word 3-gram, distinct-2."""
    return {"clean": sum(map(clean, replies)) / len(replies), "relevance": sum(rel) / len(rel),
            "repeated_3gram": sum(repeated_ngram(r, 3) for r in replies) / len(replies),
            "distinct_2": distinct_n(replies, 2)}


def conversation_turns(model, tok, questions: list[str], judge, turns: int = 3,
                       sampling: SamplingConfig | None = None) -> dict:
    """Multi-turn conversations as a ChatSession holds them: consecutive held-out questions in groups of
    ``turns`` (different topics: the test half lists one question per topic first), each turn answered
    through ``answer(model, tok, conversations)`` with the model's own settings (or ``sampling``), after the earlier
    questions and the model's own earlier replies. Per turn: clean and empty rates (Wilson intervals)
    and relevance to the turn's question.
    """
    groups = [questions[i : i + turns] for i in range(0, len(questions) - turns + 1, turns)]
    conversations: list[list[dict]] = [[] for _ in groups]
    per_turn = []
    for turn in range(turns):
        asked = [group[turn] for group in groups]
        for conversation, question in zip(conversations, asked):
            conversation.append({"role": "user", "content": question})
        replies = write_replies(model, tok, [list(c) for c in conversations], sampling)  # None: its own settings
        for conversation, reply in zip(conversations, replies):
            conversation.append({"role": "assistant", "content": reply})
        n_clean = sum(map(clean, replies))
        per_reply = relevance(asked, replies, judge=judge)
        mean, low, high = mean_interval(per_reply)
        per_turn.append({"turn": turn + 1, "n": len(replies), "clean": n_clean / len(replies),
                         "clean_interval": list(wilson_interval(n_clean, len(replies))),
                         "empty": sum(not r.strip() for r in replies) / len(replies),
                         "relevance": mean, "relevance_interval": [low, high], "replies": replies,
                         "relevance_per_reply": per_reply})
    return {"turns": per_turn, "conversations": conversations}


def pick_sampling(folder: str, dev_rows: list[dict], judge) -> SamplingConfig:
    """Choose the model's recommended settings on the dev half; write them as its sampling_config.json.

    Resumable: each scored setting is saved at once to ``sampling_pick.partial.json`` in the folder,
    and a rerun skips the settings found there (same dev questions, same settings).

    Three rounds, 64 new tokens each: block size and tokens per step, each with and without a
    minimum answer length of 8 tokens (``min_new_tokens``), at no repetition penalty; then the
    penalty (1.0, 1.1, 1.25, 1.5) at the best of those; then the minimum length (0, 4, 8, 12) at
    the best of all, scored on the dev questions asked alone
    *and* in three-turn conversations (:func:`conversation_turns`; every reply counts once), since a
    later turn is where a model ends an answer before writing one. A setting is eligible when its
    answers are >= 95 % clean, repeat word 3-grams no more often than the teacher's own dev
    answers and have distinct-2 >= 0.6 (the bars' definitions); the most relevant eligible one
    wins (the faster on a tie at 2 decimals). If none is eligible, the most relevant clean one,
    else the most relevant. Each round compares only its own settings.
    """
    dev = [r["messages"][0]["content"] for r in dev_rows]
    model, tok = load_backbone(folder)  # once: every candidate setting answers with the same weights
    model.eval()
    teacher_rep3 = sum(repeated_ngram(r["answer"], 3) for r in dev_rows) / len(dev_rows)
    print(f"teacher on the dev half: repeated 3-grams {teacher_rep3:.1%} (n={len(dev)})", flush=True)
    scores: dict[str, dict] = {}

    def as_record() -> dict[str, dict]:  # the scores as JSON: each setting's config as a dict
        return {label: {k: v for k, v in row.items() if k != "config"} | {"config": dataclasses.asdict(row["config"])}
                for label, row in scores.items()}

    # Resumable: every scored setting is saved at once, and a rerun on the same dev questions skips it.
    partial = Path(folder) / "sampling_pick.partial.json"
    done = json.loads(partial.read_text()) if partial.exists() else {}
    done = done.get("scores", {}) if done.get("n_dev") == len(dev) else {}

    def score(label: str, config: SamplingConfig, *, in_conversations: bool = False) -> None:
        if label in done and done[label]["config"] == dataclasses.asdict(config):
            scores[label] = done[label] | {"config": config}
            print(f"{label}: scored in an earlier sitting ({partial.name})", flush=True)
            return
        replies, _, seconds = model_answers(model, tok, dev, config)
        rel = relevance(dev, replies, judge=judge)
        row = {"config": config}
        if in_conversations:  # the same questions again, three to a conversation
            start = time.perf_counter()
            talks = conversation_turns(model, tok, dev, judge, sampling=config)["turns"]
            seconds += time.perf_counter() - start
            replies = replies + [r for turn in talks for r in turn["replies"]]
            rel = rel + [r for turn in talks for r in turn["relevance_per_reply"]]
            row["conversation_clean"] = [turn["clean"] for turn in talks]
        row |= answer_scores(replies, rel) | {"seconds": seconds, "n": len(replies)}
        scores[label] = row
        partial.write_text(json.dumps({"n_dev": len(dev), "scores": as_record()}, indent=1) + "\n")
        turns = f", clean by turn {row['conversation_clean']}" if in_conversations else ""
        print(f"{label}: clean {row['clean']:.2f}{turns}, relevance {row['relevance']:.3f}, repeated 3-grams "
              f"{row['repeated_3gram']:.1%}, distinct-2 {row['distinct_2']:.2f}, {seconds:.0f} s (n={row['n']})",
              flush=True)

    def best(prefix: str = "") -> str:
        pool_all = {k: v for k, v in scores.items() if k.startswith(prefix)}
        clean_ones = {k: v for k, v in pool_all.items() if v["clean"] >= BARS["clean"]}
        passing = {k: v for k, v in clean_ones.items() if eligible(v, teacher_rep3)}
        pool = passing or clean_ones or pool_all
        return max(pool, key=lambda k: (round(pool[k]["relevance"], 2), -pool[k]["seconds"]))

    # a block-causal conversion (dlm_kit.a2d) writes the same tokens faster with the exact cache of committed blocks
    cache = "blocks" if getattr(model, "block_size", None) else "none"
    for b in (8, 16, 32, 64):
        for k in (1, 2):
            for minimum in (0, 8):  # a large block's clean rate rests on not ending at once: judge them together
                score(f"blocks of {b}, {k} token(s)/step" + (f", minimum {minimum} tokens" if minimum else ""),
                      SamplingConfig(max_new_tokens=64, block_size=b, steps=64 // k, min_new_tokens=minimum, cache=cache))
    layout = scores[best()]["config"]
    for penalty in (1.1, 1.25, 1.5):
        score(f"blocks of {layout.block_size}, {64 // layout.steps} token(s)/step, minimum {layout.min_new_tokens} "
              f"tokens, repetition penalty {penalty}", dataclasses.replace(layout, repetition_penalty=penalty))
    settled = scores[best()]["config"]
    for minimum in (0, 4, 8, 12):
        score(f"with conversations: minimum {minimum} tokens", dataclasses.replace(settled, min_new_tokens=minimum),
              in_conversations=True)
    chosen = best("with conversations")
    path = scores[chosen]["config"].save_pretrained(folder)
    (Path(folder) / "sampling_pick.json").write_text(json.dumps({"teacher_repeated_3gram": teacher_rep3, "n_dev": len(dev),
                                                                 "picked": chosen, "scores": as_record()}, indent=1) + "\n")
    partial.unlink(missing_ok=True)  # the whole record is in sampling_pick.json now
    print(f"picked {chosen}; wrote {path}")
    return scores[chosen]["config"]


TEACHER = "teacher (SmolLM2-135M-Instruct)"


def kept_rows(output: Path, questions: list[str], facts: list[dict], systems: list[str]) -> list[dict]:
    """The rows of an earlier ``output`` on the same questions, except the systems measured again (``--keep``)."""
    if not output.exists():
        return []
    earlier = json.loads(output.read_text())
    if earlier["questions"] != questions or earlier["facts"] != facts:
        raise SystemExit(f"--keep: {output} holds other questions; rerun without --keep to measure every system.")
    again = {system_name(system) for system in systems}
    return [row for row in earlier["results"] if row["system"] not in again]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--systems", nargs="*", default=["bert-chat", "bert-chat-mlm"], help="kit names or folders")
    parser.add_argument("--n_test", type=int, default=200)
    parser.add_argument("--n_dev", type=int, default=100)
    parser.add_argument("--output", default=None, help="default: <models_dir>/bert-chat/bars.json")
    parser.add_argument("--keep", action="store_true", help="keep the rows of --output (same questions) for the teacher and "
                                                            "every system not listed in --systems; measure only those")
    parser.add_argument("--pick_sampling", default=None, help="a model folder: score sampler settings on the dev half, "
                                                             "write the best as its sampling_config.json")
    args = parser.parse_args()
    torch.manual_seed(0)
    judge = load_smollm2()
    sets = question_sets(args.n_test, args.n_dev)

    if args.pick_sampling:
        pick_sampling(args.pick_sampling, sets["dev"], judge)
        return

    questions = [r["messages"][0]["content"] for r in sets["test"]]
    facts = simple_facts()
    fact_questions = [f["question"] for f in facts]
    output = Path(args.output or MODELS_DIR / "bert-chat" / "bars.json")
    kept = kept_rows(output, questions, facts, args.systems) if args.keep else []
    results = kept if any(r["system"] == TEACHER for r in kept) else []
    if not results:
        teacher_facts = [a for a, _ in teacher_answer_batch(judge, fact_questions)]
        results.append(measure(TEACHER, questions, [r["answer"] for r in sets["test"]], facts, teacher_facts, judge))
        results += kept
    for system in args.systems:
        model, tok = load_system(system)
        replies, used, seconds = model_answers(model, tok, questions + fact_questions)
        row = measure(system_name(system), questions, replies[: len(questions)], facts, replies[len(questions) :], judge)
        row.update(sampling=used, seconds=round(seconds, 1))
        row["multi_turn"] = conversation_turns(model, tok, questions, judge)
        results.append(row)
    for row in results:
        print(f"{row['system']}: clean {row['clean']:.1%}, empty {row['empty']:.1%}, rep3 {row['repeated_3gram']:.1%}, "
              f"rep4 {row['repeated_4gram']:.1%}, distinct-2 {row['distinct_2']:.2f}, relevance {row['relevance']:.2f} "
              f"[{row['relevance_interval'][0]:.2f}, {row['relevance_interval'][1]:.2f}], facts {row['facts']:.1%} "
              f"[{row['facts_interval'][0]:.1%}, {row['facts_interval'][1]:.1%}] (n={row['facts_n']})", flush=True)
        for turn in row.get("multi_turn", {}).get("turns", []):
            print(f"  turn {turn['turn']} of a conversation: clean {turn['clean']:.1%} [{turn['clean_interval'][0]:.1%}, "
                  f"{turn['clean_interval'][1]:.1%}], empty {turn['empty']:.1%}, relevance {turn['relevance']:.2f} "
                  f"(n={turn['n']})", flush=True)
    by_name = {r["system"]: r for r in results}
    comparisons = {}
    if {"bert-chat", "bert-chat-mlm"} <= set(by_name):
        d = paired_difference(by_name["bert-chat"]["relevance_per_question"], by_name["bert-chat-mlm"]["relevance_per_question"])
        comparisons["relevance: bert-chat - bert-chat-mlm"] = d
        print(f"relevance, bert-chat - bert-chat-mlm: {d[0]:+.2f} [{d[1]:+.2f}, {d[2]:+.2f}]")
    output.write_text(json.dumps({"questions": questions, "facts": facts, "bars": BARS, "results": results,
                                  "comparisons": comparisons}, indent=0) + "\n")
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
