"""Every plot is titled and labelled; log axes show the values a reader chose, as plain numbers."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from dlm_kit import plots  # noqa: E402


def _labelled(ax):
    assert ax.get_title(), "plot has no title"
    assert ax.get_xlabel(), "plot has no x label"


def test_every_plot_is_titled_and_labelled():
    _labelled(plots.plot_losses({"a": ([1, 2], [3.0, 2.0])}, log_y=True))
    _labelled(plots.plot_mask_ratio_histogram({"MLM": torch.rand(10)}))
    _labelled(plots.plot_loss_vs_mask_ratio({"m": {0.1: 2.0, 1.0: 4.0}}))
    _labelled(plots.plot_answer_lengths({"eos": {8: {"answer_tokens": 3}, 32: {"answer_tokens": 5}}}))
    rows = [{"setting": "1 tok/step", "forward_passes": 32, "exact_match": 0.7, "answer_tokens_per_s": 10},
            {"setting": "4 tok/step", "forward_passes": 8, "exact_match": 0.6, "answer_tokens_per_s": 30}]
    left, right = plots.plot_speed_quality(rows, n_questions=100)
    _labelled(left), _labelled(right)
    assert "100 questions" in left.get_title()
    (only,) = plots.plot_speed_quality(rows, n_questions=100, timings=False)  # no wall time drawn
    _labelled(only)
    assert len(only.figure.axes) == 1 and "tokens / s" not in only.get_xlabel()
    plt.close("all")


def test_log_axis_ticks_are_the_chosen_values_in_plain_numbers():
    ax = plots.plot_answer_lengths({"eos": {n: {"answer_tokens": n / 2} for n in (2, 8, 32)}})
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert labels == ["2", "8", "32"]
    plt.close("all")


def test_a_log_loss_axis_within_one_decade_still_has_labelled_ticks():
    ax = plots.plot_losses({"MDLM": ([1, 2, 3], [8.0, 5.0, 3.2])}, log_y=True)
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    low, high = ax.get_ylim()
    assert len(labels) >= 3 and all(float(label) > 0 for label in labels), labels
    assert any(low <= float(label) <= high for label in labels)
    plt.close("all")
