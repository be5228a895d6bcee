"""The demo practice gets meetings, and one running group has history to show."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from circlecare.meetings.models import Attendance, Meeting, MeetingStatus
from circlecare.programs.models import Cohort, CohortStatus

pytestmark = pytest.mark.django_db


def test_demo_schedules_every_open_group_and_a_running_group_with_history() -> None:
    call_command("demo", verbosity=0)
    meetings = Meeting.objects.count()
    marks = Attendance.objects.count()
    call_command("demo", verbosity=0)
    assert Meeting.objects.count() == meetings  # idempotent
    assert Attendance.objects.count() == marks
    for cohort in Cohort.objects.filter(status__in=[CohortStatus.OPEN, CohortStatus.FULL]):
        assert cohort.meetings.count() == cohort.program.weeks, cohort
    running = Cohort.objects.get(name="Midday circle (in progress)")
    assert running.status == CohortStatus.RUNNING
    held = running.meetings.filter(status=MeetingStatus.HELD)
    assert held.count() == 2
    assert Attendance.objects.filter(meeting__in=held).count() == 10
