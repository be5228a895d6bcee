"""Opening a cohort, changing its series, joining and attendance."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from circlecare.audit.models import AuditEvent
from circlecare.enrollment import services as enrollment_services
from circlecare.enrollment.models import Enrollment
from circlecare.errors import InvalidTransition, NotFound
from circlecare.meetings import schedule, services
from circlecare.meetings.calendar import meeting_calendar
from circlecare.meetings.errors import (
    JoinWindowClosed,
    LocationNotServed,
    LocationRequired,
    MeetingEnded,
    ScheduleError,
)
from circlecare.meetings.live.access import end_meeting, room_access
from circlecare.meetings.models import (
    Attendance,
    AttendanceStatus,
    LocationAttestation,
    Meeting,
    MeetingStatus,
)
from circlecare.programs.models import CohortStatus, ProgramKind
from tests.factories import (
    CohortFactory,
    EnrollmentFactory,
    LicenseFactory,
    ProgramFactory,
    UserFactory,
)
from tests.meetings.factories import coordinator, meeting_at, member_of

pytestmark = pytest.mark.django_db

ZONES = (
    "America/New_York",
    "America/Phoenix",
    "America/Los_Angeles",
    "Europe/London",
    "Australia/Lord_Howe",
    "Pacific/Kiritimati",
)


def _draft(**fields: Any) -> Any:
    return CohortFactory(status=CohortStatus.DRAFT, **fields)


def _open_in_good_time(cohort: Any) -> list[Meeting]:
    """Open ``cohort`` as of a day before 2026: these tests are about clock changes on fixed
    dates, some of which are now behind us, and a group can't be opened after its first meeting."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(timezone, "now", lambda: datetime(2025, 6, 1, tzinfo=UTC))
        return services.open_cohort(cohort=cohort, actor=coordinator())


def _local(dt: datetime, zone: str) -> datetime:
    return dt.astimezone(ZoneInfo(zone))


# --- opening ------------------------------------------------------------------------------


def test_open_cohort_creates_one_meeting_per_week_and_opens_it(
    django_capture_on_commit_callbacks: Any,
) -> None:
    cohort = _draft()
    with django_capture_on_commit_callbacks(execute=True):
        meetings = services.open_cohort(cohort=cohort, actor=coordinator())
    cohort.refresh_from_db()
    assert cohort.status == CohortStatus.OPEN
    assert [m.number for m in meetings] == list(range(1, 9))
    assert all(_local(m.starts_at, "America/New_York").time() == time(19) for m in meetings)
    assert all(m.ends_at - m.starts_at == timedelta(minutes=90) for m in meetings)
    assert len({m.uid for m in meetings}) == 8
    assert AuditEvent.objects.filter(action="cohort.changed", target_id=str(cohort.pk)).count() == 1


def test_open_cohort_is_for_staff_and_for_drafts_only() -> None:
    cohort = _draft()
    with pytest.raises(NotFound):
        services.open_cohort(cohort=cohort, actor=cohort.lead)
    services.open_cohort(cohort=cohort, actor=coordinator())
    with pytest.raises(InvalidTransition):
        services.open_cohort(cohort=cohort, actor=coordinator())
    assert Meeting.objects.filter(cohort=cohort).count() == 8


def test_a_group_whose_first_meeting_has_passed_is_not_opened() -> None:
    cohort = _draft(first_meeting_date=date(2025, 1, 6), weekday=0)
    with pytest.raises(ScheduleError, match="has already passed, so it can't be opened"):
        services.open_cohort(cohort=cohort, actor=coordinator())
    cohort.refresh_from_db()
    assert cohort.status == CohortStatus.DRAFT
    assert not Meeting.objects.filter(cohort=cohort).exists()
    assert not AuditEvent.objects.filter(target_id=str(cohort.pk)).exists()


def test_create_meetings_for_an_open_cohort_is_idempotent() -> None:
    cohort = CohortFactory()
    services.create_meetings(cohort=cohort, actor=None)
    services.create_meetings(cohort=cohort, actor=None)
    assert Meeting.objects.filter(cohort=cohort).count() == 8


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    zone=st.sampled_from(ZONES),
    first=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)),
    start=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    weeks=st.integers(min_value=1, max_value=20),
)
def test_opened_meetings_keep_the_local_time_across_clock_changes(
    zone: str, first: date, start: time, weeks: int
) -> None:
    program = ProgramFactory(weeks=weeks, minutes_per_meeting=60)
    cohort = _draft(
        program=program,
        first_meeting_date=first,
        weekday=first.weekday(),
        start_time=start,
        time_zone=zone,
    )
    meetings = _open_in_good_time(cohort)
    assert len(meetings) == weeks
    for index, meeting in enumerate(meetings):
        assert meeting.starts_at.utcoffset() == timedelta(0)
        local = _local(meeting.starts_at, zone)
        assert meeting.local_date == first + timedelta(weeks=index)
        naive = datetime.combine(meeting.local_date, start)
        # Either the wall time exists and is kept exactly, or it fell in a gap and the meeting
        # moved later by the gap's length (never earlier, never by more than 2 hours).
        if local.replace(tzinfo=None) != naive:
            assert timedelta(0) < local.replace(tzinfo=None) - naive <= timedelta(hours=2)


