"""Meetings as iCalendar events: a member's feed and a one-meeting download.

Events say only "circlecare group meeting" and the group's name with a link, never the
programme's topic: calendars are often shared with family or an employer.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings

from circlecare.accounts.models import User
from circlecare.meetings.ics import IcsEvent, build_calendar
from circlecare.meetings.models import Meeting, MeetingStatus


def summary(meeting: Meeting) -> str:
    name = meeting.cohort.name
    return f"circlecare group meeting — {name}" if name else "circlecare group meeting"


def as_event(meeting: Meeting) -> IcsEvent:
    link = f"{settings.SITE_URL}{meeting.get_absolute_url()}"
    cancelled = meeting.status == MeetingStatus.CANCELLED
    description = (
        "This meeting is cancelled."
        if cancelled
        else f"Join from the meeting page (opens 10 minutes before the start): {link}"
    )
    return IcsEvent(
        uid=meeting.uid,
        sequence=meeting.ics_sequence,
        start=meeting.starts_at,
        end=meeting.ends_at,
        summary=summary(meeting),
        description=description,
        url=link,
        status="CANCELLED" if cancelled else "CONFIRMED",
        last_modified=meeting.updated_at,
    )


def meeting_calendar(meeting: Meeting) -> bytes:
    return build_calendar([as_event(meeting)], name=summary(meeting))


def member_calendar(member: User, meetings: Iterable[Meeting]) -> bytes:
    del member  # the feed's name is generic on purpose: it may show on a shared screen
    return build_calendar([as_event(m) for m in meetings], name="circlecare meetings")
