"""Widgets: watch block diffusion write an answer, step by step (notebook 04).

- :func:`render_step_html`: one step of a generation as coloured tokens: still masked, revealed
  at this step (shaded by the model's confidence), fixed earlier; block boundaries; a legend.
- :class:`DenoisingPlayer`: Play/Pause, a step slider, a speed slider and a step counter over a
  generation's history. One HTML widget is updated in place, and Play is linked to the slider in
  Python (``ipywidgets.link``), not in the browser, which is what works in Colab too.
- :class:`DenoisingStudio`: a prompt box, sampler controls and a Generate button; the view is
  redrawn live as each step happens, then handed to a player.
- :func:`save_denoising_gif`: the same frames as an animated GIF (matplotlib + Pillow), for
  GitHub, the README and other places without a kernel.

Static fallback: a widget is drawn only where a widget manager runs (JupyterLab, Colab, VS Code).
GitHub and other renderers without one show the other formats of an output, which for a bare
ipywidget is only its ``text/plain`` repr. So the player and the studio display as a bundle of
three: the live widget (which a widget manager prefers), a ``text/html`` rendering of the frame
on show (the sampler's output for a fresh player), and a ``text/plain`` line with the same
tokens. (nbconvert's HTML export and nbviewer prefer the widget format too; they draw widgets
from the notebook's saved widget state, with a script from a CDN.)

    >>> from dlm_kit.backbones import load_backbone
    >>> from dlm_kit.chat import build_prompt
    >>> from dlm_kit.sampling import generate
    >>> model, tok = load_backbone("tiny-bert", seed=0)
    >>> prompt = build_prompt(tok, "Reverse the letters: a b c")
    >>> out = generate(model.eval(), [prompt], max_new_tokens=8, steps=8, block_size=4,
    ...                mask_token_id=tok.mask_token_id, return_history=True)
    >>> player = DenoisingPlayer(out, tok, block_size=4)
    >>> player.slider.max == len(out.history)
    True
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import torch
from transformers import PreTrainedTokenizerBase

from .chat_format import answer_stop_sequences, build_prompt, find_end_of_answer
from .sampling import GenerationOutput, generate

__all__ = ["COLORS", "Frame", "frames_from_output", "display_tokens", "render_step_html", "DenoisingPlayer", "DenoisingStudio", "save_denoising_gif"]

COLORS = {"masked": "#d0d4da", "revealed": "#ff9f1c", "fixed": "#2a9d8f", "prompt": "#6c757d", "padding": "#eef0f2"}
"""Token colours: still masked, revealed at this step, fixed at an earlier step, the prompt, and
padding (EOS/pad tokens, and anything after a finished end-of-answer tag: the answer is cut there)."""
PADDING_SYMBOL = "·"


@dataclass
class Frame:
    """What one step looks like, for one row: generated tokens and their state."""

    step: int
    """0 = the fully masked canvas before the first step; k = after step k."""
    tokens: list[str]
    """The generated positions' tokens ('' where still masked)."""
    state: list[str]
    """'masked', 'revealed' (at this step) or 'fixed' (earlier) per generated position."""
    confidence: list[float]
    """The model's probability of each token revealed at this step (NaN elsewhere)."""
    padding: list[bool] | None = None
    """True where a committed token is padding: EOS/pad, or after a complete end-of-answer tag."""


def frames_from_output(output: GenerationOutput, tokenizer: PreTrainedTokenizerBase, *, row: int = 0) -> list[Frame]:
    """The frames of one row of a generation made with ``return_history=True``.

    Frame 0 is the masked canvas; frame k shows the canvas after step k, so a player with
    ``len(history) + 1`` frames ends exactly on ``output.sequences``.
    """
    if not output.history:
        raise ValueError("This output has no history: generate it with return_history=True.")
    start = int(output.prompt_lengths[row])
    end = start + output.new_tokens.shape[1]
    n = end - start
    frames = [Frame(0, [""] * n, ["masked"] * n, [math.nan] * n)]
    frames += [_frame(record, tokenizer, row=row, start=start, end=end) for record in output.history]
    return frames


