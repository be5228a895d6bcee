"""Meetings as iCalendar events: a member's feed and a one-meeting download.

Events say only "circlecare group meeting" with a link, never the programme's topic: calendars
are often shared with family or an employer. As in e-mails (docs/privacy.md), a member's events
do not name their group either, since a group's own name can say what its members are treated
for; the people who lead a group, and coordinators, see its name, as they may have several.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings

from circlecare.accounts.models import User
from circlecare.emails import site_link
from circlecare.meetings.ics import IcsEvent, build_calendar
from circlecare.meetings.models import Meeting, MeetingStatus

GENERIC_SUMMARY = "circlecare group meeting"


def feed_url(token: str) -> str:
    """The address a member copies into their calendar app, on the site's public address
    (``SITE_URL``) as every link that leaves the site is, whichever Host header the request that
    made it carried: the page and the API give the same address."""
    return site_link("meetings:feed", token=token)


def summary(meeting: Meeting, *, named: bool) -> str:
    """The event's title; `named` adds the group's name, for those who lead or run it."""
    name = meeting.cohort.name if named else ""
    return f"{GENERIC_SUMMARY} — {name}" if name else GENERIC_SUMMARY


def as_event(meeting: Meeting, *, named: bool) -> IcsEvent:
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
        # When its leader ended it early, when it really ended.
        end=meeting.over_at,
        summary=summary(meeting, named=named),
        description=description,
        url=link,
        status="CANCELLED" if cancelled else "CONFIRMED",
        last_modified=meeting.updated_at,
    )


def meeting_calendar(meeting: Meeting, viewer: User) -> bytes:
    """One meeting for `viewer` to download (someone the meeting page already let in)."""
    named = viewer.is_staff or meeting.cohort.is_led_by(viewer)
    return build_calendar([as_event(meeting, named=named)], name=summary(meeting, named=named))


def member_calendar(member: User, meetings: Iterable[Meeting]) -> bytes:
    # The feed's name is generic on purpose: it may show on a shared screen.
    events = [as_event(m, named=m.cohort.is_led_by(member)) for m in meetings]
    return build_calendar(events, name="circlecare meetings")