def test_new_york_2_30_across_spring_forward_and_1_30_across_fall_back() -> None:
    spring = _draft(
        program=ProgramFactory(weeks=3),
        first_meeting_date=date(2026, 3, 1),
        weekday=6,
        start_time=time(2, 30),
        time_zone="America/New_York",
    )
    starts = [m.starts_at for m in _open_in_good_time(spring)]
    assert starts == [
        datetime(2026, 3, 1, 7, 30, tzinfo=UTC),  # 2:30 EST
        datetime(2026, 3, 8, 7, 30, tzinfo=UTC),  # 2:30 does not exist: 3:30 EDT
        datetime(2026, 3, 15, 6, 30, tzinfo=UTC),  # 2:30 EDT
    ]
    autumn = _draft(
        program=ProgramFactory(weeks=3),
        first_meeting_date=date(2026, 10, 25),
        weekday=6,
        start_time=time(1, 30),
        time_zone="America/New_York",
    )
    starts = [m.starts_at for m in _open_in_good_time(autumn)]
    assert starts == [
        datetime(2026, 10, 25, 5, 30, tzinfo=UTC),  # 1:30 EDT
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # the first 1:30 (EDT)
        datetime(2026, 11, 8, 6, 30, tzinfo=UTC),  # 1:30 EST
    ]


# --- changing the series -------------------------------------------------------------------


def _opened(**fields: Any) -> tuple[Any, list[Meeting]]:
    cohort = _draft(**fields)
    return cohort, _open_in_good_time(cohort)


@pytest.mark.django_db(transaction=True)
def test_skip_week_moves_that_and_later_meetings_a_week_on(
    django_capture_on_commit_callbacks: Any, run_worker: Any
) -> None:
    cohort, meetings = _opened()
    member = member_of(cohort)
    third = meetings[2]
    before = {m.pk: m.starts_at for m in meetings}
    with django_capture_on_commit_callbacks(execute=True):
        services.skip_week(meeting=third, actor=coordinator())
    after = {m.pk: m for m in Meeting.objects.filter(cohort=cohort)}
    for m in meetings[:2]:
        assert after[m.pk].starts_at == before[m.pk]
        assert after[m.pk].ics_sequence == 0
    for m in meetings[2:]:
        assert after[m.pk].local_date == m.local_date + timedelta(weeks=1)
        assert after[m.pk].ics_sequence == 1
        assert after[m.pk].moved_from == before[m.pk]
    # The series is longer: the last meeting is nine weeks after the first.
    assert after[meetings[-1].pk].local_date == cohort.first_meeting_date + timedelta(weeks=8)
    run_worker()
    skipped = [e for e in mail.outbox if "skipping a week" in e.subject]
    assert {e.to[0] for e in skipped} == {member.email, cohort.lead.email}


def test_skip_week_across_spring_forward_keeps_the_local_time() -> None:
    _cohort, meetings = _opened(
        first_meeting_date=date(2026, 2, 24),
        weekday=1,
        start_time=time(19, 0),
        program=ProgramFactory(weeks=3),
    )
    # Opened in the past on purpose: skip needs a future meeting, so freeze "now" before it.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(timezone, "now", lambda: datetime(2026, 2, 20, tzinfo=UTC))
        services.skip_week(meeting=meetings[1], actor=coordinator())
    moved = Meeting.objects.get(pk=meetings[1].pk)
    assert moved.local_date == date(2026, 3, 10)
    assert _local(moved.starts_at, "America/New_York").time() == time(19)
    assert moved.starts_at == datetime(2026, 3, 10, 23, 0, tzinfo=UTC)  # EDT now


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    zone=st.sampled_from(ZONES),
    first=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 11, 30)),
    start=st.sampled_from([time(0, 30), time(1, 30), time(2, 0), time(2, 30), time(19, 0)]),
    skipped=st.integers(min_value=0, max_value=5),
)
def test_skipping_a_week_keeps_every_later_meeting_at_its_local_time(
    zone: str, first: date, start: time, skipped: int
) -> None:
    cohort = _draft(
        program=ProgramFactory(weeks=6, minutes_per_meeting=60),
        first_meeting_date=first,
        weekday=first.weekday(),
        start_time=start,
        time_zone=zone,
    )
    meetings = _open_in_good_time(cohort)
    before_first = datetime.combine(first, time(0), tzinfo=UTC) - timedelta(days=2)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(timezone, "now", lambda: before_first)
        services.skip_week(meeting=meetings[skipped], actor=coordinator())
    after = list(Meeting.objects.filter(cohort=cohort).order_by("number"))
    expected_dates = [
        first + timedelta(weeks=i if i < skipped else i + 1) for i in range(len(meetings))
    ]
    assert [m.local_date for m in after] == expected_dates
    for meeting in after:
        # The same rule as a freshly planned meeting on that date.
        assert (
            meeting.starts_at
            == schedule.weekly_times(
                first_date=meeting.local_date, start=start, zone=zone, count=1
            )[0]
        )
    assert [m.ics_sequence for m in after] == [0] * skipped + [1] * (6 - skipped)


@pytest.mark.django_db(transaction=True)
def test_move_meeting_takes_a_local_time_in_the_group_zone(
    django_capture_on_commit_callbacks: Any, run_worker: Any
) -> None:
    cohort, meetings = _opened()
    member = member_of(cohort)
    target = meetings[1]
    new_day = target.local_date + timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        moved = services.move_meeting(
            meeting=target, local_date=new_day, local_time=time(18, 15), actor=coordinator()
        )
    assert _local(moved.starts_at, "America/New_York").replace(tzinfo=None) == datetime.combine(
        new_day, time(18, 15)
    )
    assert moved.ics_sequence == 1
    assert moved.moved_from == target.starts_at
    assert moved.uid == target.uid
    assert moved.ends_at - moved.starts_at == timedelta(minutes=90)
    assert mail.outbox == []  # e-mails go out from the worker, after commit
    run_worker()
    moved_mail = [e for e in mail.outbox if "has moved" in e.subject]
    assert {e.to[0] for e in moved_mail} == {member.email, cohort.lead.email}
    body = next(e.body for e in moved_mail if e.to[0] == member.email)
    assert "6:15 pm" in body and "was " in body
    assert cohort.program.title not in body


