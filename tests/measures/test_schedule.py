"""Due assessments from the meeting schedule, missed ones, and reminders sent once."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from circlecare.enrollment.models import Enrollment
from circlecare.enrollment.services import advance_cohorts, cancel_cohort
from circlecare.measures.models import Assessment, AssessmentStatus, MeasurementPlan, Occasion
from circlecare.measures.queries import due_for_member
from circlecare.measures.services import (
    planned_assessments,
    schedule_all_cohorts,
    schedule_due_assessments,
    send_due_reminders,
)
from circlecare.measures.tasks import schedule_cohort
from circlecare.meetings import services as meeting_services
from circlecare.meetings.live import access as room
from circlecare.meetings.models import Meeting
from circlecare.meetings.schedule import meeting_times
from circlecare.programs.models import CohortStatus, ProgramKind
from tests.factories import CohortFactory, EnrollmentFactory, ProgramFactory
from tests.meetings.factories import coordinator

pytestmark = pytest.mark.django_db


def _seated(**fields: Any) -> Enrollment:
    """A seat taken before the groups here first meet (the factory's is taken now)."""
    fields.setdefault("confirmed_at", datetime(2026, 1, 1, tzinfo=UTC))
    enrollment: Enrollment = EnrollmentFactory(**fields)
    return enrollment


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
    e = _seated(cohort=cohort)
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
    e = _seated(cohort=cohort)
    _seated(cohort=cohort, member__email_reminders=False)
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
    member = _seated(cohort=cohort).member
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


# --- following the meetings as they are --------------------------------------------------------


def _frozen(mp: pytest.MonkeyPatch, now: datetime) -> None:
    mp.setattr(timezone, "now", lambda: now)


@pytest.fixture
def opened() -> Any:
    """An 8-week therapy group on Saturdays at 10:00 New York from 7 March 2026, with its
    meetings stored and one member."""
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=8, minutes_per_meeting=90)
    cohort = CohortFactory(
        program=program,
        first_meeting_date=date(2026, 3, 7),
        weekday=5,
        start_time=time(10, 0),
        time_zone="America/New_York",
    )
    _seated(cohort=cohort)
    with pytest.MonkeyPatch.context() as mp:
        _frozen(mp, datetime(2026, 3, 1, tzinfo=UTC))
        meeting_services.create_meetings(cohort=cohort, actor=None)
    return cohort


def _stored(cohort: Any) -> dict[int, Meeting]:
    return {m.number: m for m in Meeting.objects.filter(cohort=cohort)}


def _row(cohort: Any, code: str, week: int) -> Assessment | None:
    return Assessment.objects.filter(cohort=cohort, instrument=code, meeting_week=week).first()


def test_after_a_skipped_week_questionnaires_follow_the_meetings(opened: Any) -> None:
    with pytest.MonkeyPatch.context() as mp:
        _frozen(mp, datetime(2026, 3, 16, tzinfo=UTC))  # after week 2, before week 3
        meeting_services.skip_week(meeting=_stored(opened)[3], actor=coordinator())
    meetings = _stored(opened)
    assert meetings[3].local_date == date(2026, 3, 28)
    for code, occasion, week, due in planned_assessments(opened):
        expected = (
            meetings[week].ends_at
            if occasion == Occasion.CHECKIN
            else meetings[week].starts_at - timedelta(hours=48)
        )
        assert due == expected, (code, week)
    # Nothing is asked about the skipped Saturday.
    schedule_due_assessments(cohort=opened, now=datetime(2026, 3, 21, 18, 0, tzinfo=UTC))
    assert _row(opened, "CHECKIN", 3) is None
    # Week 3's questionnaire is still open at the week-3 meeting, not missed two days before.
    schedule_due_assessments(cohort=opened, now=meetings[3].starts_at - timedelta(hours=1))
    row = _row(opened, "PHQ9", 3)
    assert row is not None and row.status == AssessmentStatus.DUE
    # Week 4's does not open nine days early.
    schedule_due_assessments(cohort=opened, now=meetings[4].starts_at - timedelta(days=3))
    assert _row(opened, "PHQ9", 4) is None
    # The final questionnaire is still open after the final meeting.
    schedule_due_assessments(cohort=opened, now=meetings[8].ends_at + timedelta(hours=1))
    final = _row(opened, "PHQ9", 8)
    assert final is not None
    assert (final.occasion, final.status) == (Occasion.FINAL, AssessmentStatus.DUE)


