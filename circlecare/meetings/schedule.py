"""Weekly meeting times for a cohort, computed without touching the database.

A cohort meets once a week, on the weekday of its first meeting, at one local wall-clock time in
its own IANA time zone. Times are returned as aware UTC datetimes (the project stores time in UTC)
and the local time stays the same across daylight-saving changes: a 7 pm group in New York meets
at 7 pm EST in winter and 7 pm EDT in summer, which is 00:00 UTC and then 23:00 UTC.

The rule for local times that do not exist or happen twice
------------------------------------------------------------
Clock changes make some local times impossible and others ambiguous. One rule covers both, and
it is the one RFC 5545 prescribes for recurring calendar events, so the meeting times computed
here agree with what members' calendar applications show:

* A local time that does not exist because clocks go forward (the spring-forward gap) is
  interpreted with the UTC offset in force *before* the gap, which moves the meeting later by the
  length of the gap. 02:30 in America/New_York on 2026-03-08 (clocks jump from 02:00 to 03:00)
  becomes 03:30 EDT, 07:30 UTC. On Lord Howe Island, whose clocks jump 30 minutes, 02:15 on
  2026-10-04 becomes 02:45.
* A local time that happens twice because clocks go back is the *first* occurrence. 01:30 in
  America/New_York on 2026-11-01 is 01:30 EDT, 05:30 UTC, not the later 01:30 EST.

`describe_rule()` returns the same rule in plain words for staff pages; `local_time_issue()` and
`preview()` show which dates the rule adjusted.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "MAX_MEETINGS",
    "SCHEDULE_RULE",
    "CohortSchedule",
    "LocalTimeIssue",
    "PreviewRow",
    "describe_rule",
    "format_for_viewer",
    "format_local",
    "local_time_issue",
    "meeting_times",
    "preview",
    "weekly_times",
]

# Two years of weekly meetings; longer series are almost certainly a typing mistake, and the
# bound keeps every schedule computation small.
MAX_MEETINGS = 104

SCHEDULE_RULE = (
    "Meetings keep the same local time every week, also when clocks change for daylight "
    "saving. If the meeting time does not exist on a date because clocks go forward, the "
    "meeting starts later by the length of the jump (for example 2:30 am becomes 3:30 am when "
    "clocks jump from 2:00 am to 3:00 am). If the meeting time happens twice on a date because "
    "clocks go back, the meeting is at the first, earlier of the two."
)

_OUT_OF_RANGE = "The meeting series runs past the dates the calendar can hold."
# A meeting's start leaves room for what is worked out from it (its end, up to four hours on;
# its local time in any zone, up to 14 hours on) inside the dates Python can hold.
_LATEST_START = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)

LocalTimeIssue = Literal["gap", "ambiguous"]

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class _ProgramWeeks(Protocol):
    @property
    def weeks(self) -> int: ...


class CohortSchedule(Protocol):
    """What `meeting_times` reads from a cohort (the `Cohort` model satisfies it)."""

    @property
    def first_meeting_date(self) -> date: ...

    @property
    def start_time(self) -> time: ...

    @property
    def time_zone(self) -> str: ...

    @property
    def program(self) -> _ProgramWeeks: ...


@dataclass(frozen=True)
class PreviewRow:
    """One meeting of a planned series, as staff see it before saving the schedule."""

    utc: datetime
    local: datetime
    issue: LocalTimeIssue | None
    note: str | None


def describe_rule() -> str:
    """The rule for nonexistent and repeated local times, in words for staff pages."""
    return SCHEDULE_RULE


def weekly_times(
    *,
    first_date: date,
    start: time,
    zone: str,
    count: int,
    skip: Collection[date] = (),
) -> list[datetime]:
    """Return `count` weekly meeting times as aware UTC datetimes.

    Meetings fall on `first_date`'s weekday at the local wall-clock time `start` in `zone`.
    A local date listed in `skip` is passed over and the series runs one week longer, so that
    `count` meetings still result; dates in `skip` that are not meeting dates change nothing.
    Nonexistent and repeated local times follow the module's rule (see `describe_rule`).

    Raises ValueError for an unknown zone, a count outside 1..MAX_MEETINGS, a `start` that
    carries its own time zone, or a series that runs past the calendar's last year.
    """
    tz = _zone(zone)
    wall = _wall_clock(start)
    return [_to_utc(day, wall, tz) for day in _meeting_dates(first_date, count, skip)]


def local_time_issue(d: date, start: time, zone: str) -> LocalTimeIssue | None:
    """Say whether `start` on local date `d` in `zone` falls in a clock change.

    Returns "gap" when that local time does not exist (clocks go forward past it), "ambiguous"
    when it happens twice (clocks go back over it), and None for an ordinary time.
    """
    tz = _zone(zone)
    naive = datetime.combine(_plain_date(d, "d"), _wall_clock(start))
    earlier = naive.replace(tzinfo=tz, fold=0)
    later = naive.replace(tzinfo=tz, fold=1)
    if earlier.utcoffset() == later.utcoffset():
        return None
    # Both folds give different offsets only inside a transition. If the first reading survives a
    # trip through UTC the wall time really happens (twice); if not, the clocks skipped it.
    try:
        back = earlier.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    except OverflowError:
        raise ValueError(_OUT_OF_RANGE) from None
    return "ambiguous" if back == naive else "gap"


def preview(
    *,
    first_date: date,
    start: time,
    zone: str,
    count: int,
    skip: Collection[date] = (),
) -> list[PreviewRow]:
    """The series `weekly_times` would produce, with each meeting's local time and adjustments."""
    tz = _zone(zone)
    wall = _wall_clock(start)
    rows: list[PreviewRow] = []
    # The issue is looked up on the scheduled date, not on the resulting local date, because a
    # gap just before midnight can push the meeting onto the next day.
    for day in _meeting_dates(first_date, count, skip):
        utc = _to_utc(day, wall, tz)
        local = utc.astimezone(tz)
        issue = local_time_issue(day, wall, zone)
        rows.append(PreviewRow(utc=utc, local=local, issue=issue, note=_note(issue, wall, local)))
    return rows