def test_move_refuses_the_past_a_clash_and_non_staff() -> None:
    cohort, meetings = _opened()
    target = meetings[1]
    with pytest.raises(ScheduleError):
        services.move_meeting(
            meeting=target,
            local_date=date(2020, 1, 1),
            local_time=time(10),
            actor=coordinator(),
        )
    with pytest.raises(ScheduleError, match="Another meeting"):
        services.move_meeting(
            meeting=target,
            local_date=meetings[2].local_date,
            local_time=time(19, 30),
            actor=coordinator(),
        )
    with pytest.raises(NotFound):
        services.move_meeting(
            meeting=target,
            local_date=target.local_date + timedelta(days=1),
            local_time=time(10),
            actor=cohort.lead,
        )
    target.refresh_from_db()
    assert target.ics_sequence == 0


def test_a_moved_week_keeps_its_place_in_the_programme() -> None:
    _cohort, meetings = _opened()
    week2, week3 = meetings[1], meetings[2]
    later = meetings[4].local_date + timedelta(days=1)
    with pytest.raises(ScheduleError, match=r"Week 2 has to stay .* before week 3 \(") as past:
        services.move_meeting(
            meeting=week2, local_date=later, local_time=time(19, 30), actor=coordinator()
        )
    assert "after week 1" in past.value.message and "skip it instead" in past.value.message
    with pytest.raises(ScheduleError, match="after week 2"):
        services.move_meeting(
            meeting=week3,
            local_date=week2.local_date - timedelta(days=1),
            local_time=time(19, 30),
            actor=coordinator(),
        )
    week2.refresh_from_db()
    assert week2.ics_sequence == 0
    # With week 3 cancelled, week 2 may move into its slot's week.
    services.cancel_meeting(meeting=week3, actor=coordinator())
    moved = services.move_meeting(
        meeting=week2,
        local_date=week3.local_date - timedelta(days=1),
        local_time=time(19, 30),
        actor=coordinator(),
    )
    assert moved.local_date == week3.local_date - timedelta(days=1)


def test_move_into_a_spring_forward_gap_follows_the_rule() -> None:
    cohort = CohortFactory(first_meeting_date=date(2026, 3, 3), weekday=1)
    meeting = meeting_at(cohort, datetime(2026, 3, 4, 0, 0, tzinfo=UTC))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(timezone, "now", lambda: datetime(2026, 3, 1, tzinfo=UTC))
        moved = services.move_meeting(
            meeting=meeting,
            local_date=date(2026, 3, 8),
            local_time=time(2, 30),
            actor=coordinator(),
        )
    assert moved.starts_at == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 3:30 am EDT


@pytest.mark.django_db(transaction=True)
def test_cancel_meeting_keeps_its_uid_with_a_higher_sequence(
    django_capture_on_commit_callbacks: Any, run_worker: Any
) -> None:
    cohort, meetings = _opened()
    member = member_of(cohort)
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = services.cancel_meeting(meeting=meetings[0], actor=coordinator())
    assert cancelled.status == MeetingStatus.CANCELLED
    assert cancelled.ics_sequence == 1
    run_worker()
    cancel_mail = [e for e in mail.outbox if "cancelled" in e.subject]
    assert {e.to[0] for e in cancel_mail} == {member.email, cohort.lead.email}
    with pytest.raises(InvalidTransition):
        services.cancel_meeting(meeting=meetings[0], actor=coordinator())


def test_change_pattern_moves_future_meetings_and_keeps_held_ones() -> None:
    now = datetime(2026, 4, 20, 12, 0, tzinfo=UTC)
    cohort = CohortFactory(first_meeting_date=date(2026, 4, 7), weekday=1)
    member = member_of(cohort)
    held = meeting_at(cohort, datetime(2026, 4, 7, 23, 0, tzinfo=UTC), number=1)
    Attendance.objects.create(
        meeting=held, member=member, status=AttendanceStatus.ATTENDED, at=held.starts_at
    )
    held.status = MeetingStatus.HELD
    held.save()
    past = meeting_at(cohort, datetime(2026, 4, 14, 23, 0, tzinfo=UTC), number=2)
    future = [
        meeting_at(
            cohort, datetime(2026, 4, 21, 23, 0, tzinfo=UTC) + timedelta(weeks=i), number=3 + i
        )
        for i in range(3)
    ]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(timezone, "now", lambda: now)
        changed = services.change_pattern(
            cohort=cohort, from_date=date(2026, 4, 23), start_time=time(18, 0), actor=coordinator()
        )
    assert [m.pk for m in changed] == [m.pk for m in future]
    for index, meeting in enumerate(Meeting.objects.filter(pk__in=[m.pk for m in future])):
        local = _local(meeting.starts_at, "America/New_York")
        assert local.date() == date(2026, 4, 23) + timedelta(weeks=index)
        assert local.time() == time(18)
        assert meeting.ics_sequence == 1
    held.refresh_from_db()
    past.refresh_from_db()
    assert held.starts_at == datetime(2026, 4, 7, 23, 0, tzinfo=UTC)
    assert past.ics_sequence == 0
    assert Attendance.objects.get(meeting=held).status == AttendanceStatus.ATTENDED


