"""Factories for meetings tests."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from circlecare.meetings.models import Meeting
from circlecare.programs.models import Cohort
from tests.factories import (
    CohortFactory,
    EnrollmentFactory,
    ProgramFactory,
    UserFactory,
    next_weekday,
)


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


def member_of(cohort: Cohort, seated_since: datetime | None = None, **user_fields: Any) -> Any:
    """A member with a confirmed seat in `cohort`, taken at `seated_since` (default: now)."""
    member = UserFactory(**user_fields)
    when = seated_since or timezone.now()
    EnrollmentFactory(member=member, cohort=cohort, queued_at=when, confirmed_at=when)
    return member


def coordinator() -> Any:
    return UserFactory(is_staff=True, home_state="NY")


def rescheduled_group(**fields: Any) -> Cohort:
    """A group planned for Saturdays at 10:00 New York, a month or so ahead, whose meetings were
    then moved, before any was held, to Wednesdays at 18:00 from eleven days after the first
    planned Saturday (its first meeting is `first_real_start`)."""
    from circlecare.meetings import services

    saturday = next_weekday(timezone.localdate() + timedelta(days=30), 5)
    fields.setdefault("program", ProgramFactory(weeks=8))
    cohort = CohortFactory(
        first_meeting_date=saturday,
        weekday=5,
        start_time=time(10, 0),
        time_zone="America/New_York",
        **fields,
    )
    services.create_meetings(cohort=cohort, actor=None)
    services.change_pattern(
        cohort=cohort,
        from_date=saturday + timedelta(days=11),
        start_time=time(18, 0),
        actor=coordinator(),
    )
    return Cohort.objects.select_related("program").get(pk=cohort.pk)


def first_real_start(cohort: Cohort) -> datetime:
    return Meeting.objects.get(cohort=cohort, number=1).starts_at
