"""The notebook series reads as a course: an opening that says what you will learn, a closing
summary with links along the series, exercises with worked answers, and no noise in outputs.

These check the committed notebooks (what a learner opens), not an execution of them: nbval
executes them in the same test run.
"""

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NOISE = [
    (re.compile(r"\d+%\|"), "a progress bar"),
    (re.compile(r"\bit/s\]|s/it\]"), "a progress bar's rate"),
    (re.compile(r"Loading weights"), "a weight-loading bar"),
    (re.compile(r"\b\w*Warning\b:"), "a library warning"),
]


def _source(cell) -> str:
    return "".join(cell["source"])


def _cells(path):
    return json.loads(path.read_text())["cells"]


@pytest.fixture(params=NOTEBOOKS, ids=[p.name[:2] for p in NOTEBOOKS])
def notebook(request):
    return request.param


def test_opening_says_what_you_will_learn(notebook):
    opening = _source(_cells(notebook)[0])
    for heading in ("What you will learn", "Headline result", "Prerequisites", "Time"):
        assert f"**{heading}" in opening, f"{notebook.name}: the opening cell needs a **{heading}** part"


def test_closing_summary_links_along_the_series(notebook):
    cells = _cells(notebook)
    text = "\n".join(_source(c) for c in cells if c["cell_type"] == "markdown")
    assert "## Summary" in text, f"{notebook.name}: no '## Summary' section"
    closing = _source(cells[-1])
    index = NOTEBOOKS.index(notebook)
    neighbours = []
    if index > 0:
        neighbours.append(("Previous", NOTEBOOKS[index - 1].name))
    if index + 1 < len(NOTEBOOKS):
        neighbours.append(("Next", NOTEBOOKS[index + 1].name))
    for word, target in neighbours:
        assert re.search(rf"{word}.*\]\({re.escape(target)}\)", closing), (
            f"{notebook.name}: the last cell should link '{word}' to {target}"
        )


def test_every_exercise_has_a_worked_answer(notebook):
    cells = _cells(notebook)
    exercises = [c for c in cells if c["cell_type"] == "markdown" and "## Exercises" in _source(c)]
    assert exercises, f"{notebook.name}: no '## Exercises' section"
    section = _source(exercises[0]).split("## Exercises", 1)[1]
    asked = len(re.findall(r"^\s*\d+\.\s", section, flags=re.M))
    answers = [c for c in cells if "solution" in c.get("metadata", {}).get("tags", [])]
    # a worked answer may span cells (code, then its explanation): each names its exercise
    answered = {int(n) for c in answers for n in re.findall(r"exercise (\d+)", _source(c)[:200])}
    assert asked and answered == set(range(1, asked + 1)), (
        f"{notebook.name}: {asked} exercises, worked answers (cells tagged 'solution') for {sorted(answered)}"
    )
    unnamed = [c for c in answers if not re.search(r"exercise \d+", _source(c)[:200])]
    assert not unnamed, f"{notebook.name}: a 'solution' cell that does not say which exercise it answers"
    for cell in answers:
        if cell["cell_type"] == "code":  # collapsed in JupyterLab and Colab, so the learner tries first
            assert cell["metadata"].get("jupyter", {}).get("source_hidden") is True, f"{notebook.name}: open answer"


def test_no_noise_in_committed_outputs(notebook):
    for number, cell in enumerate(_cells(notebook)):
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream" and output["name"] == "stderr":
                pytest.fail(f"{notebook.name} cell {number}: stderr output: {''.join(output['text'])[:200]!r}")
            text = "".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/plain", ""))
            for pattern, what in NOISE:
                assert not pattern.search(text), f"{notebook.name} cell {number}: {what} in the output"


def test_colab_install_cell_comes_first(notebook):
    cells = _cells(notebook)
    assert cells[1]["cell_type"] == "code" and "google.colab" in _source(cells[1])


def _opening_words(cells) -> int:
    """Words of markdown before the first code cell (the title and the Colab badge count too)."""
    first_code = next(i for i, c in enumerate(cells) if c["cell_type"] == "code")
    return sum(len(_source(c).split()) for c in cells[:first_code] if c["cell_type"] == "markdown")


def test_opening_is_short(notebook):
    words = _opening_words(_cells(notebook))
    assert words <= 150, f"{notebook.name}: {words} words before the first code cell (at most 150)"


def test_code_cells_are_short_and_narrow(notebook):
    for number, cell in enumerate(_cells(notebook)):
        if cell["cell_type"] != "code":
            continue
        lines = _source(cell).split("\n")
        assert len(lines) <= 15, f"{notebook.name} cell {number}: {len(lines)} lines (at most 15)"
        wide = [line for line in lines if len(line) > 100]
        assert not wide, f"{notebook.name} cell {number}: a line of {len(wide[0])} characters: {wide[0][:60]!r}…"


def test_comparisons_come_from_the_kit(notebook):
    """One comparison helper (dlm_kit.stats.compare) for every notebook: no local copy of it."""
    code = "\n".join(_source(c) for c in _cells(notebook) if c["cell_type"] == "code")
    for pattern in (r"def verdict\b", r"\bpaired_difference\(", r"lambda[^\n]*\(lambda"):
        assert not re.search(pattern, code), f"{notebook.name}: {pattern!r} in a code cell; use dlm_kit.stats.compare"