def _frame(record, tokenizer, *, row: int, start: int, end: int | None = None) -> Frame:
    """The frame after one sampler step (a `GenerationStep`), positions start:end of a row."""
    ids = record.canvas[row, start:end].tolist()
    revealed = record.revealed[row, start:end].tolist()
    state = ["masked" if t == tokenizer.mask_token_id else ("revealed" if now else "fixed") for t, now in zip(ids, revealed)]
    tokens = ["" if s == "masked" else tokenizer.convert_ids_to_tokens(t) for t, s in zip(ids, state)]
    return Frame(record.step + 1, tokens, state, record.confidence[row, start:end].tolist(), _padding(ids, tokenizer))


def display_tokens(ids: list[int], tokenizer: PreTrainedTokenizerBase) -> list[str]:
    """How the player shows a finished canvas: each token, with padding drawn as ``·``.

    >>> from dlm_kit.backbones import build_tiny_tokenizer
    >>> tok = build_tiny_tokenizer()
    >>> display_tokens(tok("a b [/Answer] c")["input_ids"] + [tok.pad_token_id], tok)
    ['a', 'b', '[/Answer]', '·', '·']
    """
    padding = _padding(list(ids), tokenizer)
    return [PADDING_SYMBOL if pad else token for token, pad in zip(tokenizer.convert_ids_to_tokens(list(ids)), padding)]


def _padding(ids: list[int], tokenizer) -> list[bool]:
    """EOS/pad tokens, and every position after the first complete end-of-answer tag."""
    quiet = {tokenizer.eos_token_id, tokenizer.pad_token_id} - {None}
    padding = [t in quiet for t in ids]
    tag_start = find_end_of_answer(ids, tokenizer)
    if tag_start is not None:
        for j in range(tag_start + len(answer_stop_sequences(tokenizer)[0]), len(ids)):
            padding[j] = padding[j] or ids[j] != tokenizer.mask_token_id
    return padding


def render_step_html(frame: Frame, *, prompt: str = "", block_size: int | None = None, total_steps: int | None = None) -> str:
    """One frame as HTML: prompt, coloured tokens, block boundaries, step counter and legend."""
    spans = []
    padding = frame.padding or [False] * len(frame.tokens)
    pad_attribute = ' data-padding="1"'
    for i, (token, state, conf, pad) in enumerate(zip(frame.tokens, frame.state, frame.confidence, padding)):
        border = "border-left:2px dashed #555;padding-left:3px;" if block_size and i and i % block_size == 0 else ""
        color = COLORS[state]
        if state == "revealed" and not math.isnan(conf):
            # confidence shading: a confident reveal is solid, an unsure one pale
            alpha = 0.35 + 0.65 * conf
            color = f"rgba(255,159,28,{alpha:.2f})"
        text = "▒" if state == "masked" else html.escape(token)
        if pad and state != "masked":  # past the answer's end: drawn as padding, whatever was sampled there
            color, text = (COLORS["padding"] if state == "fixed" else color), PADDING_SYMBOL
        spans.append(
            f'<span class="dlm-token dlm-{state}" data-pos="{i}"{pad_attribute if pad else ""} title="{state}{", padding" if pad else ""}'
            f'{"" if math.isnan(conf) else f", p={conf:.2f}"}" style="background:{color};{border}'
            f'border-radius:3px;margin:1px;padding:1px 4px;display:inline-block;font-family:monospace">{text}</span>'
        )
    counter = f"step {frame.step}" + (f" / {total_steps}" if total_steps is not None else "")
    legend = " ".join(
        f'<span style="background:{COLORS[k]};border-radius:3px;padding:1px 6px;margin-right:4px">{k}</span>'
        for k in ("masked", "revealed", "fixed", "padding")
    )
    prompt_html = f'<div style="color:{COLORS["prompt"]};white-space:pre-wrap;margin-bottom:4px">{html.escape(prompt)}</div>' if prompt else ""
    return (
        f'<div class="dlm-frame" data-step="{frame.step}">{prompt_html}'
        f'<div class="dlm-canvas" style="line-height:1.9">{"".join(spans)}</div>'
        f'<div style="margin-top:6px;font-size:90%"><b class="dlm-counter">{counter}</b> &nbsp; {legend}'
        f'{" &nbsp; dashed line = block boundary" if block_size else ""}</div></div>'
    )


