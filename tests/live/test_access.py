"""The room's records are written in transactions of their own: a room change made inside someone
else's transaction is refused rather than left to that transaction's fate. And who may stay in
the room, and why not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from circlecare.enrollment.models import PARTNER_LEFT, PARTNER_REMOVED, Enrollment
from circlecare.meetings import services
from circlecare.meetings.live import access as room
from circlecare.meetings.live.models import RoomPresence
from circlecare.meetings.models import AttendanceStatus, Meeting
from tests.factories import CohortFactory
from tests.meetings.factories import meeting_at, member_of

pytestmark = pytest.mark.django_db(transaction=True)


def a_meeting_about_to_start() -> Meeting:
    return meeting_at(CohortFactory(), timezone.now() + timedelta(minutes=2))


def test_an_arrival_inside_someone_elses_transaction_is_refused() -> None:
    """The mesh's head count holds only while the meeting is locked: the arrival it allows is
    committed as the lock is let go, never kept waiting in a longer transaction."""
    meeting = a_meeting_about_to_start()
    entry = room.room_access(meeting.cohort.lead, meeting.pk)
    assert entry is not None
    with pytest.raises(RuntimeError), transaction.atomic():
        room.enter(entry)
    assert not RoomPresence.objects.filter(meeting=meeting).exists()
    assert room.enter(entry) is not None


def test_ending_a_meeting_inside_someone_elses_transaction_is_refused() -> None:
    meeting = a_meeting_about_to_start()
    entry = room.room_access(meeting.cohort.lead, meeting.pk)
    assert entry is not None and entry.facilitator
    with pytest.raises(RuntimeError), transaction.atomic():
        room.end_meeting(entry)
    assert Meeting.objects.get(pk=meeting.pk).ended_at is None
    assert room.end_meeting(entry) is True


def test_someone_recorded_as_away_while_in_the_room_is_told_so_not_that_they_were_removed() -> None:
    """A facilitator marked a member absent or excused on the sheet while they were in the room:
    the room closes for them (its ticket is their attendance), but nobody removed them, and
    joining again from the meeting page lets them back in."""
    meeting = a_meeting_about_to_start()
    member = member_of(meeting.cohort)
    services.join_meeting(meeting=meeting, member=member)
    entry = room.room_access(member, meeting.pk)
    assert entry is not None
    services.record_attendance(
        meeting=meeting, member=member, status=AttendanceStatus.EXCUSED, actor=meeting.cohort.lead
    )
    assert not room.still_allowed(entry, member)
    assert room.why_out(entry, member) == "away"
    services.join_meeting(meeting=meeting, member=member)
    assert room.still_allowed(entry, member)


@pytest.mark.parametrize(
    ("status", "end_reason", "said"),
    [
        ("withdrawn", "", "left"),
        ("withdrawn", PARTNER_LEFT, "place_ended"),
        ("removed", "", "place_ended"),
        ("removed", PARTNER_REMOVED, "place_ended"),
    ],
)
def test_only_someone_who_chose_to_leave_is_told_they_left(
    status: str, end_reason: str, said: str
) -> None:
    """The room thanks a member who left the group; one whose place the practice ended, or who
    gave it up because their partner left or was removed, is told their place ended."""
    meeting = a_meeting_about_to_start()
    member = member_of(meeting.cohort)
    services.join_meeting(meeting=meeting, member=member)
    entry = room.room_access(member, meeting.pk)
    assert entry is not None
    Enrollment.objects.filter(member=member, cohort=meeting.cohort).update(
        status=status, end_reason=end_reason, ended_at=timezone.now()
    )
    assert not room.still_allowed(entry, member)
    assert room.why_out(entry, member) == said


def test_word_that_the_leaders_changed_goes_after_commit_and_only_to_rooms_open_now(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from circlecare.meetings.live import services as live

    cohort = CohortFactory()
    open_now = meeting_at(cohort, timezone.now() + timedelta(minutes=2))
    meeting_at(cohort, timezone.now() + timedelta(days=7), number=2)  # not open yet
    cancelled = meeting_at(cohort, timezone.now() - timedelta(minutes=5), number=3)
    Meeting.objects.filter(pk=cancelled.pk).update(status="cancelled")
    assert open_now.is_joinable_at(timezone.now())
    assert live.tell_rooms_leaders_changed(cohort.pk) == 1

    told: list[int] = []
    monkeypatch.setattr(live, "tell_rooms_leaders_changed", told.append)
    with transaction.atomic():
        live.leaders_changed(cohort=cohort)
        assert told == []  # not while the change might still be undone
    assert told == [cohort.pk]
    with pytest.raises(RuntimeError), transaction.atomic():
        live.leaders_changed(cohort=cohort)
        raise RuntimeError("the change failed")
    assert told == [cohort.pk]
