"""Change per member and rates with honest intervals.

The definitions are the published ones: NHS Talking Therapies thresholds for reliable change
(PHQ-9 ≥ 6, GAD-7 ≥ 4), the WHO-5 developers' rule of thumb (10 percentage points),
caseness PHQ-9 ≥ 10 and GAD-7 ≥ 8, and Wilson score intervals for every reported rate.
The after-meeting check-in is refused here: it is not validated and never feeds outcomes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Final, Literal

from circlecare.measures.instruments import get
from circlecare.measures.instruments.base import Instrument, Score

Change = Literal["improved", "deteriorated", "no_reliable_change"]

IMPROVED: Final = "improved"
DETERIORATED: Final = "deteriorated"
NO_RELIABLE_CHANGE: Final = "no_reliable_change"

Z_95: Final = 1.96


def _is_whole_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def wilson_interval(k: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval for ``k`` successes out of ``n``, as proportions (0–1).

    With p̂ = k/n: centre = (p̂ + z²/2n) / (1 + z²/n) and
    half-width = z / (1 + z²/n) · √(p̂(1 − p̂)/n + z²/4n²).
    Unlike p̂ ± z·SE it stays inside 0–1 and is sound for small n, which small groups have.
    """
    if not _is_whole_number(k) or not _is_whole_number(n):
        raise ValueError("k and n must be whole numbers")
    if n <= 0:
        raise ValueError("A rate needs at least one person in the denominator (n must be > 0)")
    if not 0 <= k <= n:
        raise ValueError(f"k must be between 0 and n ({n}); got {k}")
    if not z > 0:
        raise ValueError("z must be positive")
    p = k / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half_width = z / denominator * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # At k = 0 (or k = n) the bound is exactly 0 (or 1); floating point would leave a crumb
    # either side, which would put the interval a hair away from p̂ itself.
    low = 0.0 if k == 0 else max(0.0, centre - half_width)
    high = 1.0 if k == n else min(1.0, centre + half_width)
    return low, high


@dataclass(frozen=True)
class Rate:
    """A proportion with its denominator and 95 % Wilson interval, ready to report."""

    k: int
    n: int
    proportion: float
    low: float
    high: float

    def as_percentages(self, digits: int = 1) -> tuple[float, float, float]:
        """``(rate, low, high)`` in percent, rounded for display. The rate is rounded from the
        exact ``k / n``, a half upwards as people round (1 of 16 is 6.3 %, not Python's 6.2 %)."""
        scale = 10**digits
        exact = Fraction(100 * self.k * scale, self.n)
        return (
            math.floor(exact + Fraction(1, 2)) / scale,
            round(self.low * 100, digits),
            round(self.high * 100, digits),
        )


def rate(k: int, n: int, z: float = Z_95) -> Rate:
    """``k`` of ``n`` with its Wilson interval; refuses ``n == 0`` rather than invent a rate."""
    low, high = wilson_interval(k, n, z)
    return Rate(k=k, n=n, proportion=k / n, low=low, high=high)


def jacobson_truax_threshold(sd: float, reliability: float, z: float = Z_95) -> float:
    """The reliable change threshold: z · s · √(2(1 − r)) (Jacobson & Truax 1991)."""
    if isinstance(sd, bool) or isinstance(reliability, bool):
        raise ValueError("sd and reliability must be numbers")
    if not sd > 0:
        raise ValueError(f"The baseline SD must be positive; got {sd}")
    if not 0 <= reliability < 1:
        raise ValueError(f"Reliability must be at least 0 and below 1; got {reliability}")
    return z * sd * math.sqrt(2 * (1 - reliability))


def _outcome_instrument(code: str) -> Instrument:
    instrument = get(code)
    if not instrument.validated:
        raise ValueError(
            f"{instrument.name} is not a validated questionnaire and is never used in outcome "
            "figures."
        )
    return instrument


def _total(instrument: Instrument, value: int | Score, what: str = "") -> int:
    label = " ".join(part for part in (instrument.name, what, "total") if part)
    if isinstance(value, Score):
        if value.instrument != instrument.code:
            raise ValueError(f"{label}: got a {value.instrument} score instead.")
        total = value.total
    else:
        total = value
    if not _is_whole_number(total):
        raise ValueError(f"{label} must be a whole number; got {total!r}")
    if not instrument.min_total <= total <= instrument.max_total:
        raise ValueError(
            f"{label} must be from {instrument.min_total} to {instrument.max_total}; got {total}"
        )
    return total


def classify_change(code: str, baseline: int | Score, last: int | Score) -> Change | None:
    """Reliable improvement, reliable deterioration, or neither, between two scores.

    Totals are raw totals (or ``Score`` objects). WHO-5 change is measured in percentage
    points, as its threshold is. Returns ``None`` where no threshold is published (UCLA-3):
    show the change, give no verdict.
    """
    instrument = _outcome_instrument(code)
    first = instrument.change_value(_total(instrument, baseline, "baseline"))
    latest = instrument.change_value(_total(instrument, last, "last"))
    if instrument.reliable_change is None:
        return None
    better_by = first - latest if instrument.higher_is_worse else latest - first
    if better_by >= instrument.reliable_change:
        return IMPROVED
    if -better_by >= instrument.reliable_change:
        return DETERIORATED
    return NO_RELIABLE_CHANGE


def is_case(code: str, total: int | Score) -> bool | None:
    """Whether a total is in the clinical range (PHQ-9 ≥ 10, GAD-7 ≥ 8).

    ``None`` for instruments with no caseness threshold (WHO-5, UCLA-3).
    """
    instrument = _outcome_instrument(code)
    value = _total(instrument, total)
    if instrument.caseness_threshold is None:
        return None
    return value >= instrument.caseness_threshold


def recovered(code: str, baseline: int | Score, last: int | Score) -> bool | None:
    """In caseness at baseline and below it at the last score.

    ``None`` when recovery does not apply: the instrument has no caseness threshold, or the
    member was not a case at baseline (they belong outside the recovery denominator, which
    is different from "not recovered").
    """
    was_case = is_case(code, baseline)
    if not was_case:
        return None
    return is_case(code, last) is False


def reliably_recovered(code: str, baseline: int | Score, last: int | Score) -> bool | None:
    """Recovery and reliable improvement together; ``None`` where recovery does not apply."""
    recovery = recovered(code, baseline, last)
    if recovery is None:
        return None
    return recovery and classify_change(code, baseline, last) == IMPROVED


def combined_phq_gad(phq_change: Change | None, gad_change: Change | None) -> bool:
    """Reliably improved on PHQ-9 and GAD-7 together.

    A member counts as reliably improved when at least one improves reliably and neither
    deteriorates reliably.
    """
    allowed = (IMPROVED, DETERIORATED, NO_RELIABLE_CHANGE)
    for name, change in (("PHQ-9", phq_change), ("GAD-7", gad_change)):
        if change not in allowed:
            raise ValueError(
                f"The {name} change must be one of {', '.join(allowed)}; got {change!r}"
            )
    changes = (phq_change, gad_change)
    return IMPROVED in changes and DETERIORATED not in changes