class DenoisingPlayer:
    """Play a generation's history: Play/Pause, step slider, speed, coloured tokens.

    ``DenoisingPlayer(output, tokenizer, block_size=32)`` as a cell's last line (or
    ``display(player)``) shows the widget, with a static copy of the frame on show for viewers
    without a widget manager; ``player.widget`` is the bare widget. Moving the slider to step k
    shows the canvas after step k; the last step is the sampler's final output.
    """

    def __init__(self, output: GenerationOutput, tokenizer: PreTrainedTokenizerBase, *, block_size: int | None = None, row: int = 0) -> None:
        import ipywidgets as widgets

        self.frames = frames_from_output(output, tokenizer, row=row)
        self.block_size = block_size
        start = int(output.prompt_lengths[row])
        self.prompt = tokenizer.decode(output.sequences[row, :start].tolist())
        last = len(self.frames) - 1
        self.play = widgets.Play(value=last, min=0, max=last, interval=300, description="Play")
        self.slider = widgets.IntSlider(value=last, min=0, max=last, description="step", continuous_update=True)
        self.speed = widgets.IntSlider(value=300, min=50, max=1500, step=50, description="ms/step")
        self.view = widgets.HTML()
        # Python-side links: jslink between Play and a slider is unreliable in Colab
        widgets.link((self.play, "value"), (self.slider, "value"))
        widgets.link((self.speed, "value"), (self.play, "interval"))
        self.slider.observe(lambda change: self.show(change["new"]), names="value")
        self.widget = widgets.VBox([widgets.HBox([self.play, self.slider, self.speed]), self.view])
        self.show(last)

    def html(self, step: int) -> str:
        return render_step_html(self.frames[step], prompt=self.prompt, block_size=self.block_size, total_steps=len(self.frames) - 1)

    def show(self, step: int) -> None:
        self.view.value = self.html(step)

    def static_html(self) -> str:
        """The frame on show as plain HTML, with a caption saying it is a still."""
        step, last = self.slider.value, len(self.frames) - 1
        what = "of the sampler's output" if step == last else f"at step {step} of {last}"
        return _static_caption(f"Static view {what}. Run the notebook to play it step by step.") + self.html(step)

    def static_text(self) -> str:
        """The frame on show as one line of text (masked positions as ▒)."""
        return "DenoisingPlayer, " + self.step_text()

    def step_text(self) -> str:
        """``'step k / n: '`` and the tokens of the frame on show."""
        frame = self.frames[self.slider.value]
        return f"step {frame.step} / {len(self.frames) - 1}: " + _frame_text(frame)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return _with_static_fallback(self.widget, self.static_html(), self.static_text())