def meeting_times(cohort: CohortSchedule) -> list[datetime]:
    """All meeting times of a cohort as aware UTC datetimes, one per programme week."""
    return weekly_times(
        first_date=cohort.first_meeting_date,
        start=cohort.start_time,
        zone=cohort.time_zone,
        count=cohort.program.weeks,
    )


def format_local(dt_utc: datetime, zone: str) -> str:
    """Format an instant in `zone`, e.g. "Tue 10 Mar 2026, 7:00 pm EDT".

    The zone abbreviation comes from the time zone database; some zones have only numeric ones
    such as "+14". Names of days and months are English whatever the process locale is.
    """
    local = _require_aware(dt_utc).astimezone(_zone(zone))
    return f"{_day(local)} {local.year}, {clock_text(local.time())} {_abbreviation(local)}"


def format_for_viewer(
    dt_utc: datetime,
    viewer_zone: str,
    cohort_zone: str,
    cohort_place_label: str | None = None,
) -> tuple[str, str | None]:
    """Format a meeting time for someone in `viewer_zone`, adding the cohort's own local time.

    The first string is the time in the viewer's zone. The second, e.g. "7:00 pm in New York",
    is given only when the viewer's clock reads differently from the cohort's at that instant:
    a different UTC offset or a different zone abbreviation. A viewer in Detroit looking at a
    New York group sees one string; a viewer in Phoenix looking at a Denver group sees two in
    summer and one in winter. The place is `cohort_place_label`, or else the city in the zone
    name ("America/Argentina/Buenos_Aires" gives "Buenos Aires"). When the cohort's local date
    differs from the viewer's, the second string names the cohort's day as well.
    """
    instant = _require_aware(dt_utc)
    viewer_local = instant.astimezone(_zone(viewer_zone))
    cohort_local = instant.astimezone(_zone(cohort_zone))
    primary = format_local(instant, viewer_zone)
    same_clock = viewer_local.utcoffset() == cohort_local.utcoffset() and _abbreviation(
        viewer_local
    ) == _abbreviation(cohort_local)
    if viewer_zone == cohort_zone or same_clock:
        return primary, None
    place = (cohort_place_label or "").strip() or place_of(cohort_zone)
    clock = clock_text(cohort_local.time())
    if cohort_local.date() != viewer_local.date():
        return primary, f"{clock} on {_day(cohort_local)} in {place}"
    return primary, f"{clock} in {place}"


