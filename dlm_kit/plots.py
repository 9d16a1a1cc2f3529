"""Plots: one function per idea, each returning its matplotlib ``Axes``, titled and labelled.

    >>> ax = plot_losses({"MDLM": ([1, 2, 3], [4.0, 3.0, 2.5])})
    >>> ax.get_ylabel()
    'loss (nats/token)'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.ticker import LogLocator
import torch
from transformers import PreTrainedTokenizerBase

from .sampling import GenerationStep

__all__ = [
    "plot_losses",
    "plot_mask_ratio_histogram",
    "plot_loss_vs_mask_ratio",
    "plot_reveal_order",
    "render_corruption",
    "render_training_example",
    "plot_answer_lengths",
    "plot_speed_quality",
]


def _axes(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    return ax


def _readable_log_axis(axis, values: Sequence[float] | None = None) -> None:
    """Plain numbers (2, 8, 32) instead of 10^0.3-style ticks on a log axis; ticks at ``values``.

    Matplotlib's default log formatter labels only powers of ten, so a range like 2–32 shows one
    tick or none; readers want the values they chose marked.
    """
    formatter = plt.ScalarFormatter()
    formatter.set_scientific(False)
    axis.set_major_formatter(formatter)
    axis.set_minor_formatter(plt.NullFormatter())
    if values is None:  # continuous data (losses): ticks at 1-9 (or 1, 2, 5) times powers of ten
        low, high = axis.get_view_interval()
        decades = math.log10(max(high, 1e-12) / max(low, 1e-12))
        subs = tuple(range(1, 10)) if decades <= 1.2 else (1.0, 2.0, 5.0)
        axis.set_major_locator(LogLocator(base=10, subs=subs))
    else:
        ticks = sorted({float(v) for v in values if v > 0})
        if len(ticks) > 8:  # too many to read: keep about eight, always the ends
            stride = -(-len(ticks) // 8)
            ticks = sorted(set(ticks[::stride]) | {ticks[-1]})
        axis.set_ticks(ticks)


def plot_losses(
    curves: Mapping[str, tuple[Sequence[int], Sequence[float]]],
    *,
    ax: Axes | None = None,
    title: str = "Training loss",
    ylabel: str = "loss (nats/token)",
    log_y: bool = False,
) -> Axes:
    """Loss curves, one line per run: ``{"name": (steps, losses)}``."""
    ax = _axes(ax)
    for name, (steps, losses) in curves.items():
        ax.plot(list(steps), list(losses), label=name)
    ax.set(title=title, xlabel="optimizer step", ylabel=ylabel)
    if log_y:
        ax.set_yscale("log")
        _readable_log_axis(ax.yaxis)
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def plot_mask_ratio_histogram(ratios: Mapping[str, torch.Tensor], *, ax: Axes | None = None, bins: int = 20) -> Axes:
    """Histogram of the per-sequence masked fraction under each corruption scheme (notebook 01)."""
    ax = _axes(ax)
    for name, values in ratios.items():
        ax.hist(torch.as_tensor(values).float().numpy(), bins=bins, range=(0, 1), alpha=0.6, label=name)
    ax.set(title="How much of each sequence is masked", xlabel="mask ratio t (fraction of tokens)", ylabel="sequences")
    ax.legend()
    return ax


def plot_loss_vs_mask_ratio(results: Mapping[str, Mapping[float, float]], *, ax: Axes | None = None) -> Axes:
    """Held-out loss per masked token against the fraction masked, one line per model."""
    ax = _axes(ax)
    for name, by_ratio in results.items():
        ratios = sorted(by_ratio)
        ax.plot(ratios, [by_ratio[r] for r in ratios], marker="o", label=name)
    ax.set(title="Loss at a given mask ratio", xlabel="mask ratio t (fraction of tokens)", ylabel="loss (nats/masked token)")
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def plot_reveal_order(history: Sequence[GenerationStep], *, row: int = 0, start: int = 0, ax: Axes | None = None) -> Axes:
    """Heatmap of the step at which each generated position was revealed (sampler history).

    ``history`` is ``GenerationOutput.history``; ``start`` is the first generated position.
    """
    ax = _axes(ax)
    revealed_at = torch.full_like(history[0].canvas[row], -1, dtype=torch.long)
    for record in history:
        revealed_at[record.revealed[row]] = record.step
    order = revealed_at[start:].float()
    order[order < 0] = float("nan")
    image = ax.imshow(order[None, :].numpy(), aspect="auto", cmap="viridis")
    ax.set(title="When each position was revealed", xlabel="generated position (token)", yticks=[])
    plt.colorbar(image, ax=ax, label="sampler step")
    return ax


def render_corruption(input_ids: torch.Tensor, masked: torch.Tensor, tokenizer: PreTrainedTokenizerBase, *, mask_symbol: str = "▒") -> str:
    """One corrupted sequence as text, masked tokens shown as ``mask_symbol`` (notebook 01).

    >>> from dlm_kit.backbones import build_tiny_tokenizer
    >>> tok = build_tiny_tokenizer()
    >>> ids = torch.tensor(tok("the city of London")["input_ids"])
    >>> render_corruption(ids, torch.tensor([False, True, False, True]), tok)
    'the ▒ of ▒'
    """
    tokens = tokenizer.convert_ids_to_tokens(input_ids.tolist())
    pieces = []
    for token, is_masked in zip(tokens, masked.tolist()):
        if is_masked:
            token = ("##" if token.startswith("##") else "") + mask_symbol
        pieces.append(token)
    return tokenizer.convert_tokens_to_string(pieces)


def render_training_example(example: dict, tokenizer: PreTrainedTokenizerBase) -> str:
    """A tokenised SFT example with trained tokens in «» and prompt tokens plain (notebook 03).

    >>> from dlm_kit.backbones import build_tiny_tokenizer
    >>> tok = build_tiny_tokenizer()
    >>> render_training_example({"input_ids": tok("the city")["input_ids"], "labels": [-100, 1]}, tok)
    'the «city»'
    """
    tokens = tokenizer.convert_ids_to_tokens(example["input_ids"])
    pieces = []
    for token, label in zip(tokens, example["labels"]):
        pieces.append(token if label == -100 else f"«{token}»")
    return " ".join(pieces).replace(" ##", "").replace("«##", "«")


def plot_answer_lengths(sweeps: Mapping[str, Mapping[int, Mapping[str, float]]], *, ax: Axes | None = None) -> Axes:
    """Mean answer length against the allowed length (canvas), one line per padding policy.

    ``sweeps``: ``{name: {max_new_tokens: {"answer_tokens": ..., "exact_match": ...}}}``, as
    returned by :func:`dlm_kit.chat.length_sweep`.
    """
    ax = _axes(ax)
    for name, by_length in sweeps.items():
        lengths = sorted(by_length)
        ax.plot(lengths, [by_length[n]["answer_tokens"] for n in lengths], marker="o", label=name)
    ax.set(title="Answer length vs the room given", xlabel="max_new_tokens (canvas length)",
           ylabel="mean answer length (tokens)", xscale="log")
    _readable_log_axis(ax.xaxis, [n for by_length in sweeps.values() for n in by_length])
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def plot_speed_quality(rows: Sequence[Mapping], *, axes: Sequence[Axes] | None = None, n_questions: int | None = None,
                       timings: bool = True) -> Sequence[Axes]:
    """Exact match against forward passes, and answer tokens/s, one point per sampler setting.

    ``n_questions`` (how many questions each exact match is over) goes into the title.
    ``timings=False`` draws only the first panel (forward passes are the same on every machine;
    tokens/s is this machine's wall time, which notebooks keep out of committed outputs); then
    ``axes`` is one ``Axes``. Returns a list of the ``Axes`` drawn on (two, or one).

    ``rows`` as returned by :func:`dlm_kit.chat.speed_quality_sweep` (plus
    :func:`dlm_kit.baselines.causal_speed_quality` rows, ``kind="autoregressive"``, drawn in red).
    """
    if axes is None:
        axes = plt.subplots(1, 2, figsize=(12, 4))[1] if timings else [plt.subplots(figsize=(6.5, 4))[1]]
    elif not timings:
        axes = [axes]
    left = axes[0]
    colours = ["tab:red" if row.get("kind") == "autoregressive" else "tab:blue" for row in rows]
    for row, colour in zip(rows, colours):
        left.scatter(row["forward_passes"], row["exact_match"], color=colour, marker="s" if colour == "tab:red" else "o")
        left.annotate(row["setting"], (row["forward_passes"], row["exact_match"]), fontsize=8, xytext=(4, 3), textcoords="offset points")
    over = f" ({n_questions} questions)" if n_questions else ""
    left.set(title=f"Quality vs forward passes{over}", xlabel="forward passes per answer",
             ylabel="exact match (fraction)", xscale="log")
    _readable_log_axis(left.xaxis, [row["forward_passes"] for row in rows])
    left.grid(alpha=0.3)
    if timings:
        right = axes[1]
        right.barh([row["setting"] for row in rows], [row["answer_tokens_per_s"] for row in rows], color=colours)
        right.invert_yaxis()
        right.set(title="Speed on this machine", xlabel="answer tokens / s", ylabel="setting")
    plt.tight_layout()
    return list(axes)
