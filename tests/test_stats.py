"""Intervals for rates and means: the numbers every notebook comparison rests on."""

import pytest

from dlm_kit.stats import format_rate, mean_interval, paired_difference, wilson_interval


def test_wilson_interval_contains_the_rate_and_stays_in_range():
    for k, n in [(0, 10), (10, 10), (3, 40), (37, 100)]:
        low, high = wilson_interval(k, n)
        assert 0.0 <= low <= k / n <= high <= 1.0
    assert wilson_interval(0, 100)[1] == pytest.approx(0.037, abs=1e-3)  # the rule of three, roughly


def test_interval_narrows_with_more_trials():
    narrow, wide = wilson_interval(500, 1000), wilson_interval(5, 10)
    assert narrow[1] - narrow[0] < wide[1] - wide[0]


def test_bad_counts_are_refused():
    with pytest.raises(ValueError, match="n=0"):
        wilson_interval(0, 0)
    with pytest.raises(ValueError, match="successes=5"):
        wilson_interval(5, 4)


def test_paired_difference_is_zero_centred_for_identical_scores():
    diff, low, high = paired_difference([1.0, 0.0, 1.0], [1.0, 0.0, 1.0])
    assert diff == low == high == 0.0
    with pytest.raises(ValueError, match="one of each"):
        paired_difference([1.0], [1.0, 2.0])


def test_mean_interval_and_format():
    mean, low, high = mean_interval([2.0, 4.0, 6.0, 8.0])
    assert low < mean == 5.0 < high
    assert format_rate(1, 4).startswith("25.0 % [")


def test_compare_pairs_by_default_and_can_compare_independent_samples():
    from dlm_kit.stats import compare

    # two systems that move together item by item: pairing removes the shared item difficulty
    a = [1.0, 5.0, 3.0, 8.0, 2.0, 6.0]
    b = [x - 0.5 + 0.1 * (i % 2) for i, x in enumerate(a)]
    paired, unpaired = compare(a, b), compare(a, b, paired=False)
    assert paired.difference == pytest.approx(unpaired.difference)
    assert paired.higher == "a" and unpaired.higher is None  # only the paired test sees it
    assert unpaired.high - unpaired.low > paired.high - paired.low
    assert "unpaired" in str(unpaired) and "unpaired" not in str(paired)
    # independent samples may differ in size; paired ones may not
    assert compare([1.0, 2.0, 3.0], [0.0, 1.0], paired=False).difference == pytest.approx(1.5)
    with pytest.raises(ValueError, match="one of each"):
        compare([1.0, 2.0, 3.0], [0.0, 1.0])
