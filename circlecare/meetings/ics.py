"""iCalendar (RFC 5545) feeds of meetings, for members to subscribe to in their calendar apps.

Every time is written in UTC, so a feed needs no VTIMEZONE and calendar apps place each meeting
at the right instant whatever their own zone. Calendar apps match a changed meeting by its UID and
accept the change only when SEQUENCE has grown, so a moved or cancelled meeting keeps its UID and
gets a higher SEQUENCE; a cancelled meeting stays in the feed with STATUS:CANCELLED instead of
disappearing, which is what makes calendars strike it out rather than keep a stale copy.

Member-supplied text (titles, descriptions, the calendar name) is escaped by the `icalendar`
library; control characters are removed first because RFC 5545 TEXT does not allow them and some
readers treat them as line breaks, which would let text start new properties or components.
As `icalendar` documents, the two characters ``\\N`` in a text are RFC 5545's own escape for a line
break, so they reach a reader as one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit

from icalendar import Calendar, Event, vText

__all__ = ["PRODID", "REFRESH_INTERVAL", "IcsEvent", "IcsStatus", "build_calendar"]

PRODID = "-//circlecare//circlecare//EN"

# How often subscribed calendars are asked to fetch the feed again; without a hint some apps
# wait a day or more, and a cancelled meeting would stay in members' calendars that long.
REFRESH_INTERVAL = timedelta(hours=1)

IcsStatus = Literal["CONFIRMED", "CANCELLED"]
_STATUSES: frozenset[str] = frozenset({"CONFIRMED", "CANCELLED"})

_LINE_BREAKS = re.compile(r"\r\n|[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


@dataclass(frozen=True)
class IcsEvent:
    """One meeting as it appears in a calendar feed.

    `uid` stays the same for the life of a meeting; `sequence` grows with each change that
    calendars must pick up (a new time, a cancellation). All datetimes must be timezone-aware;
    they are written in UTC.
    """

    uid: str
    sequence: int
    start: datetime
    end: datetime
    summary: str
    description: str
    url: str
    status: IcsStatus
    last_modified: datetime

    def __post_init__(self) -> None:
        if not self.uid.strip() or _has_control_characters(self.uid):
            raise ValueError("An event UID must be non-empty text without control characters.")
        if isinstance(self.sequence, bool) or not isinstance(self.sequence, int):
            raise ValueError(f"SEQUENCE must be a whole number, not {self.sequence!r}.")
        if self.sequence < 0:
            raise ValueError(f"SEQUENCE cannot be negative; {self.sequence} was given.")
        for name in ("start", "end", "last_modified"):
            value = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"The event's {name} must be timezone-aware.")
        if self.end <= self.start:
            raise ValueError("An event must end after it starts.")
        if self.status not in _STATUSES:
            raise ValueError(f"STATUS must be CONFIRMED or CANCELLED, not {self.status!r}.")
        _check_url(self.url)


def build_calendar(
    events: Iterable[IcsEvent],
    *,
    name: str,
    stamp: datetime | None = None,
) -> bytes:
    """Serialise `events` as one VCALENDAR (METHOD:PUBLISH) named `name`.

    `stamp` is the DTSTAMP of every event, the moment the feed was produced; it defaults to now
    and is a parameter so that a feed can be rebuilt byte for byte.
    """
    produced = _utc(stamp if stamp is not None else datetime.now(UTC), "stamp")

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    # icalendar does not know X-WR-CALNAME and NAME as text properties, so they are wrapped in
    # vText to be escaped; a calendar name has no use for line breaks, so they become spaces.
    display_name = " ".join(_clean_text(name).split())
    calendar.add("name", vText(display_name))
    calendar.add("x-wr-calname", vText(display_name))
    calendar.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vText("PT1H"))

    for item in events:
        event = Event()
        event.add("uid", item.uid)
        event.add("sequence", item.sequence)
        event.add("dtstamp", produced)
        event.add("dtstart", _utc(item.start, "start"))
        event.add("dtend", _utc(item.end, "end"))
        event.add("summary", _clean_text(item.summary))
        event.add("description", _clean_text(item.description))
        event.add("url", item.url)
        event.add("status", item.status)
        event.add("last-modified", _utc(item.last_modified, "last_modified"))
        calendar.add_component(event)
    feed: bytes = calendar.to_ical()
    return feed


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware.")
    # iCalendar DATE-TIME has whole seconds; dropping the fraction here keeps what is written
    # equal to what a reader gets back.
    return value.astimezone(UTC).replace(microsecond=0)


def _clean_text(text: str) -> str:
    unified = _LINE_BREAKS.sub("\n", text)
    return "".join(char for char in unified if char in "\n\t" or unicodedata.category(char) != "Cc")


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in text)


def _check_url(url: str) -> None:
    if not url or _has_control_characters(url) or any(char.isspace() for char in url):
        raise ValueError("An event URL must be a single web address without spaces.")
    parts = urlsplit(url)
    # Only web links: a javascript: or data: URL in a calendar entry is a trap for the member.
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError(f"An event URL must be an absolute http(s) address, not {url!r}.")