def test_change_pattern_must_start_in_the_future() -> None:
    cohort, _meetings = _opened()
    with pytest.raises(ScheduleError):
        services.change_pattern(
            cohort=cohort, from_date=date(2020, 1, 1), start_time=time(9), actor=coordinator()
        )
    assert Meeting.objects.filter(cohort=cohort, ics_sequence=0).count() == 8


def test_a_therapy_group_is_not_moved_past_its_clinicians_licence_for_its_members() -> None:
    """Florida's licence ends a week after the planned last meeting: skipping one week is fine,
    a second skip, a pattern or a move that runs past it is refused and changes nothing, while
    a group with nobody from Florida may run on."""
    start = timezone.localdate() + timedelta(days=14)
    lead = LicenseFactory(state="NY").clinician.user
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=8)
    last = start + timedelta(weeks=7)
    LicenseFactory(clinician=lead.clinician, state="FL", valid_to=last + timedelta(weeks=1))
    cohort, meetings = _opened(
        program=program, lead=lead, first_meeting_date=start, weekday=start.weekday()
    )
    member_of(cohort, home_state="FL")
    member_of(cohort, home_state="NY")

    services.skip_week(meeting=meetings[5], actor=coordinator())  # ends on the licence's last day
    before = {m.pk: m.starts_at for m in Meeting.objects.filter(cohort=cohort)}
    with pytest.raises(ScheduleError, match="not licensed in Florida through"):
        services.skip_week(meeting=meetings[6], actor=coordinator())
    with pytest.raises(ScheduleError, match="Florida"):
        services.change_pattern(
            cohort=cohort,
            from_date=start + timedelta(weeks=1, days=1),
            start_time=time(18, 0),
            actor=coordinator(),
        )
    final = Meeting.objects.filter(cohort=cohort).order_by("-starts_at").first()
    assert final is not None
    with pytest.raises(ScheduleError, match="Florida"):
        services.move_meeting(
            meeting=final,
            local_date=final.local_date + timedelta(days=2),
            local_time=final.local_time,
            actor=coordinator(),
        )
    assert {m.pk: m.starts_at for m in Meeting.objects.filter(cohort=cohort)} == before
    # Earlier in the week is still allowed.
    services.move_meeting(
        meeting=final,
        local_date=final.local_date - timedelta(days=1),
        local_time=final.local_time,
        actor=coordinator(),
    )

    # The same group with no one from Florida: the New York licence runs on, so it may too.
    other, other_meetings = _opened(
        program=program, lead=lead, first_meeting_date=start, weekday=start.weekday()
    )
    member_of(other, home_state="NY")
    services.skip_week(meeting=other_meetings[5], actor=coordinator())
    services.skip_week(meeting=other_meetings[6], actor=coordinator())


# --- attendance ------------------------------------------------------------------------------


def _live_meeting(
    kind: str = ProgramKind.SKILLS, minutes_from_start: int = 0
) -> tuple[Any, Meeting]:
    lic = LicenseFactory(state="NY")
    program = ProgramFactory(kind=kind)
    cohort = CohortFactory(program=program, lead=lic.clinician.user)
    start = timezone.now() - timedelta(minutes=minutes_from_start)
    return cohort, meeting_at(cohort, start)


def test_joining_early_leaves_the_meeting_open_to_staff_changes_until_it_starts() -> None:
    """Members may join ten minutes early; until the start, staff can still cancel or move it
    (a clinician falls ill at the last minute), and the meeting counts as held once it starts."""
    cohort, meeting = _live_meeting(minutes_from_start=-5)  # starts in five minutes
    member = member_of(cohort)
    services.join_meeting(meeting=meeting, member=member)
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.SCHEDULED
    services.cancel_meeting(meeting=meeting, actor=coordinator())
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.CANCELLED

    other, started = _live_meeting(minutes_from_start=5)
    services.join_meeting(meeting=started, member=member_of(other))
    started.refresh_from_db()
    assert started.status == MeetingStatus.HELD


def test_joining_early_does_not_carry_over_to_a_meeting_moved_or_cancelled_before_it_starts() -> (
    None
):
    """Someone who joined in the ten minutes before the start, from a state they named then,
    joins the moved meeting afresh: the room asks again where they are, and the earlier join is
    not kept as attendance at a meeting that did not happen then (nor at a cancelled one)."""
    cohort, meeting = _live_meeting(kind=ProgramKind.THERAPY, minutes_from_start=-5)
    member = member_of(cohort)
    services.join_meeting(meeting=meeting, member=member, state="NY")
    new_start = timezone.localtime(meeting.starts_at, ZoneInfo(cohort.time_zone)) + timedelta(
        days=1
    )
    services.move_meeting(
        meeting=meeting,
        local_date=new_start.date(),
        local_time=new_start.time().replace(tzinfo=None),
        actor=coordinator(),
    )
    meeting.refresh_from_db()
    assert not Attendance.objects.filter(meeting=meeting).exists()
    assert room_access(member, meeting.pk, meeting.starts_at) is None

    other, cancelled = _live_meeting(minutes_from_start=-5)
    services.join_meeting(meeting=cancelled, member=member_of(other))
    services.cancel_meeting(meeting=cancelled, actor=coordinator())
    assert not Attendance.objects.filter(meeting=cancelled).exists()