class DenoisingStudio:
    """Type a prompt, set the sampler, press Generate, and watch the canvas fill in live.

    After each generation a :class:`DenoisingPlayer` of it replaces the live view. The controls
    start at the model's recommended sampler settings (its folder's ``sampling_config.json``), or
    at ``max_new_tokens`` tokens in one block, one per step, for a model without them.
    """

    def __init__(self, model: torch.nn.Module, tokenizer: PreTrainedTokenizerBase, *, prompt: str = "Reverse the letters: d a r k", max_new_tokens: int | None = None) -> None:
        import ipywidgets as widgets

        from .chat import SamplingConfig

        self.model, self.tokenizer = model.eval(), tokenizer
        start, source = SamplingConfig.for_model(model)
        if max_new_tokens is not None:  # the caller's canvas; the rest as the model recommends
            source = f"{source}, {max_new_tokens} new tokens"
        else:
            max_new_tokens = start.max_new_tokens if source != "the kit defaults" else 16
        steps = min(start.steps or max_new_tokens, max_new_tokens)
        block = min(start.block_size or max_new_tokens, max_new_tokens)
        self.sampling_source = source
        self.prompt = widgets.Text(value=prompt, description="prompt", layout=widgets.Layout(width="60%"))
        self.max_new_tokens = widgets.IntSlider(value=max_new_tokens, min=4, max=64, step=4, description="new tokens")
        self.steps = widgets.IntSlider(value=steps, min=1, max=64, description="steps")
        self.block_size = widgets.IntSlider(value=block, min=1, max=64, description="block size")
        self.remasking = widgets.Dropdown(options=["low_confidence", "random"], value=start.remasking, description="remasking")
        self.threshold = widgets.FloatSlider(value=start.threshold or 1.0, min=0.05, max=1.0, step=0.05, description="threshold")
        self.use_threshold = widgets.Checkbox(value=start.threshold is not None, description="threshold decoding")
        self.temperature = widgets.FloatSlider(value=start.temperature, min=0.0, max=2.0, step=0.1, description="temperature")
        self.repetition_penalty = widgets.FloatSlider(value=start.repetition_penalty, min=1.0, max=2.0, step=0.05,
                                                      description="rep. penalty")
        self.min_new_tokens = widgets.IntSlider(value=min(start.min_new_tokens, max_new_tokens), min=0, max=64,
                                                description="min tokens")
        self.button = widgets.Button(description="Generate", button_style="primary")
        self.status = widgets.HTML(value=html.escape(f"settings: {source}"))
        self.view = widgets.HTML()
        self.output = widgets.VBox([self.view])
        self.player: DenoisingPlayer | None = None
        self.button.on_click(lambda _: self.generate())
        controls = widgets.VBox([
            self.prompt,
            widgets.HBox([self.max_new_tokens, self.steps, self.block_size]),
            widgets.HBox([self.remasking, self.temperature, self.repetition_penalty]),
            widgets.HBox([self.use_threshold, self.threshold, self.min_new_tokens]),
            widgets.HBox([self.button, self.status]),
        ])
        self.widget = widgets.VBox([controls, self.output])

    def generate(self) -> GenerationOutput:
        """Sample with the current controls, updating the view after every step."""
        prompt_ids = build_prompt(self.tokenizer, self.prompt.value)
        start, tok = len(prompt_ids), self.tokenizer

        def live(record) -> None:
            frame = _frame(record, tok, row=0, start=start)
            self.view.value = render_step_html(frame, prompt=self.prompt.value, block_size=self.block_size.value)

        self.output.children = [self.view]
        self.status.value = "generating…"
        try:
            out = generate(
                self.model,
                [prompt_ids],
                max_new_tokens=self.max_new_tokens.value,
                steps=self.steps.value,
                block_size=self.block_size.value,
                temperature=self.temperature.value,
                remasking=self.remasking.value,
                threshold=self.threshold.value if self.use_threshold.value else None,
                repetition_penalty=self.repetition_penalty.value,
                min_new_tokens=min(self.min_new_tokens.value, self.max_new_tokens.value),
                mask_token_id=tok.mask_token_id,
                eos_token_id=tok.eos_token_id,  # what min_new_tokens keeps out of the first positions
                mode="fast",  # the head only on the candidates: same tokens up to float rounding
                return_history=True,
                on_step=live,
            )
        except ValueError as err:  # bad control combination: say why in the widget
            self.status.value = f'<span style="color:#c00">{html.escape(str(err))}</span>'
            raise
        self.status.value = f"{out.nfe} forward passes"
        self.player = DenoisingPlayer(out, tok, block_size=self.block_size.value)
        self.output.children = [self.player.widget]
        return out

    def static_html(self) -> str:
        """The last generation's frame on show as plain HTML, or the prompt before any."""
        if self.player is not None:
            return self.player.static_html()
        return _static_caption("Static view: nothing generated yet. Run the notebook and press Generate.") + (
            f'<div style="color:{COLORS["prompt"]}">prompt: {html.escape(self.prompt.value)}</div>')

    def static_text(self) -> str:
        """The last generation's frame on show as one line of text, or the prompt before any."""
        if self.player is not None:
            return "DenoisingStudio, last generation, " + self.player.step_text()
        return f"DenoisingStudio, nothing generated yet; prompt: {self.prompt.value}"

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return _with_static_fallback(self.widget, self.static_html(), self.static_text())


