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
from collections.abc import Sequence

__all__ = ["wilson_interval", "format_rate", "mean_interval", "paired_difference", "Z95"]

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