def test_a_meeting_under_way_with_people_in_it_is_not_cancelled() -> None:
    """They joined early, so nothing marked the meeting held at its start; a cancellation asked
    for a few minutes in (from a confirmation page opened before the start) would tell everyone
    it did not happen, and drop the attendance of those in it."""
    cohort, meeting = _live_meeting(minutes_from_start=3)
    member = member_of(cohort)
    services.join_meeting(
        meeting=meeting, member=member, now=meeting.starts_at - timedelta(minutes=5)
    )
    with pytest.raises(InvalidTransition):
        services.cancel_meeting(meeting=meeting, actor=coordinator())
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.SCHEDULED
    assert Attendance.objects.filter(meeting=meeting, member=member).exists()


ENDED = "This meeting has ended, so it can't be changed now."


def test_a_meeting_its_leader_ended_before_its_start_stays_as_it_was() -> None:
    """The room opens ten minutes early, and its leader ended it for everyone there, five
    minutes before the start: it is over. Nobody moves, skips or cancels it after that, and a
    new weekly pattern leaves it where it was."""
    cohort, meeting = _live_meeting(minutes_from_start=-5)
    later = meeting_at(cohort, meeting.starts_at + timedelta(weeks=1), number=2)
    access = room_access(cohort.lead, meeting.pk)
    assert access is not None and end_meeting(access) is True
    staff = coordinator()
    changes = {
        "move": lambda: services.move_meeting(
            meeting=meeting,
            local_date=meeting.local_date + timedelta(days=2),
            local_time=meeting.local_time,
            actor=staff,
        ),
        "skip": lambda: services.skip_week(meeting=meeting, actor=staff),
        "cancel": lambda: services.cancel_meeting(meeting=meeting, actor=staff),
    }
    meeting.refresh_from_db()
    for name, change in changes.items():
        with pytest.raises(MeetingEnded) as refused:
            change()
        assert refused.value.message == ENDED, name
    was = (meeting.starts_at, meeting.status, meeting.ics_sequence)
    meeting.refresh_from_db()
    assert (meeting.starts_at, meeting.status, meeting.ics_sequence) == was
    moved = services.change_pattern(
        cohort=cohort,
        from_date=meeting.local_date + timedelta(days=3),
        start_time=meeting.local_time,
        actor=staff,
    )
    assert [m.pk for m in moved] == [later.pk]
    meeting.refresh_from_db()
    assert (meeting.starts_at, meeting.status, meeting.ics_sequence) == was


def test_a_meeting_ended_early_once_under_way_says_it_has_ended() -> None:
    cohort, meeting = _live_meeting(minutes_from_start=20)
    services.join_meeting(meeting=meeting, member=member_of(cohort))
    access = room_access(cohort.lead, meeting.pk)
    assert access is not None and end_meeting(access) is True
    with pytest.raises(MeetingEnded, match="This meeting has ended"):
        services.cancel_meeting(meeting=meeting, actor=coordinator())
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.HELD


def test_calendars_show_a_meeting_ended_early_ending_when_it_did() -> None:
    """Ended for everyone twenty minutes in, its calendar entry ends then (not at the end it
    was planned to have), with a higher SEQUENCE so calendars already holding it take the
    change."""
    cohort, meeting = _live_meeting(minutes_from_start=20)
    before = Calendar.from_ical(meeting_calendar(meeting, cohort.lead))
    (planned,) = before.walk("VEVENT")
    assert planned.decoded("DTEND") == meeting.ends_at.replace(microsecond=0)
    access = room_access(cohort.lead, meeting.pk)
    assert access is not None and end_meeting(access) is True
    meeting.refresh_from_db()
    assert meeting.ended_at is not None and meeting.ended_at < meeting.ends_at
    (ended,) = Calendar.from_ical(meeting_calendar(meeting, cohort.lead)).walk("VEVENT")
    assert ended.decoded("DTEND") == meeting.ended_at.replace(microsecond=0)
    assert ended.decoded("DTSTART") == planned.decoded("DTSTART")
    assert str(ended["UID"]) == str(planned["UID"])
    assert int(ended["SEQUENCE"]) == int(planned["SEQUENCE"]) + 1
    # Ending it again changes nothing more.
    assert end_meeting(access) is False
    meeting.refresh_from_db()
    assert meeting.ics_sequence == int(ended["SEQUENCE"])


def test_the_week_after_a_meeting_ended_early_may_move_into_the_time_it_freed() -> None:
    """Its group ended this week's meeting early; next week's may be moved to later today, in
    the time the ended one was planned to fill, as it may after any meeting that is over."""
    cohort, meeting = _live_meeting(minutes_from_start=20)
    next_week = meeting_at(cohort, meeting.starts_at + timedelta(weeks=1), number=2)
    zone = ZoneInfo(cohort.time_zone)
    soon = (timezone.now() + timedelta(minutes=30)).astimezone(zone).replace(second=0)
    assert soon.astimezone(UTC) < meeting.ends_at  # inside the ended meeting's planned time
    staff = coordinator()
    move = {
        "meeting": next_week,
        "local_date": soon.date(),
        "local_time": soon.time().replace(microsecond=0, tzinfo=None),
        "actor": staff,
    }
    with pytest.raises(ScheduleError, match="Another meeting"):
        services.move_meeting(**move)
    access = room_access(cohort.lead, meeting.pk)
    assert access is not None and end_meeting(access) is True
    moved = services.move_meeting(**move)
    assert moved.starts_at == soon.replace(microsecond=0).astimezone(UTC)


