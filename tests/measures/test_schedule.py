"""Due assessments from the meeting schedule, missed ones, and reminders sent once."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from circlecare.measures.models import Assessment, AssessmentStatus, MeasurementPlan, Occasion
from circlecare.measures.services import (
    planned_assessments,
    schedule_due_assessments,
    send_due_reminders,
)
from circlecare.meetings.schedule import meeting_times
from circlecare.programs.models import ProgramKind
from tests.factories import CohortFactory, EnrollmentFactory, ProgramFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cohort() -> Any:
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=4, minutes_per_meeting=90)
    # Tuesdays at 19:00 New York from 3 March 2026: clocks change on 8 March.
    return CohortFactory(
        program=program,
        first_meeting_date=date(2026, 3, 3),
        weekday=1,
        start_time=time(19, 0),
        time_zone="America/New_York",
    )


def test_plan_weekly_from_48_hours_before_final_at_the_last_and_checkins(cohort: Any) -> None:
    plan = planned_assessments(cohort)
    times = meeting_times(cohort)
    weekly = [p for p in plan if p[1] == Occasion.WEEKLY]
    final = [p for p in plan if p[1] == Occasion.FINAL]
    checkins = [p for p in plan if p[1] == Occasion.CHECKIN]
    assert {(c, w) for c, _, w, _ in weekly} == {(c, w) for c in ("PHQ9", "GAD7") for w in (2, 3)}
    assert {(c, w) for c, _, w, _ in final} == {("PHQ9", 4), ("GAD7", 4)}
    assert [w for _, _, w, _ in checkins] == [1, 2, 3, 4]
    for _code, _, week, due in weekly + final:
        assert due == times[week - 1] - timedelta(hours=48)
    # Week 2 is after the clock change: 19:00 EDT is 23:00 UTC, so due 23:00 UTC two days before.
    assert weekly[0][3] == datetime(2026, 3, 8, 23, 0, tzinfo=UTC)
    assert checkins[0][3] == times[0] + timedelta(minutes=90)


def test_measurement_plan_overrides_the_weekly_instruments(cohort: Any) -> None:
    MeasurementPlan.objects.create(
        program=cohort.program, weekly_instruments="PHQ9", checkin_after_meetings=False
    )
    plan = planned_assessments(cohort)
    assert {p[0] for p in plan} == {"PHQ9"}


def test_scheduling_is_idempotent_and_closes_old_ones(cohort: Any) -> None:
    e = EnrollmentFactory(cohort=cohort)
    times = meeting_times(cohort)
    now = times[1] - timedelta(hours=47)  # week 2's questionnaire has opened
    created = schedule_due_assessments(cohort=cohort, now=now)
    # week-1 check-in + week-2 PHQ-9 and GAD-7
    assert created == 3
    assert schedule_due_assessments(cohort=cohort, now=now) == 0
    rows = Assessment.objects.filter(member=e.member)
    assert {(r.instrument, r.meeting_week) for r in rows} == {
        ("CHECKIN", 1),
        ("PHQ9", 2),
        ("GAD7", 2),
    }
    later = times[1] + timedelta(days=8)
    schedule_due_assessments(cohort=cohort, now=later)
    assert Assessment.objects.get(member=e.member, instrument="PHQ9", meeting_week=2).status == (
        AssessmentStatus.MISSED
    )


def test_reminders_are_sent_once_per_member_and_say_nothing_clinical(
    cohort: Any, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    e = EnrollmentFactory(cohort=cohort)
    EnrollmentFactory(cohort=cohort, member__email_reminders=False)
    times = meeting_times(cohort)
    now = times[1] - timedelta(hours=1)
    schedule_due_assessments(cohort=cohort, now=now)
    with django_capture_on_commit_callbacks(execute=True):
        assert send_due_reminders(now=now) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert send_due_reminders(now=now) == 0
    assert Assessment.objects.filter(member=e.member, reminded_at__isnull=False).count() == 3


def test_sweep_command_schedules_running_cohorts_and_is_idempotent() -> None:
    import io

    from django.core.management import call_command
    from django.utils import timezone

    from circlecare.programs.models import CohortStatus

    # Meetings 16, 9 and 2 days ago and in 5 days.
    start = timezone.localdate() - timedelta(days=16)
    cohort = CohortFactory(
        program=ProgramFactory(kind=ProgramKind.SKILLS, weeks=6),
        first_meeting_date=start,
        weekday=start.weekday(),
        status=CohortStatus.RUNNING,
    )
    member = EnrollmentFactory(cohort=cohort).member
    out = io.StringIO()
    call_command("measures_sweep", stdout=out)
    assert "questionnaires now due" in out.getvalue()
    made = Assessment.objects.filter(member=member).count()
    # Week 3's check-in and its WHO-5 and UCLA-3; older occasions are more than a week past
    # and are not asked any more; week 4's questionnaires open in 3 days.
    assert made == 3
    assert {"WHO5", "UCLA3"} <= set(
        Assessment.objects.filter(member=member).values_list("instrument", flat=True)
    )
    call_command("measures_sweep", stdout=io.StringIO())
    assert Assessment.objects.filter(member=member).count() == made
