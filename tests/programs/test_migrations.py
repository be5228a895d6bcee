"""Data migrations of programs, run on the models as they were."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from circlecare.meetings import services as meetings
from circlecare.meetings.models import Meeting, MeetingStatus
from circlecare.programs.models import Cohort
from tests.factories import CohortFactory, next_weekday
from tests.meetings.factories import rescheduled_group
from tests.migrations import run_python, writes

pytestmark = pytest.mark.django_db

START = ("programs", "0003_cohort_start_follows_first_meeting", "follow_first_meetings")
FIELDS = ("first_meeting_date", "weekday", "start_time", "joinable_until")


def start_of(cohort: Cohort) -> tuple[Any, ...]:
    cohort.refresh_from_db()
    return tuple(getattr(cohort, name) for name in FIELDS)


def as_before_the_start_followed_meetings(cohort: Cohort, first: date, at: time) -> None:
    """The row as a move of its meetings left it when the start did not follow them."""
    Cohort.objects.filter(pk=cohort.pk).update(
        first_meeting_date=first,
        weekday=first.weekday(),
        start_time=at,
        joinable_until=Cohort.joinable_until_for(
            first, cohort.enrollment_deadline, cohort.time_zone
        ),
    )


def opened(**fields: Any) -> Cohort:
    cohort = CohortFactory(**fields)
    meetings.create_meetings(cohort=cohort, actor=None)
    return cohort


def test_a_group_moved_before_its_start_followed_its_meetings_is_put_in_step() -> None:
    """The same start the service gives a group today: the first meeting not cancelled."""
    moved = rescheduled_group()
    followed = start_of(moved)
    planned = next_weekday(moved.first_meeting_date - timedelta(days=11), 5)
    as_before_the_start_followed_meetings(moved, planned, time(10, 0))
    assert start_of(moved) != followed
    run_python(*START)
    assert start_of(moved) == followed


def test_a_cancelled_first_meeting_moves_the_start_a_week_on_in_the_groups_zone() -> None:
    tuesday = next_weekday(timezone.localdate() + timedelta(days=20), 1)
    tokyo = opened(
        first_meeting_date=tuesday, weekday=1, start_time=time(9, 0), time_zone="Asia/Tokyo"
    )
    Meeting.objects.filter(cohort=tokyo, number=1).update(status=MeetingStatus.CANCELLED)
    run_python(*START)
    week_on = tuesday + timedelta(weeks=1)
    assert start_of(tokyo) == (
        week_on,
        1,
        time(9, 0),
        datetime.combine(week_on + timedelta(days=1), time(0), tzinfo=ZoneInfo("Asia/Tokyo")),
    )


def test_groups_in_step_are_not_written() -> None:
    in_step = opened()
    moved = rescheduled_group()
    untouched = start_of(in_step)
    as_before_the_start_followed_meetings(
        moved, moved.first_meeting_date - timedelta(days=4), time(10, 0)
    )
    first = writes(run_python(*START))
    assert len(first) == 1
    assert start_of(in_step) == untouched
    # Run again, every group is in step: nothing is written.
    assert writes(run_python(*START)) == []


def test_groups_it_cannot_follow_are_left_as_they_are() -> None:
    """A first meeting before the joining deadline (the service refuses that start), and a group
    whose every meeting is cancelled."""
    tuesday = next_weekday(timezone.localdate() + timedelta(days=20), 1)
    deadline = opened(first_meeting_date=tuesday, weekday=1, enrollment_deadline=tuesday)
    first = Meeting.objects.get(cohort=deadline, number=1)
    Meeting.objects.filter(pk=first.pk).update(
        local_date=tuesday - timedelta(days=1), starts_at=first.starts_at - timedelta(days=1)
    )
    cancelled = opened()
    Meeting.objects.filter(cohort=cancelled).update(status=MeetingStatus.CANCELLED)
    before = (start_of(deadline), start_of(cancelled))
    assert writes(run_python(*START)) == []
    assert (start_of(deadline), start_of(cancelled)) == before