def test_someone_marked_excused_who_comes_after_all_is_let_in() -> None:
    cohort, meeting = _live_meeting(minutes_from_start=1)
    member = member_of(cohort)
    services.record_attendance(
        meeting=meeting, member=member, status=AttendanceStatus.EXCUSED, actor=cohort.lead
    )
    services.join_meeting(meeting=meeting, member=member)
    assert (
        Attendance.objects.get(meeting=meeting, member=member).status == AttendanceStatus.ATTENDED
    )


def test_facilitator_records_and_corrects_attendance() -> None:
    cohort, meeting = _live_meeting()
    member = member_of(cohort)
    services.record_attendance(
        meeting=meeting, member=member, status=AttendanceStatus.ABSENT, actor=cohort.lead
    )
    services.record_attendance(
        meeting=meeting, member=member, status=AttendanceStatus.EXCUSED, actor=cohort.lead
    )
    mark = Attendance.objects.get(meeting=meeting, member=member)
    assert mark.status == AttendanceStatus.EXCUSED
    assert mark.recorded_by == cohort.lead
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.HELD


def test_attendance_refuses_other_people_and_bad_values() -> None:
    cohort, meeting = _live_meeting()
    member = member_of(cohort)
    stranger = UserFactory()
    with pytest.raises(NotFound):
        services.record_attendance(
            meeting=meeting, member=member, status=AttendanceStatus.ATTENDED, actor=member
        )
    with pytest.raises(NotFound):
        services.record_attendance(
            meeting=meeting, member=stranger, status=AttendanceStatus.ATTENDED, actor=cohort.lead
        )
    with pytest.raises(InvalidTransition):
        services.record_attendance(
            meeting=meeting, member=member, status="present", actor=cohort.lead
        )
    assert not Attendance.objects.exists()


def test_the_attendance_sheet_is_saved_whole_or_not_at_all() -> None:
    cohort, meeting = _live_meeting()
    stays = member_of(cohort, display_name="Ana")
    left = member_of(cohort, display_name="Bo", seated_since=meeting.starts_at - timedelta(days=7))
    enrollment_services.withdraw(enrollment=Enrollment.objects.get(member=left, cohort=cohort))
    # Bo left the day before this meeting, so was not in the group for it.
    Enrollment.objects.filter(member=left).update(ended_at=meeting.starts_at - timedelta(days=1))
    before = AuditEvent.objects.count()
    with pytest.raises(InvalidTransition) as refused:
        services.record_attendances(
            meeting=meeting,
            marks=[(stays, AttendanceStatus.ATTENDED), (left, AttendanceStatus.ABSENT)],
            actor=cohort.lead,
        )
    assert "Bo no longer belongs to this group" in refused.value.message
    assert not Attendance.objects.exists()
    assert AuditEvent.objects.count() == before
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.SCHEDULED

    saved = services.record_attendances(
        meeting=meeting, marks=[(stays, AttendanceStatus.LATE)], actor=cohort.lead
    )
    assert [mark.status for mark in saved] == [AttendanceStatus.LATE]
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.HELD


def _past_meeting_with_comers_and_goers() -> dict[str, Any]:
    """A meeting held last week; around it, people who joined and left the group."""
    cohort, _ = _live_meeting()
    Meeting.objects.all().delete()
    start = timezone.now() - timedelta(days=7)
    meeting = meeting_at(cohort, start)
    month_before = start - timedelta(days=30)
    people = {
        "stayed": member_of(cohort, display_name="Ana", seated_since=month_before),
        "left_after": member_of(cohort, display_name="Bo", seated_since=month_before),
        "removed_after": member_of(cohort, display_name="Cy", seated_since=month_before),
        "left_before": member_of(cohort, display_name="Di", seated_since=month_before),
        "joined_after": member_of(
            cohort, display_name="Ed", seated_since=start + timedelta(days=1)
        ),
        # Seated while the meeting was on: the seat was theirs for the rest of it.
        "joined_during": member_of(
            cohort, display_name="Flo", seated_since=start + timedelta(minutes=20)
        ),
    }
    Attendance.objects.create(
        meeting=meeting,
        member=people["left_after"],
        status=AttendanceStatus.ATTENDED,
        recorded_by=people["left_after"],
        at=start,
    )
    for key in ("left_after", "left_before"):
        enrollment_services.withdraw(
            enrollment=Enrollment.objects.get(member=people[key], cohort=cohort)
        )
    enrollment_services.remove(
        enrollment=Enrollment.objects.get(member=people["removed_after"], cohort=cohort),
        actor=coordinator(),
        reason="Asked to stop coming",
    )
    Enrollment.objects.filter(member=people["left_before"]).update(
        ended_at=start - timedelta(days=2)
    )
    return {"cohort": cohort, "meeting": meeting, **people}


def test_a_past_meetings_sheet_is_who_had_a_seat_then_whoever_has_left_since() -> None:
    from circlecare.meetings import queries

    s = _past_meeting_with_comers_and_goers()
    rows = queries.roster(s["meeting"])
    assert [member.display_name for member, _ in rows] == ["Ana", "Bo", "Cy", "Flo"]
    marks = {member.display_name: mark for member, mark in rows}
    assert marks["Bo"] is not None and marks["Bo"].status == AttendanceStatus.ATTENDED
    assert marks["Ana"] is None
    # Someone marked for it stays on its sheet whatever became of their seat.
    Attendance.objects.create(
        meeting=s["meeting"],
        member=s["left_before"],
        status=AttendanceStatus.ABSENT,
        recorded_by=s["cohort"].lead,
        at=timezone.now(),
    )
    assert "Di" in [member.display_name for member, _ in queries.roster(s["meeting"])]


