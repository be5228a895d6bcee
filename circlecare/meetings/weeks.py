"""A group's meetings week by week, as they really are.

Before a group opens, its meetings exist only as a weekly pattern (`schedule.meeting_times`).
From then on the stored `Meeting` rows are the schedule: a skipped week moves that meeting and
the later ones a week on, a new pattern or a move re-times them, and a cancelled meeting keeps
its row with the cancelled status. A meeting's `number` is its programme week, kept through every
move, so week N is always the row numbered N. Everything that follows the meetings (questionnaires,
"this week", "first meeting") reads them from here rather than from the pattern.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from circlecare.meetings import schedule
from circlecare.meetings.models import Meeting, MeetingStatus
from circlecare.programs.models import Cohort

__all__ = ["MeetingWeek", "first_start", "meeting_weeks", "stored_meetings"]


@dataclass(frozen=True)
class MeetingWeek:
    """One programme week's meeting."""

    number: int
    starts_at: datetime
    #: When it is planned to end.
    ends_at: datetime
    #: When it was (or will be) over: `ends_at`, or earlier when its leader ended it early.
    over_at: datetime
    cancelled: bool = False


def stored_meetings(cohort: Cohort) -> list[Meeting] | None:
    """The meetings a page already loaded for `cohort` (``scheduled_meetings``, cancelled ones
    left out), or None when it loaded none."""
    loaded = getattr(cohort, "scheduled_meetings", None)
    return list(loaded) if loaded is not None else None


def meeting_weeks(cohort: Cohort, meetings: Iterable[Meeting] | None = None) -> list[MeetingWeek]:
    """The group's meetings in programme-week order, cancelled ones marked.

    `meetings` are the group's stored meetings when the caller has them; otherwise they are the
    ones the page prefetched, or else read in one query. A group with no stored meetings yet
    meets by its weekly pattern.
    """
    if meetings is None:
        meetings = stored_meetings(cohort)
    if meetings is None:
        meetings = Meeting.objects.filter(cohort_id=cohort.pk).only(
            "number", "starts_at", "ends_at", "ended_at", "status"
        )
    rows = sorted(meetings, key=lambda m: m.number)
    if rows:
        return [
            MeetingWeek(
                number=m.number,
                starts_at=m.starts_at,
                ends_at=m.ends_at,
                over_at=m.over_at,
                cancelled=m.status == MeetingStatus.CANCELLED,
            )
            for m in rows
        ]
    length = timedelta(minutes=cohort.program.minutes_per_meeting)
    return [
        MeetingWeek(number=n, starts_at=t, ends_at=t + length, over_at=t + length)
        for n, t in enumerate(schedule.meeting_times(cohort), start=1)
    ]


def first_start(cohort: Cohort, weeks: list[MeetingWeek] | None = None) -> datetime:
    """When the group first meets: its first meeting that is not cancelled (the first one, when
    every meeting is cancelled). `weeks` are its `meeting_weeks` when the caller has them."""
    if weeks is None:
        weeks = meeting_weeks(cohort)
    held = [w for w in weeks if not w.cancelled] or weeks
    return min(w.starts_at for w in held)
