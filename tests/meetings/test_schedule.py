"""Weekly meeting times across time zones and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from types import SimpleNamespace
from typing import Literal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from circlecare.meetings.schedule import (
    MAX_MEETINGS,
    SCHEDULE_RULE,
    describe_rule,
    format_for_viewer,
    format_local,
    local_time_issue,
    meeting_times,
    preview,
    weekly_times,
)

ZONES = (
    "America/New_York",
    "America/Phoenix",
    "America/Los_Angeles",
    "Europe/London",
    "Australia/Lord_Howe",
    "Pacific/Kiritimati",
)
NEW_YORK = "America/New_York"
LORD_HOWE = "Australia/Lord_Howe"
FIRST_SUNDAY_2026 = date(2026, 1, 4)

Kind = Literal["gap", "ambiguous"] | None


@pytest.fixture(autouse=True)
def _fast_tests() -> None:
    """Stand in for the suite-wide fixture that adjusts Django settings: these tests are pure
    functions and must also run without Django (``-p no:django``)."""


def expected_meeting(day: date, wall: time, zone: str) -> tuple[datetime, Kind]:
    """The documented rule, worked out without `fold`: only UTC→local conversions, which are
    never ambiguous, are trusted.

    The offsets in force a day either side of the wall time bracket any single transition. A
    candidate instant is real when converting it back gives the wall time; two real candidates
    mean the time happens twice (take the first), none mean it fell into a gap (use the offset
    from before the gap).
    """
    naive = datetime.combine(day, wall.replace(fold=0))
    probe = naive.replace(tzinfo=UTC)
    tz = ZoneInfo(zone)
    before = offset_at(probe - timedelta(days=1), tz)
    after = offset_at(probe + timedelta(days=1), tz)
    candidates = sorted({probe - before, probe - after})
    real = [c for c in candidates if c.astimezone(tz).replace(tzinfo=None) == naive]
    if len(real) == 2:
        return real[0], "ambiguous"
    if len(real) == 1:
        return real[0], None
    return probe - before, "gap"


def offset_at(instant: datetime, tz: ZoneInfo) -> timedelta:
    offset = instant.astimezone(tz).utcoffset()
    assert offset is not None
    return offset


def sundays() -> st.SearchStrategy[date]:
    # Every clock change in these zones happens early on a Sunday; drawing Sundays and small
    # hours often makes sure gaps and repeated hours are exercised, not just possible.
    return st.integers(min_value=0, max_value=103).map(
        lambda k: FIRST_SUNDAY_2026 + timedelta(weeks=k)
    )


first_dates = st.one_of(st.dates(date(2026, 1, 1), date(2027, 12, 31)), sundays())
start_times = st.one_of(st.times(), st.times(min_value=time(0, 0), max_value=time(3, 59)))


@settings(max_examples=400, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    first_date=first_dates,
    start=start_times,
    count=st.integers(min_value=1, max_value=30),
)
@example(zone=NEW_YORK, first_date=date(2026, 3, 1), start=time(2, 30), count=3)
@example(zone=NEW_YORK, first_date=date(2026, 10, 25), start=time(1, 30), count=3)
@example(zone=LORD_HOWE, first_date=date(2026, 9, 27), start=time(2, 15), count=2)
@example(zone=LORD_HOWE, first_date=date(2026, 3, 29), start=time(1, 45), count=2)
@example(zone="Europe/London", first_date=date(2026, 3, 22), start=time(1, 0), count=2)
def test_weekly_times_keep_local_time_by_the_rule(
    zone: str, first_date: date, start: time, count: int
) -> None:
    tz = ZoneInfo(zone)
    wall = start.replace(fold=0)
    times = weekly_times(first_date=first_date, start=start, zone=zone, count=count)

    assert len(times) == count
    assert all(t.tzinfo is UTC for t in times)
    assert all(a < b for a, b in pairwise(times))
    for week, instant in enumerate(times):
        day = first_date + timedelta(weeks=week)
        expected, kind = expected_meeting(day, wall, zone)
        assert instant == expected
        assert local_time_issue(day, start, zone) == kind
        local = instant.astimezone(tz)
        naive = datetime.combine(day, wall)
        if kind == "gap":
            gap = offset_at(instant + timedelta(days=1), tz) - offset_at(
                instant - timedelta(days=1), tz
            )
            assert gap > timedelta(0)
            assert local.replace(tzinfo=None) == naive + gap
        else:
            assert local.replace(tzinfo=None) == naive
            # The round trip through fold agrees: the first reading of the wall time.
            assert local.fold == 0
        assert local.date() == day


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    first_date=first_dates,
    start=start_times,
    count=st.integers(min_value=1, max_value=30),
    skipped_weeks=st.sets(st.integers(min_value=0, max_value=40), max_size=10),
    stray_day=st.integers(min_value=1, max_value=6),
)
def test_skipped_dates_extend_the_series(
    zone: str,
    first_date: date,
    start: time,
    count: int,
    skipped_weeks: set[int],
    stray_day: int,
) -> None:
    skip = {first_date + timedelta(weeks=w) for w in skipped_weeks}
    # A date that is not a meeting date must not change anything.
    skip.add(first_date + timedelta(days=stray_day))
    tz = ZoneInfo(zone)
    times = weekly_times(first_date=first_date, start=start, zone=zone, count=count, skip=skip)

    kept = [w for w in range(count + len(skipped_weeks)) if w not in skipped_weeks][:count]
    assert len(times) == count
    assert [t.astimezone(tz).date() for t in times] == [
        first_date + timedelta(weeks=w) for w in kept
    ]
    assert all(a < b for a, b in pairwise(times))
    expected = weekly_times(first_date=first_date, start=start, zone=zone, count=max(kept) + 1)
    assert times == [expected[w] for w in kept]


@pytest.mark.parametrize("zone", ZONES)
def test_every_small_hour_of_every_sunday_follows_the_rule(zone: str) -> None:
    """A sweep that does not rely on random draws: each five minutes from midnight to 4 am on
    every Sunday of 2026 and 2027, where all these zones change their clocks."""
    kinds: set[Kind] = set()
    for week in range(104):
        day = FIRST_SUNDAY_2026 + timedelta(weeks=week)
        for minutes in range(0, 4 * 60, 5):
            start = time(minutes // 60, minutes % 60)
            expected, kind = expected_meeting(day, start, zone)
            assert weekly_times(first_date=day, start=start, zone=zone, count=1) == [expected]
            assert local_time_issue(day, start, zone) == kind
            kinds.add(kind)
    if zone in ("America/Phoenix", "Pacific/Kiritimati"):
        assert kinds == {None}
    else:
        assert kinds == {None, "gap", "ambiguous"}


def test_new_york_spring_forward_moves_that_meeting_to_3_30_am() -> None:
    times = weekly_times(first_date=date(2026, 2, 22), start=time(2, 30), zone=NEW_YORK, count=4)
    tz = ZoneInfo(NEW_YORK)

    assert times[2] == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert times[2].astimezone(tz).time() == time(3, 30)
    assert times[2].astimezone(tz).tzname() == "EDT"
    for other in (times[0], times[1], times[3]):
        assert other.astimezone(tz).time() == time(2, 30)
    assert times[0] == datetime(2026, 2, 22, 7, 30, tzinfo=UTC)
    assert times[3] == datetime(2026, 3, 15, 6, 30, tzinfo=UTC)


def test_new_york_fall_back_uses_the_first_1_30_am() -> None:
    times = weekly_times(first_date=date(2026, 10, 25), start=time(1, 30), zone=NEW_YORK, count=3)

    assert times == [
        datetime(2026, 10, 25, 5, 30, tzinfo=UTC),
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        datetime(2026, 11, 8, 6, 30, tzinfo=UTC),
    ]
    assert times[1].astimezone(ZoneInfo(NEW_YORK)).tzname() == "EDT"


def test_lord_howe_half_hour_gap_moves_2_15_to_2_45() -> None:
    # Lord Howe Island goes from +10:30 to +11:00 at 02:00 on the first Sunday of October.
    times = weekly_times(first_date=date(2026, 9, 27), start=time(2, 15), zone=LORD_HOWE, count=3)
    tz = ZoneInfo(LORD_HOWE)

    assert [t.astimezone(tz).time() for t in times] == [time(2, 15), time(2, 45), time(2, 15)]
    assert times[1] == datetime(2026, 10, 3, 15, 45, tzinfo=UTC)
    assert local_time_issue(date(2026, 10, 4), time(2, 15), LORD_HOWE) == "gap"
    assert local_time_issue(date(2026, 10, 4), time(2, 30), LORD_HOWE) is None


def test_lord_howe_repeated_half_hour_uses_the_first() -> None:
    # On 2026-04-05 clocks go back from 02:00 to 01:30, so 01:45 happens at +11:00 then +10:30.
    times = weekly_times(first_date=date(2026, 4, 5), start=time(1, 45), zone=LORD_HOWE, count=1)

    assert times == [datetime(2026, 4, 4, 14, 45, tzinfo=UTC)]
    assert local_time_issue(date(2026, 4, 5), time(1, 45), LORD_HOWE) == "ambiguous"


def test_skip_extends_the_series_by_a_week() -> None:
    times = weekly_times(
        first_date=date(2026, 2, 22),
        start=time(19, 0),
        zone=NEW_YORK,
        count=4,
        skip=[date(2026, 3, 8)],
    )
    local_dates = [t.astimezone(ZoneInfo(NEW_YORK)).date() for t in times]

    assert local_dates == [
        date(2026, 2, 22),
        date(2026, 3, 1),
        date(2026, 3, 15),
        date(2026, 3, 22),
    ]


def test_skip_rejects_datetimes_that_would_silently_skip_nothing() -> None:
    with pytest.raises(TypeError):
        weekly_times(
            first_date=date(2026, 2, 22),
            start=time(19, 0),
            zone=NEW_YORK,
            count=4,
            skip=[datetime(2026, 3, 8, 19, 0)],
        )


def test_start_time_fold_does_not_change_the_rule() -> None:
    plain = weekly_times(first_date=date(2026, 11, 1), start=time(1, 30), zone=NEW_YORK, count=1)
    folded = weekly_times(
        first_date=date(2026, 11, 1), start=time(1, 30, fold=1), zone=NEW_YORK, count=1
    )

    assert plain == folded == [datetime(2026, 11, 1, 5, 30, tzinfo=UTC)]


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "America", "../etc/passwd", "utc"])
def test_unknown_zone_is_a_clear_error(zone: str) -> None:
    with pytest.raises(ValueError, match="Unknown time zone"):
        weekly_times(first_date=date(2026, 3, 1), start=time(19), zone=zone, count=8)
    with pytest.raises(ValueError, match="Unknown time zone"):
        format_local(datetime(2026, 3, 1, tzinfo=UTC), zone)


@pytest.mark.parametrize("count", [0, -1, MAX_MEETINGS + 1, 1000])
def test_count_out_of_range_is_an_error(count: int) -> None:
    with pytest.raises(ValueError, match="between 1 and 104"):
        weekly_times(first_date=date(2026, 3, 1), start=time(19), zone=NEW_YORK, count=count)


@pytest.mark.parametrize("count", [1, MAX_MEETINGS])
def test_count_bounds_are_allowed(count: int) -> None:
    times = weekly_times(first_date=date(2026, 3, 1), start=time(19), zone=NEW_YORK, count=count)

    assert len(times) == count


def test_start_time_with_its_own_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="wall-clock"):
        weekly_times(
            first_date=date(2026, 3, 1), start=time(19, tzinfo=UTC), zone=NEW_YORK, count=2
        )


def test_series_past_the_last_representable_date_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="runs past"):
        weekly_times(first_date=date(9999, 12, 1), start=time(19), zone=NEW_YORK, count=8)


@pytest.mark.parametrize("zone", ["UTC", "Europe/London", "Africa/Abidjan"])
def test_a_meeting_with_no_room_to_end_before_the_last_representable_date_is_refused(
    zone: str,
) -> None:
    # 11 pm on the calendar's last day starts in range, but a meeting (up to four hours) and
    # everything worked out from its start must still fit after it.
    with pytest.raises(ValueError, match="runs past"):
        weekly_times(first_date=date(9999, 12, 31), start=time(23), zone=zone, count=1)
    with pytest.raises(ValueError, match="runs past"):
        preview(first_date=date(9999, 12, 31), start=time(1), zone=zone, count=1)


def test_preview_marks_adjusted_dates_with_a_note() -> None:
    rows = preview(first_date=date(2026, 3, 1), start=time(2, 30), zone=NEW_YORK, count=3)

    assert [row.issue for row in rows] == [None, "gap", None]
    assert rows[1].note == (
        "2:30 am does not exist on this date (clocks go forward); the meeting starts at 3:30 am"
    )
    assert rows[0].note is None
    assert rows[1].utc == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert rows[1].local == datetime(2026, 3, 8, 3, 30, tzinfo=ZoneInfo(NEW_YORK))
    assert rows[1].local.tzinfo == ZoneInfo(NEW_YORK)
    assert [row.utc for row in rows] == weekly_times(
        first_date=date(2026, 3, 1), start=time(2, 30), zone=NEW_YORK, count=3
    )


def test_preview_explains_a_repeated_hour() -> None:
    rows = preview(first_date=date(2026, 11, 1), start=time(1, 30), zone=NEW_YORK, count=1)

    assert rows[0].issue == "ambiguous"
    assert rows[0].note == (
        "1:30 am happens twice on this date (clocks go back); the meeting is at the first "
        "1:30 am (EDT)"
    )


def test_rule_is_described_for_staff() -> None:
    assert describe_rule() == SCHEDULE_RULE
    assert "clocks go forward" in SCHEDULE_RULE
    assert "first" in SCHEDULE_RULE


def test_meeting_times_reads_the_cohort_schedule() -> None:
    cohort = SimpleNamespace(
        first_meeting_date=date(2026, 3, 3),
        start_time=time(19, 0),
        time_zone=NEW_YORK,
        program=SimpleNamespace(weeks=8),
    )

    times = meeting_times(cohort)

    assert len(times) == 8
    assert times[0] == datetime(2026, 3, 4, 0, 0, tzinfo=UTC)  # 7 pm EST
    assert times[1] == datetime(2026, 3, 10, 23, 0, tzinfo=UTC)  # 7 pm EDT


def test_format_local() -> None:
    evening = datetime(2026, 3, 10, 23, 0, tzinfo=UTC)

    assert format_local(evening, NEW_YORK) == "Tue 10 Mar 2026, 7:00 pm EDT"
    assert format_local(evening, "Pacific/Kiritimati") == "Wed 11 Mar 2026, 1:00 pm +14"
    assert format_local(datetime(2026, 1, 5, 5, tzinfo=UTC), NEW_YORK) == (
        "Mon 5 Jan 2026, 12:00 am EST"
    )
    assert format_local(datetime(2026, 1, 5, 17, 5, tzinfo=UTC), NEW_YORK) == (
        "Mon 5 Jan 2026, 12:05 pm EST"
    )


def test_format_local_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_local(datetime(2026, 3, 10, 23, 0), NEW_YORK)


def test_format_for_viewer_in_the_cohort_zone_gives_one_string() -> None:
    evening = datetime(2026, 3, 10, 23, 0, tzinfo=UTC)

    assert format_for_viewer(evening, NEW_YORK, NEW_YORK) == ("Tue 10 Mar 2026, 7:00 pm EDT", None)
    # Another zone that reads the same clock at that instant adds nothing.
    assert format_for_viewer(evening, "America/Detroit", NEW_YORK)[1] is None


def test_format_for_viewer_elsewhere_adds_the_cohort_time() -> None:
    evening = datetime(2026, 3, 10, 23, 0, tzinfo=UTC)

    assert format_for_viewer(evening, "America/Los_Angeles", NEW_YORK) == (
        "Tue 10 Mar 2026, 4:00 pm PDT",
        "7:00 pm in New York",
    )
    assert format_for_viewer(evening, "America/Los_Angeles", NEW_YORK, "Brooklyn")[1] == (
        "7:00 pm in Brooklyn"
    )
    assert format_for_viewer(evening, NEW_YORK, "America/Argentina/Buenos_Aires")[1] == (
        "8:00 pm in Buenos Aires"
    )


def test_format_for_viewer_names_the_cohort_day_when_dates_differ() -> None:
    evening = datetime(2026, 3, 10, 23, 0, tzinfo=UTC)

    assert format_for_viewer(evening, "Asia/Tokyo", NEW_YORK) == (
        "Wed 11 Mar 2026, 8:00 am JST",
        "7:00 pm on Tue 10 Mar in New York",
    )


def test_format_for_viewer_compares_clocks_at_that_instant() -> None:
    # Phoenix keeps MST all year; Denver is on MST in winter and MDT in summer.
    winter = datetime(2026, 1, 15, 2, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 15, 1, 0, tzinfo=UTC)

    assert format_for_viewer(winter, "America/Phoenix", "America/Denver")[1] is None
    assert format_for_viewer(summer, "America/Phoenix", "America/Denver") == (
        "Tue 14 Jul 2026, 6:00 pm MST",
        "7:00 pm in Denver",
    )


def test_an_instant_is_written_to_the_minute_like_every_time_on_the_site() -> None:
    """When something was sent or answered falls mid-minute; it reads "11:05 pm", not
    "11:05:40 pm"."""
    from datetime import UTC

    moment = datetime(2026, 12, 1, 4, 5, 40, 123456, tzinfo=UTC)
    assert format_local(moment, "America/New_York") == "Mon 30 Nov 2026, 11:05 pm EST"