def test_marks_of_people_who_left_since_can_be_corrected_and_later_joiners_are_refused() -> None:
    s = _past_meeting_with_comers_and_goers()
    meeting, lead = s["meeting"], s["cohort"].lead
    services.record_attendance(
        meeting=meeting, member=s["left_after"], status=AttendanceStatus.LATE, actor=lead
    )
    saved = services.record_attendances(
        meeting=meeting,
        marks=[(s["removed_after"], AttendanceStatus.EXCUSED), (s["stayed"], "attended")],
        actor=lead,
    )
    assert len(saved) == 2
    assert dict(
        Attendance.objects.filter(meeting=meeting).values_list("member__display_name", "status")
    ) == {"Ana": "attended", "Bo": "late", "Cy": "excused"}
    for outsider in (s["joined_after"], s["left_before"]):
        with pytest.raises(NotFound):
            services.record_attendance(
                meeting=meeting, member=outsider, status=AttendanceStatus.ABSENT, actor=lead
            )
        with pytest.raises(InvalidTransition) as refused:
            services.record_attendances(
                meeting=meeting,
                marks=[(s["stayed"], AttendanceStatus.LATE), (outsider, AttendanceStatus.ABSENT)],
                actor=lead,
            )
        assert outsider.display_name in refused.value.message
    assert Attendance.objects.get(meeting=meeting, member=s["stayed"]).status == "attended"
    assert not Attendance.objects.filter(member__in=[s["joined_after"], s["left_before"]]).exists()


def test_a_seat_taken_after_a_meeting_ended_early_is_not_on_its_sheet() -> None:
    from circlecare.meetings import queries

    cohort, _ = _live_meeting()
    Meeting.objects.all().delete()
    start = timezone.now() - timedelta(days=1)
    meeting = meeting_at(cohort, start, ended_at=start + timedelta(minutes=30))
    member_of(cohort, display_name="Gus", seated_since=start + timedelta(minutes=45))
    assert queries.roster(meeting) == []


def test_attendance_cannot_be_recorded_before_the_meeting_opens() -> None:
    cohort, meeting = _live_meeting(minutes_from_start=-60)
    member = member_of(cohort)
    with pytest.raises(InvalidTransition):
        services.record_attendance(
            meeting=meeting, member=member, status=AttendanceStatus.ATTENDED, actor=cohort.lead
        )


# --- joining ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "joinable"),
    [
        (timedelta(minutes=-10) - timedelta(microseconds=1), False),
        (timedelta(minutes=-10), True),
        (timedelta(0), True),
        (timedelta(minutes=90) - timedelta(microseconds=1), True),
        (timedelta(minutes=90), False),
    ],
)
def test_join_window_edges(offset: timedelta, joinable: bool) -> None:
    cohort = CohortFactory()
    member = member_of(cohort)
    start = datetime(2026, 6, 2, 23, 0, tzinfo=UTC)
    meeting = meeting_at(cohort, start)
    if joinable:
        result = services.join_meeting(meeting=meeting, member=member, now=start + offset)
        assert result.attendance is not None
    else:
        with pytest.raises(JoinWindowClosed):
            services.join_meeting(meeting=meeting, member=member, now=start + offset)
        assert not Attendance.objects.exists()


def test_joining_late_is_recorded_as_late_and_rejoining_keeps_one_row() -> None:
    cohort = CohortFactory()
    member = member_of(cohort)
    start = datetime(2026, 6, 2, 23, 0, tzinfo=UTC)
    meeting = meeting_at(cohort, start)
    services.join_meeting(meeting=meeting, member=member, now=start + timedelta(minutes=25))
    services.join_meeting(meeting=meeting, member=member, now=start + timedelta(minutes=30))
    mark = Attendance.objects.get(meeting=meeting, member=member)
    assert mark.status == AttendanceStatus.LATE


def test_only_members_of_the_cohort_can_join() -> None:
    cohort, meeting = _live_meeting()
    waitlisted = UserFactory()
    EnrollmentFactory(member=waitlisted, cohort=cohort, status="waitlisted")
    for person in (UserFactory(), waitlisted):
        with pytest.raises(NotFound):
            services.join_meeting(meeting=meeting, member=person)
    assert not Attendance.objects.exists()


def test_therapy_join_needs_the_state_the_member_is_in_now() -> None:
    cohort, meeting = _live_meeting(kind=ProgramKind.THERAPY)
    member = member_of(cohort, home_state="NJ")
    with pytest.raises(LocationRequired):
        services.join_meeting(meeting=meeting, member=member, state="")
    with pytest.raises(LocationRequired):
        services.join_meeting(meeting=meeting, member=member, state="ZZ")
    # Lives in NJ but is in New York right now, where the lead is licensed: allowed.
    result = services.join_meeting(meeting=meeting, member=member, state="ny")
    assert result.attestation is not None
    assert result.attestation.allowed and result.attestation.state == "NY"
    assert Attendance.objects.filter(meeting=meeting, member=member).exists()


def test_therapy_join_from_an_unlicensed_state_is_refused_and_recorded() -> None:
    cohort, meeting = _live_meeting(kind=ProgramKind.THERAPY)
    member = member_of(cohort, home_state="NY")
    with pytest.raises(LocationNotServed):
        services.join_meeting(meeting=meeting, member=member, state="CA")
    attestation = LocationAttestation.objects.get(meeting=meeting, member=member)
    assert attestation.state == "CA" and not attestation.allowed
    assert attestation.at is not None
    assert not Attendance.objects.exists()
    assert AuditEvent.objects.filter(action="meeting.changed", data__change="join_refused").exists()


