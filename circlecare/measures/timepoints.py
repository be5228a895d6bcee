"""Which of a member's scores are the baseline, the latest and a follow-up: one rule for the
member's progress page, the clinician's member chart, the group overview, the score summaries
and the outcome reports.

For one member, one instrument and one group (cohort):

* scores are put in **programme order**: by programme week (the intake is week 0), then by when
  they were completed, then by the row's id (history loaded in bulk can share one time);
* the **baseline** is the first score in that order: the intake (answered for this group, or
  shared from another group's), or, for a member with no intake in this group (seats taken
  when another group's intake counted without being shared), the first weekly score;
* the **latest** is the last score in that order up to the program's last week; a score from
  after that week is kept and shown, but not counted as the result "by week N";
* there is a **follow-up** when the latest is from a later week than the baseline: a second
  answer in the same week as the baseline is not one.

``pick`` applies the rule to a member's rows in Python (the chart and the overview).
``order_by_sql``, ``before_sql`` and ``in_programme_sql`` give the same rule, from the same
``ORDER``, to the SQL that keeps the summaries the reports read (``summaries``), and
``follow_up_q`` to the reports' filters (``outcomes``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Generic, Protocol, TypeVar

from django.db.models import F, Q

#: Programme order, as columns of the assessments table: week, completion time, id.
ORDER: Final = ("meeting_week", "completed_at", "id")


class Scored(Protocol):
    """A completed assessment, as far as the rule needs it."""

    @property
    def meeting_week(self) -> int: ...

    @property
    def completed_at(self) -> datetime | None: ...

    @property
    def pk(self) -> int | None: ...


S = TypeVar("S", bound=Scored)


def order_key(row: Scored) -> tuple[int, datetime, int]:
    """A row's place in programme order (``ORDER``)."""
    assert row.completed_at is not None and row.pk is not None, "only completed, saved scores"
    return (row.meeting_week, row.completed_at, row.pk)


def in_programme(week: int, weeks: int) -> bool:
    """A score from this programme week counts towards the result by the program's last week."""
    return week <= weeks


@dataclass(frozen=True)
class Timepoints(Generic[S]):
    baseline: S | None
    latest: S | None

    @property
    def has_follow_up(self) -> bool:
        return (
            self.baseline is not None
            and self.latest is not None
            and self.latest.meeting_week > self.baseline.meeting_week
        )


def pick(rows: Iterable[S], *, weeks: int) -> Timepoints[S]:
    """The baseline and the latest of one member's completed scores on one instrument in one
    group, ``weeks`` being the program's number of weeks. The rows may come in any order."""
    ordered = sorted(rows, key=order_key)
    counted = [r for r in ordered if in_programme(r.meeting_week, weeks)]
    return Timepoints(
        baseline=ordered[0] if ordered else None, latest=counted[-1] if counted else None
    )


# --- the same rule in SQL, for the summaries and the reports ---------------------------------


def order_by_sql(alias: str, *, descending: bool = False) -> str:
    """An ``ORDER BY`` list putting ``alias``'s assessment rows in programme order (or the
    reverse)."""
    direction = " DESC" if descending else ""
    return ", ".join(f"{alias}.{column}{direction}" for column in ORDER)


def before_sql(first: Iterable[str], second: Iterable[str]) -> str:
    """SQL that is true when the place ``first`` (expressions for ``ORDER``'s columns, in order)
    comes before ``second`` in programme order."""
    a, b = list(first), list(second)
    assert len(a) == len(b) == len(ORDER)
    return f"({', '.join(a)}) < ({', '.join(b)})"


def in_programme_sql(week: str, weeks: str) -> str:
    """SQL for ``in_programme``."""
    return f"{week} <= {weeks}"


def follow_up_q(latest_week: str, baseline_week: str) -> Q:
    """``Timepoints.has_follow_up`` as a filter on rows holding a latest and a baseline week
    (the summaries: ``last_week`` and ``baseline_week``)."""
    return Q(**{f"{latest_week}__gt": F(baseline_week)})