def _frame_text(frame: Frame) -> str:
    """A frame's tokens on one line: ▒ still masked, · padding."""
    padding = frame.padding or [False] * len(frame.tokens)
    return " ".join("▒" if state == "masked" else (PADDING_SYMBOL if pad else token)
                    for token, state, pad in zip(frame.tokens, frame.state, padding))


def _static_caption(text: str) -> str:
    return (f'<div class="dlm-static" style="font-size:85%;color:{COLORS["prompt"]};margin-bottom:2px">'
            f"{html.escape(text)}</div>")


def _with_static_fallback(widget, static_html: str, static_text: str) -> dict:
    """The widget's display data plus a still: a widget manager draws the live widget (it ranks
    the widget's format first); renderers without one, such as GitHub's, show the HTML."""
    bundle = dict(widget._repr_mimebundle_() or {})
    bundle["text/html"] = static_html
    bundle["text/plain"] = static_text
    return bundle


def save_denoising_gif(
    output: GenerationOutput, tokenizer: PreTrainedTokenizerBase, path: str, *, block_size: int | None = None, row: int = 0,
    columns: int = 16, ms_per_step: int = 300, question: str | None = None,
) -> str:
    """Write the denoising of one row as an animated GIF; returns ``path``.

    Each frame draws ``question`` (when given) above the generated positions, drawn as coloured
    boxes (the widget's colours) in rows of ``columns`` tokens; padding and anything after the
    end-of-answer tag are drawn as ``·``. The last frame is held three times as long.
    """
    if not isinstance(columns, int) or columns < 1:
        raise ValueError(f"columns={columns!r}: draw at least 1 token per row, e.g. 16.")
    if not isinstance(ms_per_step, int) or ms_per_step < 1:
        raise ValueError(f"ms_per_step={ms_per_step!r}: use a positive number of milliseconds, e.g. 300.")
    import textwrap

    import io

    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from PIL import Image

    frames = frames_from_output(output, tokenizer, row=row)
    n = len(frames[0].tokens)
    lines = math.ceil(n / columns)
    header = textwrap.wrap(f"Q: {question}", width=int(columns * 5.5)) if question else []
    top = 0.5 * len(header)
    images = []
    for frame in frames:
        fig, ax = plt.subplots(figsize=(columns * 0.7, 0.6 * (lines + top) + 0.6), dpi=80)
        ax.set_xlim(0, columns)
        ax.set_ylim(lines + top + 0.6, 0)
        ax.axis("off")
        for k, text in enumerate(header):
            ax.text(0.05, 0.4 + 0.5 * k, text, fontsize=10, color=COLORS["prompt"], va="center")
        padding = frame.padding or [False] * n
        for i, (token, state, conf, pad) in enumerate(zip(frame.tokens, frame.state, frame.confidence, padding)):
            x, y = i % columns, i // columns + top
            alpha = 1.0 if state != "revealed" or math.isnan(conf) else 0.35 + 0.65 * conf
            color = COLORS["padding"] if pad and state == "fixed" else COLORS[state]
            ax.add_patch(plt.Rectangle((x + 0.05, y + 0.1), 0.9, 0.8, color=color, alpha=alpha))
            if block_size and i and i % block_size == 0:
                ax.plot([x, x], [y + 0.05, y + 0.95], color="#555", linestyle="--", linewidth=1)
            label = "▒" if state == "masked" else (PADDING_SYMBOL if pad else token)
            ax.text(x + 0.5, y + 0.55, label, ha="center", va="center", fontsize=9, family="monospace")
        ax.text(0, lines + top + 0.45, f"step {frame.step} / {len(frames) - 1}", fontsize=9)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        plt.close(fig)
        images.append(Image.open(buffer).convert("P", palette=Image.ADAPTIVE))
    durations = [ms_per_step] * (len(images) - 1) + [ms_per_step * 3]
    images[0].save(path, save_all=True, append_images=images[1:], duration=durations, loop=0)
    return path
