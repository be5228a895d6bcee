"""Calendar feeds: what calendar apps read back from the bytes we serve."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from icalendar import Calendar, Component, vText

from circlecare.meetings.ics import PRODID, IcsEvent, build_calendar

STAMP = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fast_tests() -> None:
    """Stand in for the suite-wide fixture that adjusts Django settings: these tests are pure
    functions and must also run without Django (``-p no:django``)."""


def make_event(**changes: object) -> IcsEvent:
    event = IcsEvent(
        uid="meeting-17@circlecare",
        sequence=0,
        start=datetime(2026, 3, 10, 23, 0, tzinfo=UTC),
        end=datetime(2026, 3, 11, 0, 30, tzinfo=UTC),
        summary="Anxiety skills group — week 3",
        description="Topic: grounding. Join from your dashboard.",
        url="https://care.example.org/meetings/17/",
        status="CONFIRMED",
        last_modified=datetime(2026, 2, 20, 9, 15, tzinfo=UTC),
    )
    return dataclasses.replace(event, **changes)  # type: ignore[arg-type]


def parse(feed: bytes) -> Calendar:
    return Calendar.from_ical(feed)


def events_of(calendar: Calendar) -> list[Component]:
    return [c for c in calendar.walk() if c.name == "VEVENT"]


def calendar_name(calendar: Calendar) -> str:
    # icalendar reads X- properties back verbatim, so the TEXT escaping is undone here.
    raw = calendar["X-WR-CALNAME"].to_ical()
    return str(vText.from_ical(raw.decode() if isinstance(raw, bytes) else raw))


def raw_lines(feed: bytes) -> list[str]:
    # Unfold continuation lines (RFC 5545 3.1) so each entry is one whole property.
    return feed.decode().replace("\r\n ", "").split("\r\n")


def test_calendar_properties() -> None:
    feed = build_calendar([make_event()], name="Anxiety skills group", stamp=STAMP)
    calendar = parse(feed)

    assert calendar.name == "VCALENDAR"
    assert str(calendar["PRODID"]) == PRODID == "-//circlecare//circlecare//EN"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert calendar_name(calendar) == "Anxiety skills group"
    assert calendar.refresh_interval == timedelta(hours=1)
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in raw_lines(feed)


def test_every_event_field_round_trips() -> None:
    event = make_event(sequence=2)
    feed = build_calendar([event], name="Group", stamp=STAMP)
    (parsed,) = events_of(parse(feed))

    assert str(parsed["UID"]) == event.uid
    assert parsed["SEQUENCE"] == 2
    assert parsed.decoded("DTSTAMP") == STAMP
    assert parsed.decoded("DTSTART") == event.start
    assert parsed.decoded("DTEND") == event.end
    assert str(parsed["SUMMARY"]) == event.summary
    assert str(parsed["DESCRIPTION"]) == event.description
    assert str(parsed["URL"]) == event.url
    assert str(parsed["STATUS"]) == "CONFIRMED"
    assert parsed.decoded("LAST-MODIFIED") == event.last_modified


def test_times_are_written_in_utc() -> None:
    new_york = ZoneInfo("America/New_York")
    event = make_event(
        start=datetime(2026, 3, 10, 19, 0, tzinfo=new_york),
        end=datetime(2026, 3, 10, 20, 30, tzinfo=new_york),
        last_modified=datetime(2026, 2, 20, 4, 15, 30, 999, tzinfo=new_york),
    )
    feed = build_calendar([event], name="Group", stamp=datetime(2026, 3, 1, 7, 0, tzinfo=new_york))
    lines = raw_lines(feed)
    (parsed,) = events_of(parse(feed))

    assert "DTSTART:20260310T230000Z" in lines
    assert "DTEND:20260311T003000Z" in lines
    assert "DTSTAMP:20260301T120000Z" in lines
    assert "LAST-MODIFIED:20260220T091530Z" in lines
    assert not any("TZID" in line for line in lines)
    for name in ("DTSTART", "DTEND", "DTSTAMP", "LAST-MODIFIED"):
        value = parsed.decoded(name)
        assert value.utcoffset() == timedelta(0)
    assert parsed.decoded("DTSTART") == event.start


def test_cancelled_meeting_keeps_its_uid_with_a_higher_sequence() -> None:
    kept = make_event(uid="meeting-1@circlecare")
    cancelled = make_event(
        uid="meeting-2@circlecare",
        sequence=3,
        status="CANCELLED",
        start=datetime(2026, 3, 17, 23, 0, tzinfo=UTC),
        end=datetime(2026, 3, 18, 0, 30, tzinfo=UTC),
    )
    feed = build_calendar([kept, cancelled], name="Group", stamp=STAMP)
    first, second = events_of(parse(feed))

    assert (str(first["UID"]), first["SEQUENCE"], str(first["STATUS"])) == (
        "meeting-1@circlecare",
        0,
        "CONFIRMED",
    )
    assert (str(second["UID"]), second["SEQUENCE"], str(second["STATUS"])) == (
        "meeting-2@circlecare",
        3,
        "CANCELLED",
    )
    assert second.decoded("DTSTART") == cancelled.start


INJECTION = (
    "Week 4, boundaries; trust\r\n"
    "END:VEVENT\r\n"
    "BEGIN:VEVENT\r\n"
    "UID:evil\r\n"
    "SUMMARY:free prize\n"
    "END:VCALENDAR\\n"
)


def test_text_cannot_create_components_or_properties() -> None:
    event = make_event(summary=INJECTION, description=INJECTION)
    feed = build_calendar([event], name="Group\r\nEND:VCALENDAR", stamp=STAMP)
    calendar = parse(feed)
    lines = raw_lines(feed)
    (parsed,) = events_of(calendar)

    expected = INJECTION.replace("\r\n", "\n")
    assert str(parsed["SUMMARY"]) == expected
    assert str(parsed["DESCRIPTION"]) == expected
    assert str(parsed["UID"]) == event.uid
    assert lines.count("BEGIN:VEVENT") == 1
    assert lines.count("END:VEVENT") == 1
    assert lines.count("END:VCALENDAR") == 1
    assert not any(line.startswith("UID:evil") for line in lines)
    assert calendar_name(calendar) == "Group END:VCALENDAR"


def test_control_characters_are_removed_and_unusual_line_breaks_become_newlines() -> None:
    summary = "a\x00b\x1bc\x0bd\x1ce\u2028f\x85g\th"
    feed = build_calendar([make_event(summary=summary)], name="Group", stamp=STAMP)
    (parsed,) = events_of(parse(feed))

    assert str(parsed["SUMMARY"]) == "abc\nd\ne\nf\ng\th"
    assert all(ch == "\t" or ord(ch) >= 0x20 for line in raw_lines(feed) for ch in line)


@settings(max_examples=300, deadline=None)
@given(summary=st.text(), description=st.text())
@example(summary="a\\Nb", description="\\\\N\x00")
def test_any_text_round_trips_inside_one_event(summary: str, description: str) -> None:
    feed = build_calendar(
        [make_event(summary=summary, description=description)], name="Group", stamp=STAMP
    )
    calendar = parse(feed)
    (parsed,) = events_of(calendar)
    lines = raw_lines(feed)

    # What reaches the reader is the text with line breaks as "\n" and control characters gone.
    assert str(parsed.get("SUMMARY", "")) == _expected_text(summary)
    assert str(parsed.get("DESCRIPTION", "")) == _expected_text(description)
    assert lines.count("BEGIN:VEVENT") == 1
    assert [c.name for c in calendar.walk()] == ["VCALENDAR", "VEVENT"]


def _expected_text(text: str) -> str:
    out: list[str] = []
    for ch in text.replace("\r\n", "\n"):
        if ch in "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029":
            out.append("\n")
        elif ch in "\n\t" or not (ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F):
            out.append(ch)
    # icalendar writes the two characters "\N" (RFC 5545's escape for a line break) as one.
    return "".join(out).replace("\\N", "\n")


def test_long_lines_are_folded() -> None:
    feed = build_calendar([make_event(description="x" * 500)], name="Group", stamp=STAMP)

    assert all(len(line) <= 75 for line in feed.split(b"\r\n"))
    assert feed.endswith(b"END:VCALENDAR\r\n")
    (parsed,) = events_of(parse(feed))
    assert str(parsed["DESCRIPTION"]) == "x" * 500


def test_empty_feed_is_a_valid_calendar() -> None:
    calendar = parse(build_calendar([], name="Nothing yet", stamp=STAMP))

    assert events_of(calendar) == []
    assert str(calendar["METHOD"]) == "PUBLISH"


def test_stamp_defaults_to_now() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    (parsed,) = events_of(parse(build_calendar([make_event()], name="Group")))
    after = datetime.now(UTC)

    assert before <= parsed.decoded("DTSTAMP") <= after


def test_naive_stamp_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_calendar([make_event()], name="Group", stamp=datetime(2026, 3, 1, 12))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"start": datetime(2026, 3, 10, 23, 0)}, "timezone-aware"),
        ({"end": datetime(2026, 3, 11, 0, 30)}, "timezone-aware"),
        ({"last_modified": datetime(2026, 2, 20)}, "timezone-aware"),
        ({"end": datetime(2026, 3, 10, 23, 0, tzinfo=UTC)}, "end after it starts"),
        ({"sequence": -1}, "negative"),
        ({"status": "TENTATIVE"}, "CONFIRMED or CANCELLED"),
        ({"uid": ""}, "UID"),
        ({"uid": "a\r\nb"}, "UID"),
        ({"url": "javascript:alert(1)"}, "http"),
        ({"url": "https://example.org/\r\nBEGIN:VEVENT"}, "single web address"),
        ({"url": "/meetings/17/"}, "http"),
    ],
)
def test_invalid_events_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_event(**changes)