def test_questionnaires_already_open_are_re_timed_when_their_meeting_moves(opened: Any) -> None:
    meetings = _stored(opened)
    now = meetings[3].starts_at - timedelta(hours=24)  # week 3's questionnaire has opened
    schedule_due_assessments(cohort=opened, now=now)
    assert _row(opened, "PHQ9", 3) is not None
    with pytest.MonkeyPatch.context() as mp:
        _frozen(mp, now)
        # Two hours earlier on the same day: still open, due two hours earlier.
        meeting_services.move_meeting(
            meeting=meetings[3],
            local_date=date(2026, 3, 21),
            local_time=time(8, 0),
            actor=coordinator(),
        )
        moved = _stored(opened)[3]
        row = _row(opened, "PHQ9", 3)
        assert row is not None and row.due_at == moved.starts_at - timedelta(hours=48)
        # Then the week is skipped: it is not due again until two days before its new date.
        meeting_services.skip_week(meeting=moved, actor=coordinator())
    assert _row(opened, "PHQ9", 3) is None
    member = opened.enrollments.get().member
    assert not due_for_member(member).filter(meeting_week=3).exists()
    later = _stored(opened)[3]
    schedule_due_assessments(cohort=opened, now=later.starts_at - timedelta(hours=47))
    row = _row(opened, "PHQ9", 3)
    assert row is not None and row.due_at == later.starts_at - timedelta(hours=48)


def test_after_a_new_pattern_the_first_check_in_is_due_after_the_first_meeting(
    opened: Any,
) -> None:
    with pytest.MonkeyPatch.context() as mp:
        _frozen(mp, datetime(2026, 3, 2, tzinfo=UTC))
        # Saturdays become Wednesdays from 18 March.
        meeting_services.change_pattern(
            cohort=opened, from_date=date(2026, 3, 18), start_time=time(18, 0), actor=coordinator()
        )
    first = _stored(opened)[1]
    assert first.local_date == date(2026, 3, 18)
    checkins = {week: due for _c, occ, week, due in planned_assessments(opened) if occ == "checkin"}
    assert checkins[1] == first.ends_at
    schedule_due_assessments(cohort=opened, now=datetime(2026, 3, 8, tzinfo=UTC))
    assert _row(opened, "CHECKIN", 1) is None


def test_a_cancelled_meeting_asks_for_no_check_in(opened: Any) -> None:
    meetings = _stored(opened)
    with pytest.MonkeyPatch.context() as mp:
        _frozen(mp, datetime(2026, 3, 10, tzinfo=UTC))
        meeting_services.cancel_meeting(meeting=meetings[2], actor=coordinator())
    plan = planned_assessments(opened)
    assert ("CHECKIN", 2) not in {(code, week) for code, _o, week, _d in plan}
    # The week's questionnaires keep their rhythm: measurement goes on without the meeting.
    assert ("PHQ9", 2) in {(code, week) for code, _o, week, _d in plan}
    schedule_due_assessments(cohort=opened, now=meetings[2].ends_at + timedelta(hours=1))
    assert _row(opened, "CHECKIN", 2) is None
    assert _row(opened, "PHQ9", 2) is not None


