"""Wilson intervals, Jacobson–Truax, reliable change, caseness and recovery."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from circlecare.measures.instruments import GAD7, PHQ9, WHO5
from circlecare.measures.stats import (
    Change,
    classify_change,
    combined_phq_gad,
    is_case,
    jacobson_truax_threshold,
    rate,
    recovered,
    reliably_recovered,
    wilson_interval,
)


def percent(value: float) -> str:
    return f"{value * 100:.1f}"


# Wilson ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n", "shown", "low", "high"),
    [
        (70, 100, "70.0", "60.4", "78.1"),
        (7, 10, "70.0", "39.7", "89.2"),
        (70, 160, "43.8", "36.3", "51.5"),
    ],
)
def test_wilson_matches_the_worked_examples(
    k: int, n: int, shown: str, low: str, high: str
) -> None:
    lower, upper = wilson_interval(k, n)
    assert (percent(k / n), percent(lower), percent(upper)) == (shown, low, high)
    assert rate(k, n).as_percentages() == (float(shown), float(low), float(high))


def test_small_groups_get_wide_intervals() -> None:
    small = wilson_interval(7, 10)
    large = wilson_interval(70, 100)
    assert small[1] - small[0] > 2 * (large[1] - large[0])


def test_wilson_at_the_extremes_stays_within_0_and_1() -> None:
    low, high = wilson_interval(0, 5)
    assert low == 0.0 and 0 < high < 1
    low, high = wilson_interval(5, 5)
    assert 0 < low < 1 and high == 1.0


@given(st.integers(1, 2000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_properties(pair: tuple[int, int]) -> None:
    k, n = pair
    low, high = wilson_interval(k, n)
    assert 0.0 <= low <= k / n <= high <= 1.0
    # Counting failures instead of successes mirrors the interval.
    mirror_low, mirror_high = wilson_interval(n - k, n)
    assert math.isclose(low, 1 - mirror_high, abs_tol=1e-12)
    assert math.isclose(high, 1 - mirror_low, abs_tol=1e-12)
    # Independent of the implementation: the Wilson bounds are the roots of
    # (p̂ − p)² = z² p (1 − p) / n.
    z = 1.96
    a = 1 + z * z / n
    b = -(2 * k / n + z * z / n)
    c = (k / n) ** 2
    root = math.sqrt(max(0.0, b * b - 4 * a * c))
    assert math.isclose(low, (-b - root) / (2 * a), abs_tol=1e-9)
    assert math.isclose(high, (-b + root) / (2 * a), abs_tol=1e-9)


@pytest.mark.parametrize(("k", "n"), [(0, 0), (1, 0), (-1, 10), (11, 10), (True, 10), (1, 2.0)])
def test_wilson_refuses_impossible_counts(k: int, n: int) -> None:
    with pytest.raises(ValueError):
        wilson_interval(k, n)


def test_wilson_with_no_one_in_the_denominator_says_so() -> None:
    with pytest.raises(ValueError, match="denominator"):
        wilson_interval(0, 0)


# Jacobson–Truax ------------------------------------------------------------------------------


def test_jacobson_truax_formula() -> None:
    assert jacobson_truax_threshold(1.0, 0.5) == pytest.approx(1.96)
    assert jacobson_truax_threshold(5.0, 0.84) == pytest.approx(1.96 * 5.0 * math.sqrt(0.32))
    assert jacobson_truax_threshold(4.0, 0.0) == pytest.approx(1.96 * 4.0 * math.sqrt(2))


def test_more_reliable_instruments_need_smaller_changes() -> None:
    assert jacobson_truax_threshold(5.0, 0.9) < jacobson_truax_threshold(5.0, 0.8)


@pytest.mark.parametrize(("sd", "r"), [(0.0, 0.8), (-1.0, 0.8), (5.0, 1.0), (5.0, -0.1)])
def test_jacobson_truax_refuses_meaningless_inputs(sd: float, r: float) -> None:
    with pytest.raises(ValueError):
        jacobson_truax_threshold(sd, r)


# Reliable change ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "baseline", "last", "expected"),
    [
        ("PHQ9", 16, 10, "improved"),
        ("PHQ9", 16, 11, "no_reliable_change"),
        ("PHQ9", 10, 16, "deteriorated"),
        ("PHQ9", 10, 15, "no_reliable_change"),
        ("PHQ9", 27, 0, "improved"),
        ("GAD7", 12, 8, "improved"),
        ("GAD7", 12, 9, "no_reliable_change"),
        ("GAD7", 8, 12, "deteriorated"),
        ("GAD7", 8, 11, "no_reliable_change"),
        # WHO-5 is measured in percentage points: raw +3 is +12 points, raw +2 only +8.
        ("WHO5", 10, 13, "improved"),
        ("WHO5", 10, 12, "no_reliable_change"),
        ("WHO5", 13, 10, "deteriorated"),
        ("WHO5", 12, 10, "no_reliable_change"),
    ],
)
def test_reliable_change_at_the_thresholds(
    code: str, baseline: int, last: int, expected: str
) -> None:
    assert classify_change(code, baseline, last) == expected


def test_reliable_change_matches_a_reference_over_every_pair() -> None:
    for instrument, threshold, factor in ((PHQ9, 6, 1), (GAD7, 4, 1), (WHO5, 10, 4)):
        totals = range(instrument.min_total, instrument.max_total + 1)
        for baseline, last in itertools.product(totals, repeat=2):
            drop = (baseline - last) * factor
            better = drop if instrument.higher_is_worse else -drop
            expected = (
                "improved"
                if better >= threshold
                else "deteriorated"
                if better <= -threshold
                else "no_reliable_change"
            )
            assert classify_change(instrument.code, baseline, last) == expected


def test_ucla3_change_gets_no_verdict() -> None:
    assert classify_change("UCLA3", 9, 3) is None
    assert classify_change("UCLA3", 3, 9) is None


def test_scores_can_be_passed_instead_of_totals() -> None:
    baseline = PHQ9.score([2] * 9)
    last = PHQ9.score([1] * 9)
    assert classify_change("PHQ9", baseline, last) == "improved"
    with pytest.raises(ValueError, match="GAD7"):
        classify_change("PHQ9", GAD7.score([0] * 7), last)


@pytest.mark.parametrize(
    ("code", "baseline", "last"),
    [("PHQ9", 28, 0), ("PHQ9", -1, 0), ("GAD7", 22, 0), ("WHO5", 26, 0), ("UCLA3", 2, 3)],
)
def test_totals_out_of_range_are_refused(code: str, baseline: int, last: int) -> None:
    with pytest.raises(ValueError, match="total must be from"):
        classify_change(code, baseline, last)


def test_the_checkin_is_never_used_for_outcomes() -> None:
    with pytest.raises(ValueError, match="not a validated questionnaire"):
        classify_change("CHECKIN", 10, 40)
    with pytest.raises(ValueError, match="not a validated questionnaire"):
        is_case("CHECKIN", 10)


# Caseness and recovery ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "total", "expected"),
    [
        ("PHQ9", 9, False),
        ("PHQ9", 10, True),
        ("GAD7", 7, False),
        ("GAD7", 8, True),
        ("WHO5", 0, None),
        ("UCLA3", 9, None),
    ],
)
def test_caseness_edges(code: str, total: int, expected: bool | None) -> None:
    assert is_case(code, total) is expected


@pytest.mark.parametrize(
    ("code", "baseline", "last", "recovery", "reliable_recovery"),
    [
        ("PHQ9", 12, 9, True, False),  # below caseness, but a fall of only 3
        ("PHQ9", 12, 10, False, False),  # still a case
        ("PHQ9", 15, 9, True, True),
        ("PHQ9", 10, 4, True, True),
        ("PHQ9", 20, 10, False, False),  # reliably improved yet still a case
        ("PHQ9", 9, 0, None, None),  # not a case at baseline: recovery does not apply
        ("GAD7", 8, 7, True, False),
        ("GAD7", 11, 7, True, True),
        ("GAD7", 7, 0, None, None),
        ("WHO5", 5, 25, None, None),
        ("UCLA3", 9, 3, None, None),
    ],
)
def test_recovery(
    code: str,
    baseline: int,
    last: int,
    recovery: bool | None,
    reliable_recovery: bool | None,
) -> None:
    assert recovered(code, baseline, last) is recovery
    assert reliably_recovered(code, baseline, last) is reliable_recovery


# PHQ-9 and GAD-7 together ---------------------------------------------------------------------

CHANGES: tuple[Change, ...] = ("improved", "deteriorated", "no_reliable_change")


@pytest.mark.parametrize(("phq", "gad"), list(itertools.product(CHANGES, repeat=2)))
def test_combined_rule(phq: Change, gad: Change) -> None:
    expected = {
        ("improved", "improved"): True,
        ("improved", "no_reliable_change"): True,
        ("no_reliable_change", "improved"): True,
        ("improved", "deteriorated"): False,
        ("deteriorated", "improved"): False,
        ("no_reliable_change", "no_reliable_change"): False,
        ("deteriorated", "deteriorated"): False,
        ("deteriorated", "no_reliable_change"): False,
        ("no_reliable_change", "deteriorated"): False,
    }[(phq, gad)]
    assert combined_phq_gad(phq, gad) is expected


def test_combined_rule_needs_both_changes() -> None:
    with pytest.raises(ValueError, match="GAD-7"):
        combined_phq_gad("improved", None)
    with pytest.raises(ValueError, match="PHQ-9"):
        combined_phq_gad("better", "improved")  # type: ignore[arg-type]


def test_combined_rule_from_scores() -> None:
    phq = classify_change("PHQ9", 18, 11)
    gad = classify_change("GAD7", 10, 9)
    assert combined_phq_gad(phq, gad) is True
    assert combined_phq_gad(phq, classify_change("GAD7", 6, 10)) is False


@pytest.mark.parametrize(
    ("k", "n", "shown"),
    [
        (1, 16, 6.3),
        (3, 16, 18.8),
        (1, 8, 12.5),
        (1, 3, 33.3),
        (2, 3, 66.7),
        (0, 5, 0.0),
        (5, 5, 100.0),
    ],
)
def test_a_rate_is_shown_rounded_half_up_from_its_exact_value(k: int, n: int, shown: float) -> None:
    """As people round (and as a calculator shows k ÷ n), not to the even digit."""
    assert rate(k, n).as_percentages(1)[0] == shown


@given(
    st.integers(min_value=1, max_value=2000).flatmap(
        lambda n: st.tuples(st.integers(0, n), st.just(n))
    )
)
def test_a_shown_rate_is_within_half_a_tenth_of_its_exact_value(pair: tuple[int, int]) -> None:
    from fractions import Fraction

    k, n = pair
    shown = rate(k, n).as_percentages(1)[0]
    gap = Fraction(str(shown)) - Fraction(100 * k, n)
    assert -Fraction(1, 20) < gap <= Fraction(1, 20)
