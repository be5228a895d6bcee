"""One member's scores over time on one instrument: baseline, latest, reliable change, flags.

Used by the clinician's member chart and cohort overview, and (in plain words) the member's
own progress page. Works on the few rows of one member; outcome figures for many members are
computed in the database by ``outcomes.py``. Which scores are the baseline, the latest and a
follow-up is decided by ``timepoints``, for these pages and the reports alike; the points
themselves are listed in the order they were answered.

The not-on-track rule
---------------------
A member is **not on track** on an instrument when, at their latest score:

1. the change from baseline is a reliable deterioration; or
2. they have reached the halfway week of the program (week ≥ ⌈weeks / 2⌉) and the latest score
   is no better than the baseline (PHQ-9/GAD-7/UCLA-3 the same or higher; WHO-5 the same or
   lower); or
3. the most recently answered PHQ-9 carries the risk flag (item 9 above 0), whatever its week.

This is a prompt for the clinician to look and talk with the member, never a verdict. It is
our own rule, in the spirit of the expected-treatment-response approaches of routine outcome
monitoring, kept deliberately simple so that it can be explained in one sentence.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from circlecare.measures.instruments import Instrument, get
from circlecare.measures.instruments.base import LOW_ITEM, RISK
from circlecare.measures.models import Assessment, AssessmentStatus
from circlecare.measures.stats import DETERIORATED, IMPROVED, NO_RELIABLE_CHANGE, classify_change
from circlecare.measures.timepoints import pick

NOT_ON_TRACK_RULE = (
    "Not on track: a reliable deterioration from baseline; or, from the halfway week on, a "
    "latest score no better than the baseline; or a risk answer on the latest PHQ-9."
)

#: Overview order: who needs a look first.
FLAG_ORDER = {
    "risk": 0,
    DETERIORATED: 1,
    "not_on_track": 2,
    NO_RELIABLE_CHANGE: 3,
    "no_threshold": 4,
    IMPROVED: 5,
    "no_follow_up": 6,
    "no_scores": 7,
}

FLAG_LABELS = {
    "risk": "Risk answer on the latest PHQ-9",
    DETERIORATED: "Reliable deterioration",
    "not_on_track": "Not on track",
    NO_RELIABLE_CHANGE: "No reliable change",
    "no_threshold": "Change shown only (no published threshold)",
    IMPROVED: "Reliable improvement",
    "no_follow_up": "Baseline only",
    "no_scores": "No scores yet",
}

FLAG_BADGES = {
    "risk": "badge-danger",
    DETERIORATED: "badge-danger",
    "not_on_track": "badge-warning",
    NO_RELIABLE_CHANGE: "badge-muted",
    "no_threshold": "badge-muted",
    IMPROVED: "badge-success",
    "no_follow_up": "badge-muted",
    "no_scores": "badge-muted",
}


#: Measurement error, in a member's words: what a change must be larger than to be reliable.
UPS_AND_DOWNS = "the ups and downs that come from answering on different days"


@dataclass(frozen=True)
class Point:
    at: datetime
    week: int
    occasion: str
    total: int
    value: int  # on the display scale: the percentage for WHO-5, else the total
    band: str
    band_label: str
    risk: bool
    #: WHO-5: some single answer was 0 or 1 ("at no time", "some of the time"), which MEASURES.md
    #: says warrants a look whatever the total.
    low_item: bool
    synthetic: bool
    #: An intake the member shared from another group (answered while joining that one).
    shared: bool = False


@dataclass(frozen=True)
class Trajectory:
    instrument: Instrument
    #: Every score, in the order it was answered.
    points: list[Point]
    weeks: int
    #: The baseline and the latest score by ``timepoints.pick`` (the reports' rule); the latest
    #: is None when every score is from after the program's last week.
    baseline: Point | None
    latest: Point | None
    has_follow_up: bool

    @property
    def code(self) -> str:
        return self.instrument.code

    @property
    def most_recent(self) -> Point | None:
        """The score answered last, whatever its week: what a risk answer is looked for on."""
        return self.points[-1] if self.points else None

    @property
    def change(self) -> int | None:
        """Latest minus baseline, on the display scale (percentage points for WHO-5)."""
        if not self.has_follow_up:
            return None
        assert self.baseline is not None and self.latest is not None
        return self.latest.value - self.baseline.value

    @property
    def classification(self) -> str | None:
        if not self.has_follow_up or self.instrument.reliable_change is None:
            return None
        assert self.baseline is not None and self.latest is not None
        return classify_change(self.code, self.baseline.total, self.latest.total)

    @property
    def rc_threshold(self) -> int | None:
        """The reliable-change amount on the display scale."""
        return self.instrument.reliable_change

    @property
    def caseness(self) -> int | None:
        return self.instrument.caseness_threshold

    @property
    def not_on_track(self) -> bool:
        recent = self.most_recent
        if recent is not None and recent.risk:
            return True
        latest, baseline = self.latest, self.baseline
        if latest is None or baseline is None:
            return False
        if self.classification == DETERIORATED:
            return True
        halfway = math.ceil(self.weeks / 2)
        if self.has_follow_up and latest.week >= halfway:
            if self.instrument.higher_is_worse:
                return latest.value >= baseline.value
            return latest.value <= baseline.value
        return False

    @property
    def flag(self) -> str:
        recent = self.most_recent
        if recent is None:
            return "no_scores"
        if recent.risk:
            return "risk"
        cls = self.classification
        if cls == DETERIORATED:
            return DETERIORATED
        if self.not_on_track:
            return "not_on_track"
        if not self.has_follow_up:
            return "no_follow_up"
        if cls is None:
            return "no_threshold"
        return cls

    @property
    def flag_label(self) -> str:
        return FLAG_LABELS[self.flag]

    @property
    def in_plain_words(self) -> str:
        """The change since the first answers, for the member's own page: plain and calm, in
        MEASURES.md's terms (reliable improvement, reliable deterioration, reliable change)."""
        change = self.change
        if change is None:
            return (
                "This is your first score here. Once you have answered again, you'll see how it "
                "has changed."
            )
        instrument = self.instrument
        unit = " percentage points" if instrument.bands_on == "percentage" else ""
        if change == 0:
            moved = "stayed the same"
        else:
            moved = f"gone {'up' if change > 0 else 'down'} by {abs(change)}{unit}"
        said = f"Since your first answers, your score has {moved}."
        threshold = instrument.reliable_change
        if threshold is None:
            return (
                f"{said} There is no published amount of change that counts as a reliable change "
                "on this questionnaire, so only the change is shown."
            )
        points = "percentage points" if instrument.reliable_change_on == "percentage" else "points"
        amount = f"{threshold} {points}"
        source = (
            f"by a rule of thumb from the {instrument.name}'s developers, "
            if instrument.reliable_change_rule_of_thumb
            else ""
        )
        cls = self.classification
        if cls == IMPROVED:
            return (
                f"{said} That is a reliable improvement: {source}a change of {amount} or more is "
                f"larger than {UPS_AND_DOWNS}."
            )
        if cls == DETERIORATED:
            return (
                f"{said} That is a reliable deterioration: {source}a change of {amount} or more "
                f"is larger than {UPS_AND_DOWNS}. A score can't say why; your group's team is "
                "there to talk it through with you."
            )
        if change == 0:
            return said
        return (
            f"{said} That is within {UPS_AND_DOWNS}, so it is not a reliable change: "
            f"{source}a change counts as reliable from {amount}."
        )

    @property
    def flag_badge(self) -> str:
        return FLAG_BADGES[self.flag]

    def chart_data(self, *, for_member: bool = False) -> dict[str, Any]:
        """What measures-chart.js draws. Members get the line only, without bands."""
        instrument = self.instrument
        low, high = instrument.scale_bounds(instrument.bands_on)
        data: dict[str, Any] = {
            "code": self.code,
            "name": instrument.name,
            "min": low,
            "max": high,
            "higherIsWorse": instrument.higher_is_worse,
            # In the viewer's zone, as the table beside the chart gives the dates.
            "labels": [f"{timezone.localtime(p.at):%d %b}" for p in self.points],
            "values": [p.value for p in self.points],
            "unit": "%" if instrument.bands_on == "percentage" else "",
        }
        if for_member:
            return data
        data["bands"] = [{"low": b.low, "high": b.high, "label": b.label} for b in instrument.bands]
        data["caseness"] = self.caseness
        if self.baseline is not None and self.rc_threshold is not None:
            data["baseline"] = self.baseline.value
            data["reliableChange"] = self.rc_threshold
        return data