def _zone(zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(zone)
    # The lookup also fails with ValueError for malformed keys ("", "../x", absolute paths) and
    # OSError for keys naming a directory of the database ("America").
    except (ZoneInfoNotFoundError, ValueError, OSError, TypeError):
        raise ValueError(
            f"Unknown time zone {zone!r}: use an IANA time zone name such as 'America/New_York'."
        ) from None


def _meeting_dates(first_date: date, count: int, skip: Collection[date]) -> list[date]:
    _check_count(count)
    first = _plain_date(first_date, "first_date")
    skipped = {_plain_date(d, "skip") for d in skip}
    days: list[date] = []
    week = 0
    try:
        while len(days) < count:
            day = first + timedelta(weeks=week)
            week += 1
            if day not in skipped:
                days.append(day)
    except OverflowError:
        raise ValueError(_OUT_OF_RANGE) from None
    return days


def _check_count(count: int) -> None:
    if isinstance(count, bool) or not isinstance(count, int):
        raise ValueError(f"The number of meetings must be a whole number, not {count!r}.")
    if not 1 <= count <= MAX_MEETINGS:
        raise ValueError(
            f"The number of meetings must be between 1 and {MAX_MEETINGS}; {count} was given."
        )


def _wall_clock(start: time) -> time:
    if start.tzinfo is not None:
        raise ValueError(
            "The start time must be a local wall-clock time without its own time zone; "
            "the cohort's time zone is given separately."
        )
    return start


def _plain_date(value: date, name: str) -> date:
    # datetime is a subclass of date, but it never equals a date, so a datetime in `skip` would
    # silently skip nothing; refusing it turns a quiet bug into a loud one.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{name} must be a date, not {type(value).__name__}.")
    return value


def _to_utc(day: date, wall: time, tz: ZoneInfo) -> datetime:
    # fold=0 is exactly the documented rule (PEP 495): inside a gap it applies the offset in
    # force before the gap, which moves the time forward by the gap's length; inside a repeated
    # hour it picks the first occurrence. It is set here whatever fold the start time carried,
    # because fold=1 would quietly select the second of two repeated times.
    local = datetime.combine(day, wall, tzinfo=tz).replace(fold=0)
    try:
        utc = local.astimezone(UTC)
    except OverflowError:
        raise ValueError(_OUT_OF_RANGE) from None
    if utc > _LATEST_START:
        raise ValueError(_OUT_OF_RANGE)
    return utc


def _note(issue: LocalTimeIssue | None, wall: time, local: datetime) -> str | None:
    if issue == "gap":
        return (
            f"{clock_text(wall)} does not exist on this date (clocks go forward); "
            f"the meeting starts at {clock_text(local.time())}"
        )
    if issue == "ambiguous":
        return (
            f"{clock_text(wall)} happens twice on this date (clocks go back); "
            f"the meeting is at the first {clock_text(wall)} ({_abbreviation(local)})"
        )
    return None


def _require_aware(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("A meeting time must be timezone-aware (stored in UTC).")
    return dt


def _day(local: datetime) -> str:
    return f"{_WEEKDAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]}"


def clock_text(t: time) -> str:
    """ "7:05 pm": to the minute, as every time on the site is written (an instant such as
    when something was sent drops its seconds)."""
    hour = t.hour % 12 or 12
    suffix = "am" if t.hour < 12 else "pm"
    return f"{hour}:{t.minute:02d} {suffix}"


def _abbreviation(local: datetime) -> str:
    name = local.tzname()
    if name:
        return name
    offset = local.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def place_of(zone: str) -> str:
    """The city in a zone's name: "America/Argentina/Buenos_Aires" gives "Buenos Aires"."""
    return zone.rsplit("/", 1)[-1].replace("_", " ")