def test_licence_is_checked_on_the_meeting_date() -> None:
    lic = LicenseFactory(state="NY", valid_to=date(2026, 6, 1))
    cohort = CohortFactory(
        program=ProgramFactory(kind=ProgramKind.THERAPY), lead=lic.clinician.user
    )
    member = member_of(cohort)
    start = datetime(2026, 6, 2, 23, 0, tzinfo=UTC)  # 7 pm on 2 June in New York
    meeting = meeting_at(cohort, start)
    with pytest.raises(LocationNotServed):
        services.join_meeting(meeting=meeting, member=member, state="NY", now=start)


def test_skills_groups_need_no_location() -> None:
    cohort, meeting = _live_meeting(kind=ProgramKind.SKILLS)
    member = member_of(cohort, home_state="XX")
    result = services.join_meeting(meeting=meeting, member=member)
    assert result.attestation is None
    assert not LocationAttestation.objects.exists()


def test_cancelled_meeting_cannot_be_joined() -> None:
    cohort, meeting = _live_meeting()
    member = member_of(cohort)
    Meeting.objects.filter(pk=meeting.pk).update(status=MeetingStatus.CANCELLED)
    with pytest.raises(JoinWindowClosed):
        services.join_meeting(meeting=meeting, member=member)


# --- calendar feed tokens ------------------------------------------------------------------


def test_calendar_feed_token_is_stored_hashed_and_rotates() -> None:
    member = UserFactory()
    first = services.create_calendar_feed(member=member)
    second = services.create_calendar_feed(member=member)
    feeds = list(member.calendar_feeds.order_by("pk"))
    assert len(feeds) == 2
    assert feeds[0].revoked_at is not None and feeds[1].revoked_at is None
    assert first not in {f.token_hash for f in feeds} and second not in {
        f.token_hash for f in feeds
    }
    assert services.revoke_calendar_feed(member=member) == 1
    assert not member.calendar_feeds.filter(revoked_at__isnull=True).exists()


# --- the group's start follows its first meeting ---------------------------------------------


def _saturdays(**fields: Any) -> Any:
    """An open group on Saturdays at 10:00 New York from 26 December 2026, meetings stored."""
    cohort = CohortFactory(
        first_meeting_date=date(2026, 12, 26),
        weekday=5,
        start_time=time(10, 0),
        program=ProgramFactory(weeks=4),
        **fields,
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(timezone, "now", lambda: datetime(2026, 12, 1, tzinfo=UTC))
        services.create_meetings(cohort=cohort, actor=None)
    return cohort


def test_a_new_pattern_before_the_first_meeting_moves_the_groups_start() -> None:
    from circlecare.programs.queries import public_cohorts

    cohort = _saturdays()
    between = datetime(2026, 12, 30, 12, 0, tzinfo=UTC)  # after 26 Dec, before 6 Jan
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(timezone, "now", lambda: datetime(2026, 12, 2, tzinfo=UTC))
        services.change_pattern(
            cohort=cohort, from_date=date(2027, 1, 6), start_time=time(18, 0), actor=coordinator()
        )
    cohort.refresh_from_db()
    assert (cohort.first_meeting_date, cohort.weekday, cohort.start_time) == (
        date(2027, 1, 6),
        2,
        time(18, 0),
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(timezone, "now", lambda: between)
        assert cohort.closed_for_joining == ""
    assert cohort in public_cohorts(at=between)


def test_cancelling_the_first_meeting_starts_the_group_at_the_next_one() -> None:
    cohort = _saturdays()
    first = Meeting.objects.get(cohort=cohort, number=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(timezone, "now", lambda: datetime(2026, 12, 2, tzinfo=UTC))
        services.cancel_meeting(meeting=first, actor=coordinator())
    cohort.refresh_from_db()
    assert cohort.first_meeting_date == date(2027, 1, 2)


def test_a_new_pattern_may_not_start_the_group_before_its_joining_deadline() -> None:
    cohort = _saturdays(enrollment_deadline=date(2026, 12, 20))
    before = list(Meeting.objects.filter(cohort=cohort).values_list("starts_at", flat=True))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(timezone, "now", lambda: datetime(2026, 12, 2, tzinfo=UTC))
        with pytest.raises(ScheduleError, match="deadline for joining this group is Sunday 20"):
            services.change_pattern(
                cohort=cohort,
                from_date=date(2026, 12, 16),
                start_time=time(18, 0),
                actor=coordinator(),
            )
    cohort.refresh_from_db()
    assert cohort.first_meeting_date == date(2026, 12, 26)
    assert list(Meeting.objects.filter(cohort=cohort).values_list("starts_at", flat=True)) == before


def test_a_first_meeting_moved_to_the_calendars_last_day_is_refused_not_an_overflow() -> None:
    """In Kiritimati (UTC+14) 9 am on 31 December 9999 is still a moment the schedule can hold,
    but the group's joining day ends at the midnight after it, which no date can hold."""
    cohort = CohortFactory(program=ProgramFactory(weeks=1), time_zone="Pacific/Kiritimati")
    staff = coordinator()
    (meeting,) = services.create_meetings(cohort=cohort, actor=staff)
    with pytest.raises(ScheduleError, match="runs past the dates the calendar can hold"):
        services.move_meeting(
            meeting=meeting, local_date=date(9999, 12, 31), local_time=time(9, 0), actor=staff
        )
    assert Meeting.objects.get(pk=meeting.pk).starts_at == meeting.starts_at
