"""Factories for meetings tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from circlecare.meetings.models import Meeting
from circlecare.programs.models import Cohort
from tests.factories import EnrollmentFactory, UserFactory


def meeting_at(cohort: Cohort, starts_at: datetime, number: int = 1, **fields: Any) -> Meeting:
    """A meeting of `cohort` starting at `starts_at` (aware), lasting the program's length."""
    local = starts_at.astimezone(ZoneInfo(cohort.time_zone))
    return Meeting.objects.create(
        cohort=cohort,
        number=number,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=cohort.program.minutes_per_meeting),
        local_date=local.date(),
        local_time=local.time().replace(tzinfo=None),
        **fields,
    )


def member_of(cohort: Cohort, **user_fields: Any) -> Any:
    member = UserFactory(**user_fields)
    EnrollmentFactory(member=member, cohort=cohort)
    return member


def coordinator() -> Any:
    return UserFactory(is_staff=True, home_state="NY")