def test_a_member_recorded_as_absent_is_not_asked_how_the_meeting_went(opened: Any) -> None:
    meetings = _stored(opened)
    away = Enrollment.objects.get(cohort=opened).member
    there = _seated(cohort=opened).member
    staff = coordinator()

    def checkin(member: Any, week: int) -> Assessment | None:
        return Assessment.objects.filter(
            cohort=opened, member=member, instrument="CHECKIN", meeting_week=week
        ).first()

    # Week 1: the check-in is asked as the meeting ends, and attendance is taken after.
    after_first = meetings[1].ends_at + timedelta(hours=1)
    schedule_due_assessments(cohort=opened, now=after_first)
    assert checkin(away, 1) is not None and checkin(there, 1) is not None
    answered = checkin(there, 1)
    assert answered is not None
    Assessment.objects.filter(pk=answered.pk).update(
        status=AssessmentStatus.COMPLETED, completed_at=after_first, total=36
    )
    with pytest.MonkeyPatch.context() as mp:
        _frozen(mp, after_first)
        for member in (away, there):
            meeting_services.record_attendance(
                meeting=meetings[1], member=member, status="excused", actor=staff
            )
    assert checkin(away, 1) is None
    assert checkin(there, 1) is not None  # an answer given is kept

    # Week 2: marked absent during the meeting, so the check-in is never asked of them.
    with pytest.MonkeyPatch.context() as mp:
        _frozen(mp, meetings[2].starts_at + timedelta(minutes=30))
        meeting_services.record_attendance(
            meeting=meetings[2], member=away, status="absent", actor=staff
        )
    after_second = meetings[2].ends_at + timedelta(hours=1)
    schedule_due_assessments(cohort=opened, now=after_second)
    assert checkin(away, 2) is None and checkin(there, 2) is not None

    # A mark put right (they were there after all) asks it again, while it is still open.
    with pytest.MonkeyPatch.context() as mp:
        _frozen(mp, after_second)
        meeting_services.record_attendance(
            meeting=meetings[2], member=away, status="attended", actor=staff
        )
    schedule_due_assessments(cohort=opened, now=after_second + timedelta(hours=1))
    assert checkin(away, 2) is not None


