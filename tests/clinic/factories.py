"""Helpers for clinic tests: a meeting that has started, with members marked as attending."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from circlecare.meetings.models import Attendance, AttendanceStatus, Meeting
from circlecare.programs.models import Cohort, CohortStatus
from tests.factories import CohortFactory, UserFactory
from tests.meetings.factories import meeting_at, member_of


@dataclass
class Scene:
    cohort: Cohort
    meeting: Meeting
    lead: Any
    attendees: list[Any]
    absent: Any


def started_meeting(
    *, attendees: int = 2, ago: timedelta = timedelta(minutes=30), **cohort_fields: Any
) -> Scene:
    """A running cohort whose meeting began ``ago``; ``attendees`` members attended, one was absent."""
    cohort = CohortFactory(status=CohortStatus.RUNNING, **cohort_fields)
    meeting = meeting_at(cohort, timezone.now() - ago)
    present = []
    for n in range(attendees):
        member = member_of(cohort, display_name=f"Attendee {n + 1}")
        status = AttendanceStatus.LATE if n == 1 else AttendanceStatus.ATTENDED
        Attendance.objects.create(
            meeting=meeting, member=member, status=status, at=meeting.starts_at
        )
        present.append(member)
    absent = member_of(cohort, display_name="Away member")
    Attendance.objects.create(
        meeting=meeting, member=absent, status=AttendanceStatus.ABSENT, at=meeting.starts_at
    )
    return Scene(cohort=cohort, meeting=meeting, lead=cohort.lead, attendees=present, absent=absent)


def ago_today(
    zone: str = "America/New_York", at_most: timedelta = timedelta(minutes=30)
) -> timedelta:
    """How long ago a meeting can have started and still be today in ``zone`` (the test users')."""
    tz = ZoneInfo(zone)
    now = timezone.now().astimezone(tz)
    since_midnight = now - datetime.combine(now.date(), time.min, tzinfo=tz)
    return min(at_most, since_midnight - timedelta(seconds=5))


def coordinator() -> Any:
    return UserFactory(is_staff=True)
