"""Numbers that hold: 95 % intervals for the rates and means the notebooks compare.

Every accuracy the kit prints comes with its n and an interval, and a difference between two
models is only claimed when it is larger than the noise. Rates use the Wilson score interval
(sound at 0 % and 100 %, unlike the normal approximation); means and paired differences use the
normal approximation (the notebooks' n ≥ 40).

    >>> low, high = wilson_interval(37, 100)
    >>> round(low, 3), round(high, 3)
    (0.282, 0.468)
    >>> format_rate(37, 100)
    '37.0 % [28.2, 46.8] (n=100)'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["wilson_interval", "format_rate", "mean_interval", "paired_difference", "Comparison", "compare",
           "format_table", "Z95"]

Z95 = 1.959964
"""The standard normal's 97.5 % quantile: a two-sided 95 % interval."""


def wilson_interval(successes: int, n: int, *, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial rate ``successes / n`` (as fractions)."""
    if n <= 0:
        raise ValueError(f"n={n}: a rate needs at least one trial.")
    if not 0 <= successes <= n:
        raise ValueError(f"successes={successes} must lie between 0 and n={n}.")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    # exact ends at 0 % and 100 % (the formula gives them only up to float rounding)
    return (0.0 if successes == 0 else low), (1.0 if successes == n else high)


def format_rate(successes: int, n: int) -> str:
    """``'k/n'`` as a percentage with its 95 % Wilson interval and n."""
    low, high = wilson_interval(successes, n)
    return f"{100 * successes / n:.1f} % [{100 * low:.1f}, {100 * high:.1f}] (n={n})"


def mean_interval(values: Sequence[float], *, z: float = Z95) -> tuple[float, float, float]:
    """``(mean, low, high)``: the mean and its normal-approximation 95 % interval.

    >>> mean_interval([1.0, 2.0, 3.0, 4.0])[0]
    2.5
    """
    n = len(values)
    if n < 2:
        raise ValueError(f"{n} values: an interval needs at least two.")
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = z * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def paired_difference(a: Sequence[float], b: Sequence[float], *, z: float = Z95) -> tuple[float, float, float]:
    """Mean of ``a[i] - b[i]`` over the same items, with its 95 % interval.

    The right comparison for two models scored on the same questions: the interval excludes 0
    when one is better beyond the noise.

    >>> diff, low, high = paired_difference([1, 1, 1, 0], [0, 0, 1, 0])
    >>> diff
    0.5
    """
    if len(a) != len(b):
        raise ValueError(f"{len(a)} and {len(b)} values: a paired difference needs one of each per item.")
    return mean_interval([x - y for x, y in zip(a, b)], z=z)


@dataclass(frozen=True)
class Comparison:
    """Two systems scored on the same items: the mean paired difference ``a - b``, its interval and a verdict.

    ``str()`` gives the line a notebook prints; :attr:`verdict` and :attr:`higher` are what a
    notebook asserts on, so a summary that states the result fails nbval when the result moves.
    """

    a: str
    b: str
    difference: float
    low: float
    high: float
    n: int
    unit: str = ""
    paired: bool = True
    """False when ``a`` and ``b`` were scored on different items (a difference of two means)."""

    @property
    def higher(self) -> str | None:
        """The name whose scores are higher beyond the noise, or ``None`` when the interval contains 0."""
        return self.a if self.low > 0 else self.b if self.high < 0 else None

    @property
    def verdict(self) -> str:
        """``'<a> higher'``, ``'<b> higher'`` or ``'not distinguishable (the interval contains 0)'``."""
        return f"{self.higher} higher" if self.higher else "not distinguishable (the interval contains 0)"

    def __str__(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        n = f"n={self.n}" if self.paired else f"n={self.n} each, unpaired"
        return f"{self.a} - {self.b}: {self.difference:+.3f}{unit} [{self.low:+.3f}, {self.high:+.3f}], {n}: {self.verdict}"


def compare(a: Sequence[float], b: Sequence[float], *, names: tuple[str, str] = ("a", "b"), unit: str = "",
            paired: bool = True, z: float = Z95) -> Comparison:
    """Compare two systems: ``mean(a) - mean(b)`` with its 95 % interval and a verdict.

    ``paired=True`` (the default, and the right test whenever both were scored on the same items)
    takes the per-item differences; ``paired=False`` compares two independent samples (say, two
    backbones whose tokenizers cut the text into different blocks), with the interval of a
    difference of two means, which is wider.

    >>> c = compare([1, 1, 1, 0, 1, 1], [0, 0, 1, 0, 0, 0], names=("mdlm", "mlm"), unit="exact")
    >>> print(c)
    mdlm - mlm: +0.667 exact [+0.253, +1.080], n=6: mdlm higher
    >>> compare([1.0, 2.0, 3.0], [1.5, 1.5, 3.5], names=("x", "y")).verdict
    'not distinguishable (the interval contains 0)'
    >>> print(compare([2.0, 2.2, 2.4, 2.1], [1.0, 1.3, 0.9, 1.1], names=("x", "y"), paired=False))
    x - y: +1.100 [+0.863, +1.337], n=4 each, unpaired: x higher
    """
    if paired:
        difference, low, high = paired_difference(a, b, z=z)
        return Comparison(names[0], names[1], difference, low, high, len(a), unit)
    (mean_a, low_a, high_a), (mean_b, low_b, high_b) = mean_interval(a, z=z), mean_interval(b, z=z)
    half = math.hypot((high_a - low_a) / 2, (high_b - low_b) / 2)  # the two standard errors add in quadrature
    difference = mean_a - mean_b
    return Comparison(names[0], names[1], difference, difference - half, difference + half,
                      min(len(a), len(b)), unit, paired=False)


def format_table(rows: Sequence[Mapping[str, object]], *, formats: Mapping[str, str] | None = None) -> str:
    """Rows of dicts as a plain-text table: one column per key of the first row, right-aligned.

    ``formats`` maps a column to a format spec (``{"rate": ".1%"}``); other floats get ``.3f``.

    >>> print(format_table([{"system": "bert-chat", "clean": 0.97}, {"system": "teacher", "clean": 1.0}],
    ...                    formats={"clean": ".0%"}))
       system  clean
    bert-chat    97%
      teacher   100%
    """
    if not rows:
        raise ValueError("format_table needs at least one row.")
    formats = dict(formats or {})
    columns = list(rows[0])

    def cell(row: Mapping[str, object], column: str) -> str:
        value = row.get(column, "")
        if column in formats and value not in ("", None):
            return format(value, formats[column])
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    cells = [[cell(row, c) for c in columns] for row in rows]
    widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(columns)]
    lines = [columns, *cells]
    return "\n".join("  ".join(text.rjust(w) for text, w in zip(line, widths)) for line in lines)
