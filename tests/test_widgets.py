"""The denoising player: the slider shows the canvas of that step and ends on the sampler's output."""

import re

import pytest

from dlm_kit.backbones import load_backbone
from dlm_kit.chat import build_prompt
from dlm_kit.sampling import generate
from dlm_kit.widgets import PADDING_SYMBOL, DenoisingPlayer, DenoisingStudio, display_tokens, frames_from_output, save_denoising_gif


@pytest.fixture(scope="module")
def chat_run():
    model, tok = load_backbone("tiny-chat")
    prompt = build_prompt(tok, "Reverse the letters: q w e r t y")
    out = generate(model.eval(), [prompt], max_new_tokens=16, steps=16, block_size=8,
                   mask_token_id=tok.mask_token_id, return_history=True)
    return model, tok, out


def _shown_tokens(html):
    return re.findall(r'class="dlm-token dlm-(\w+)"[^>]*>([^<]*)</span>', html)


def test_slider_shows_the_canvas_of_that_step(chat_run):
    _, tok, out = chat_run
    player = DenoisingPlayer(out, tok, block_size=8)
    for step in (0, 3, len(out.history)):
        player.slider.value = step
        shown = _shown_tokens(player.view.value)
        canvas = out.history[step - 1].canvas[0, int(out.prompt_lengths[0]):] if step else None
        expected_masked = 16 if step == 0 else int((canvas == tok.mask_token_id).sum())
        assert sum(state == "masked" for state, _ in shown) == expected_masked
        assert f"step {step} / {len(out.history)}" in player.view.value


def test_tokens_revealed_at_a_step_are_marked_as_such(chat_run):
    _, tok, out = chat_run
    player = DenoisingPlayer(out, tok)
    player.slider.value = 2
    states = [state for state, _ in _shown_tokens(player.view.value)]
    start = int(out.prompt_lengths[0])
    assert states.count("revealed") == int(out.history[1].revealed[0, start:].sum())
    assert states.count("fixed") == int(out.history[0].revealed[0, start:].sum())


def test_last_frame_equals_the_sampler_output(chat_run):
    _, tok, out = chat_run
    player = DenoisingPlayer(out, tok)
    player.play.value = player.play.max  # Play drives the slider through a Python-side link
    assert player.slider.value == len(out.history)
    shown = [text for _, text in _shown_tokens(player.view.value)]
    assert shown == display_tokens(out.new_tokens[0].tolist(), tok)


def test_positions_after_the_end_of_answer_tag_are_shown_as_padding(chat_run):
    _, tok, out = chat_run
    player = DenoisingPlayer(out, tok)
    player.slider.value = len(out.history)
    shown = [text for _, text in _shown_tokens(player.view.value)]
    tokens = tok.convert_ids_to_tokens(out.new_tokens[0].tolist())
    end = tokens.index("[/Answer]")  # tiny-chat writes its answer, the tag, then anything
    assert shown[: end + 1] == tokens[: end + 1]
    assert shown[end + 1 :] == [PADDING_SYMBOL] * (len(tokens) - end - 1)


def test_frames_need_a_history(chat_run):
    model, tok, _ = chat_run
    out = generate(model, [[5, 6]], max_new_tokens=4, steps=4, block_size=4, mask_token_id=tok.mask_token_id)
    with pytest.raises(ValueError, match="return_history=True"):
        frames_from_output(out, tok)


def test_studio_generates_live_and_hands_over_to_a_player(chat_run):
    model, tok, _ = chat_run
    studio = DenoisingStudio(model, tok, prompt="Reverse the letters: a b c d", max_new_tokens=8)
    updates = []
    studio.view.observe(lambda change: updates.append(change["new"]), names="value")
    out = studio.generate()
    assert len(updates) == out.steps_taken  # one redraw per step, as it happened
    assert studio.player is not None and studio.output.children == (studio.player.widget,)
    assert "forward passes" in studio.status.value


def test_gif_export_has_one_frame_per_step(chat_run, tmp_path):
    from PIL import Image

    _, tok, out = chat_run
    path = save_denoising_gif(out, tok, str(tmp_path / "denoise.gif"), block_size=8)
    assert Image.open(path).n_frames == len(out.history) + 1


# Static fallback: where no widget manager runs (GitHub, nbviewer without widget state, a
# renderer that skips the widget format) the output's text/html and text/plain are what shows.

def _display_data(obj) -> dict:
    """What IPython puts in a cell's output for `obj` (as the last line of a cell)."""
    from IPython.core.interactiveshell import InteractiveShell

    data, _ = InteractiveShell.instance().display_formatter.format(obj)
    return data


def test_player_output_carries_the_live_widget_and_a_static_copy_of_the_answer(chat_run):
    _, tok, out = chat_run
    player = DenoisingPlayer(out, tok, block_size=8)
    data = _display_data(player)
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == player.widget.model_id
    shown = [text for _, text in _shown_tokens(data["text/html"])]
    assert shown == display_tokens(out.new_tokens[0].tolist(), tok)  # the sampler's output, no kernel needed
    assert f"step {len(out.history)} / {len(out.history)}" in data["text/html"]
    assert data["text/plain"].endswith(" ".join(shown))


def test_static_copy_shows_the_step_the_slider_is_on(chat_run):
    _, tok, out = chat_run
    player = DenoisingPlayer(out, tok)
    player.slider.value = 3
    data = _display_data(player)
    assert data["text/html"].endswith(player.view.value)  # the same frame as the live view
    assert "step 3 / " in data["text/html"] and "at step 3 of" in data["text/html"]
    masked = int((out.history[2].canvas[0, int(out.prompt_lengths[0]):] == tok.mask_token_id).sum())
    assert data["text/plain"].count("▒") == masked


def test_studio_output_shows_its_last_generation_statically(chat_run):
    model, tok, _ = chat_run
    studio = DenoisingStudio(model, tok, prompt="Reverse the letters: a b c d", max_new_tokens=8)
    before = _display_data(studio)
    assert "nothing generated yet" in before["text/html"] and "a b c d" in before["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in before
    out = studio.generate()
    after = _display_data(studio)
    shown = [text for _, text in _shown_tokens(after["text/html"])]
    assert shown == display_tokens(out.new_tokens[0].tolist(), tok)
    assert after["application/vnd.jupyter.widget-view+json"]["model_id"] == studio.widget.model_id


def test_committed_notebook_04_shows_every_player_without_a_kernel():
    """Each widget output of the committed notebook has a static frame beside the widget."""
    import json

    from conftest import REPO

    cells = json.loads((REPO / "notebooks" / "04_denoising_widget.ipynb").read_text())["cells"]
    widget_outputs = [o["data"] for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])
                      if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widget_outputs, "notebook 04 has no widget outputs: execute it"
    for data in widget_outputs:
        static_html, static_text = ("".join(data.get(kind, "")) for kind in ("text/html", "text/plain"))
        assert 'class="dlm-frame"' in static_html, "a widget output without its static frame"
        assert "▒" not in static_text, "a static copy of an unfinished canvas"