def test_a_meeting_its_leader_ended_early_asks_its_check_in_from_when_it_ended(
    opened: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Week 2 was planned for 90 minutes and its leader ended it after 40: its check-in is due
    then, and is asked at once (not when the 90 minutes would have been up)."""
    meetings = _stored(opened)
    ended = meetings[2].starts_at + timedelta(minutes=40)
    with pytest.MonkeyPatch.context() as mp:
        _frozen(mp, ended)
        entry = room.room_access(opened.lead, meetings[2].pk)
        assert entry is not None
        with django_capture_on_commit_callbacks(execute=True):
            assert room.end_meeting(entry) is True
    checkins = {w: due for _c, occ, w, due in planned_assessments(opened) if occ == "checkin"}
    assert checkins[2] == ended
    assert checkins[3] == meetings[3].ends_at  # the next meeting is as planned
    (queued,) = DBTaskResult.objects.filter(task_path__endswith="schedule_cohort")
    assert queued.args_kwargs["args"] == [opened.pk]
    with pytest.MonkeyPatch.context() as mp:
        _frozen(mp, ended + timedelta(minutes=1))  # as the worker picks the task up
        schedule_cohort.call(*queued.args_kwargs["args"])
    row = _row(opened, "CHECKIN", 2)
    assert row is not None
    assert (row.due_at, row.status) == (ended, AssessmentStatus.DUE)
    # Someone seated after it ended, while it was planned to run on, was not part of it.
    late = EnrollmentFactory(cohort=opened, confirmed_at=ended + timedelta(minutes=5)).member
    schedule_due_assessments(cohort=opened, now=meetings[2].ends_at + timedelta(hours=1))
    assert not Assessment.objects.filter(member=late, instrument="CHECKIN").exists()


def test_someone_who_took_their_seat_after_a_meeting_is_not_asked_how_it_went(
    opened: Any,
) -> None:
    """An offer made before the group started can still be accepted after its first meeting:
    the new member was asked how that meeting went, one they were not part of."""
    meetings = _stored(opened)
    there = Enrollment.objects.get(cohort=opened).member
    accepted_at = meetings[1].ends_at + timedelta(hours=12)
    late = EnrollmentFactory(cohort=opened, confirmed_at=accepted_at).member
    schedule_due_assessments(cohort=opened, now=accepted_at + timedelta(minutes=5))
    asked = set(
        Assessment.objects.filter(cohort=opened, instrument="CHECKIN").values_list(
            "member_id", "meeting_week"
        )
    )
    assert (there.pk, 1) in asked and (late.pk, 1) not in asked
    # The next meeting's check-in is theirs as everyone's.
    schedule_due_assessments(cohort=opened, now=meetings[2].ends_at + timedelta(minutes=5))
    assert Assessment.objects.filter(
        cohort=opened, member=late, instrument="CHECKIN", meeting_week=2
    ).exists()


# --- after the group ends ---------------------------------------------------------------------


def test_a_finished_group_asks_its_last_check_in_and_closes_its_final_questionnaire(
    opened: Any,
) -> None:
    """The periodic sweep, as the worker runs it: groups move on, then questionnaires are
    scheduled. The group finishes as its last meeting ends; what it asked must still close."""
    member = opened.enrollments.get().member
    last = _stored(opened)[8]
    final_opens = last.starts_at - timedelta(hours=48)
    schedule_all_cohorts(now=final_opens + timedelta(hours=1))
    assert {r.status for r in due_for_member(member).filter(meeting_week=8)} == {"due"}
    just_after = last.ends_at + timedelta(minutes=5)
    advance_cohorts(now=just_after)
    opened.refresh_from_db()
    assert opened.status == CohortStatus.FINISHED
    schedule_all_cohorts(now=just_after)
    checkin = _row(opened, "CHECKIN", 8)
    assert checkin is not None and checkin.status == AssessmentStatus.DUE
    a_month_on = last.ends_at + timedelta(days=30)
    advance_cohorts(now=a_month_on)
    schedule_all_cohorts(now=a_month_on)
    week_8 = Assessment.objects.filter(cohort=opened, meeting_week=8)
    assert {(r.instrument, r.status) for r in week_8} == {
        ("PHQ9", AssessmentStatus.MISSED),
        ("GAD7", AssessmentStatus.MISSED),
        ("CHECKIN", AssessmentStatus.MISSED),
    }
    assert not due_for_member(member).exists()


def test_a_cancelled_groups_open_questionnaires_close_and_nothing_new_is_asked(
    opened: Any,
) -> None:
    member = opened.enrollments.get().member
    week_3 = _stored(opened)[3]
    schedule_all_cohorts(now=week_3.starts_at - timedelta(hours=1))
    assert due_for_member(member).filter(meeting_week=3).count() == 2
    cancel_cohort(cohort=opened, actor=coordinator(), now=week_3.starts_at - timedelta(minutes=30))
    later = week_3.starts_at + timedelta(days=30)
    schedule_all_cohorts(now=later)
    assert not due_for_member(member).exists()
    assert not Assessment.objects.filter(cohort=opened, meeting_week__gt=3).exists()


def test_a_one_meeting_group_far_east_of_utc_asks_its_final_questionnaire_on_time() -> None:
    """The sweep picks groups by the local date of their first meeting. In Kiritimati (UTC+14)
    that date is a day ahead of UTC's, so a group meeting there once, at 9:00 am on Tuesday
    10 March (19:00 UTC on Monday 9 March), opens its final questionnaire at 19:00 UTC on
    Saturday 7 March, when 48 hours on is still 9 March in UTC."""
    program = ProgramFactory(kind=ProgramKind.SKILLS, weeks=1, minutes_per_meeting=60)
    cohort = CohortFactory(
        program=program,
        first_meeting_date=date(2026, 3, 10),
        weekday=1,
        start_time=time(9, 0),
        time_zone="Pacific/Kiritimati",
    )
    member = _seated(cohort=cohort).member
    (starts,) = meeting_times(cohort)
    assert starts == datetime(2026, 3, 9, 19, 0, tzinfo=UTC)
    schedule_all_cohorts(now=starts - timedelta(hours=47))
    assert {r.occasion for r in due_for_member(member)} == {Occasion.FINAL}