def _point(row: Assessment, instrument: Instrument) -> Point:
    assert row.total is not None and row.completed_at is not None
    value = row.percentage if instrument.bands_on == "percentage" and row.percentage else row.total
    band = next((b for b in instrument.bands if b.code == row.band), None)
    return Point(
        at=row.completed_at,
        week=row.meeting_week,
        occasion=row.occasion,
        total=row.total,
        value=value if value is not None else row.total,
        band=row.band,
        band_label=band.label if band else "",
        risk=RISK in (row.flags or []),
        low_item=LOW_ITEM in (row.flags or []),
        synthetic=row.synthetic,
        shared=row.shared_from_id is not None,
    )


def trajectories(
    rows: Iterable[Assessment], *, weeks: int, codes: Iterable[str]
) -> list[Trajectory]:
    """One trajectory per instrument code, from completed rows (any order) of one member in one
    group whose program has ``weeks`` weeks."""
    wanted = list(codes)
    by_code: dict[str, list[Assessment]] = {code: [] for code in wanted}
    for row in rows:
        if row.status == AssessmentStatus.COMPLETED and row.instrument in by_code:
            by_code[row.instrument].append(row)
    result = []
    for code in wanted:
        instrument = get(code)
        answered = sorted(by_code[code], key=lambda r: (r.completed_at, r.pk))
        points = {r.pk: _point(r, instrument) for r in answered}
        chosen = pick(answered, weeks=weeks)
        result.append(
            Trajectory(
                instrument=instrument,
                points=list(points.values()),
                weeks=weeks,
                baseline=points[chosen.baseline.pk] if chosen.baseline else None,
                latest=points[chosen.latest.pk] if chosen.latest else None,
                has_follow_up=chosen.has_follow_up,
            )
        )
    return result


def worst_flag(items: Iterable[Trajectory]) -> str:
    """One flag for a member across instruments, for sorting the overview.

    A risk answer, a reliable deterioration or not being on track on any instrument comes
    first. Otherwise, as with PHQ-9 and GAD-7 together, a member counts as reliably improved
    when at least one instrument improved reliably and none deteriorated.
    """
    flags = [t.flag for t in items]
    if not flags:
        return "no_scores"
    worst = min(flags, key=lambda f: FLAG_ORDER[f])
    if FLAG_ORDER[worst] <= FLAG_ORDER["not_on_track"]:
        return worst
    if IMPROVED in flags:
        return IMPROVED
    return worst
