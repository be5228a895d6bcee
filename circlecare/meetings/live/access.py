"""Who may be in a meeting's room right now, and the room's records. Synchronous ORM code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from circlecare.enrollment.models import PARTNER_LEFT, EnrollmentStatus
from circlecare.meetings.live.models import RoomPresence, RoomRemoval
from circlecare.meetings.models import Attendance, AttendanceStatus, LocationAttestation, Meeting
from circlecare.states import where


@dataclass(frozen=True)
class Access:
    meeting_id: int
    cohort_id: int
    user_id: int
    display_name: str
    facilitator: bool
    ends_at: datetime
    #: What members call whoever leads this group (Program.leader_word), for words sent to them.
    leader_word: str = "facilitator"


def room_access(user: Any, meeting_id: int, now: datetime | None = None) -> Access | None:
    """The room is for the cohort's facilitators and confirmed members, inside the join window.

    A member comes in through the meeting page's join step, which checks the window and, for
    therapy, the state they are in right now, and records their attendance: that record is the
    ticket. A member removed from this meeting, or no longer confirmed in the cohort, is out; so
    is a therapy member whose latest word on where they are is a state the clinician cannot serve
    (said after joining, from this tab or another).
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    now = now or timezone.now()
    meeting = (
        Meeting.objects.select_related("cohort__program").filter(pk=meeting_id).first()
        if 0 < meeting_id < 2**62
        else None
    )
    if meeting is None or not meeting.is_joinable_at(now):
        return None
    cohort = meeting.cohort
    facilitator = cohort.is_led_by(user)
    if not facilitator:
        confirmed = cohort.enrollments.filter(
            member=user, status=EnrollmentStatus.CONFIRMED
        ).exists()
        if not confirmed:
            return None
        ticket = Attendance.objects.filter(
            meeting=meeting,
            member=user,
            status__in=[AttendanceStatus.ATTENDED, AttendanceStatus.LATE],
        ).exists()
        if not ticket or RoomRemoval.objects.filter(meeting=meeting, user=user).exists():
            return None
        if cohort.program.is_therapy and not _latest_location_allowed(meeting, user):
            return None
    return Access(
        meeting_id=meeting.pk,
        cohort_id=cohort.pk,
        user_id=user.pk,
        display_name=user.display_name,
        facilitator=facilitator,
        ends_at=meeting.ends_at,
        leader_word=cohort.program.leader_word,
    )


def _latest_location(meeting: Meeting, user: Any) -> LocationAttestation | None:
    return (
        LocationAttestation.objects.filter(meeting=meeting, member=user)
        .order_by("-at", "-pk")
        .first()
    )


def _latest_location_allowed(meeting: Meeting, user: Any) -> bool:
    latest = _latest_location(meeting, user)
    return latest is not None and latest.allowed


def why_not_in_room(user: Any, meeting: Meeting) -> str:
    """Why a member is not let into the room now, in words for them; empty when it is simply
    that they have not joined from the meeting page yet."""
    if RoomRemoval.objects.filter(meeting=meeting, user=user).exists():
        return (
            f"A {meeting.cohort.program.leader_word} asked you to leave this meeting, so you "
            "can't come back in to it. "
            "If you think this is a mistake, please contact the practice."
        )
    if meeting.cohort.program.is_therapy:
        latest = _latest_location(meeting, user)
        if latest is not None and not latest.allowed:
            return (
                f"You said you're {where(latest.state)}, where this group's clinician can't see "
                "you. If you're somewhere else now, choose where you are and join again."
            )
    return ""


def end_meeting(access: Access, now: datetime | None = None) -> bool:
    """A facilitator ends the meeting for everyone: its window closes now, so nobody, members or
    facilitators, comes back in, and it is over from now on (its check-in is due now). Once;
    True when this call ended it."""
    from circlecare.audit.models import AuditAction
    from circlecare.audit.services import record
    from circlecare.measures.tasks import schedule_cohort

    if not access.facilitator:
        return False
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        # Asked of the group as it is now: the socket's Access dates from when it opened.
        ended = (
            Meeting.objects.filter(pk=access.meeting_id, ended_at__isnull=True, ends_at__gt=now)
            .filter(Q(cohort__lead_id=access.user_id) | Q(cohort__co_facilitator_id=access.user_id))
            # Calendars show it ending now: a higher SEQUENCE makes them take the new end.
            .update(ended_at=now, ics_sequence=F("ics_sequence") + 1, updated_at=now)
        )
        if ended:
            record(
                actor=get_user_model().objects.get(pk=access.user_id),
                action=AuditAction.MEETING_CHANGED,
                target=Meeting.objects.get(pk=access.meeting_id),
                data={"change": "ended_for_everyone"},
            )
            # Its check-in is due now that it is over, not at the end it was planned to have.
            transaction.on_commit(lambda: schedule_cohort.enqueue(access.cohort_id))
    return bool(ended)


def why_out(access: Access, user: Any, session_key: str | None = None) -> str:
    """Once ``still_allowed`` says no: why, for the words the room shows. "ended" (the window
    closed, or a facilitator ended it), "cancelled", "moved" (to a later time, before it began),
    "signed_out" (the session this socket opened with is
    over), "not_leading" (a leader whom the practice no longer has leading the group),
    "left" (they left the group), "place_ended" (the practice ended their place in it),
    "location" (a state the clinician cannot serve), "removed", or "away" (recorded as absent or excused meanwhile:
    joining again from the meeting page lets them back in)."""
    meeting = Meeting.objects.select_related("cohort__program").get(pk=access.meeting_id)
    window = meeting.window_state(timezone.now())
    if window == "cancelled":
        return "cancelled"
    if window == "before":
        return "moved"  # to a later time, while its window was open
    if window != "open":
        return "ended"
    if not _signed_in(session_key):
        return "signed_out"
    if access.facilitator:
        # The practice handed the group to someone else, or made them no longer its co-lead.
        return "removed" if leads_now(access) else "not_leading"
    places = list(
        meeting.cohort.enrollments.filter(member_id=access.user_id)
        .order_by("-pk")
        .values_list("status", "end_reason")
    )
    if not any(status == EnrollmentStatus.CONFIRMED for status, _ in places):
        # Only someone who chose to leave is thanked for it: a place the practice ended, or
        # one given up with a partner's, ended without them choosing it.
        latest = places[0] if places else (None, "")
        chose = latest[0] == EnrollmentStatus.WITHDRAWN and latest[1] != PARTNER_LEFT
        return "left" if chose else "place_ended"
    if meeting.cohort.program.is_therapy and not _latest_location_allowed(meeting, user):
        return "location"
    if RoomRemoval.objects.filter(meeting=meeting, user_id=access.user_id).exists():
        return "removed"
    present = Attendance.objects.filter(
        meeting=meeting,
        member_id=access.user_id,
        status__in=[AttendanceStatus.ATTENDED, AttendanceStatus.LATE],
    )
    return "removed" if present.exists() else "away"


def leads_now(access: Access) -> bool:
    """Whether the person of this socket leads the meeting's group now, as its lead or co-lead.

    Asked of the group as it is now: the socket's Access dates from when it opened, and the
    practice may have handed the group to someone else, or changed its co-lead, since.
    """
    return (
        Meeting.objects.filter(pk=access.meeting_id)
        .filter(Q(cohort__lead_id=access.user_id) | Q(cohort__co_facilitator_id=access.user_id))
        .exists()
    )


def _signed_in(session_key: str | None) -> bool:
    from django.contrib.sessions.models import Session

    return session_key is None or (
        Session.objects.filter(session_key=session_key, expire_date__gt=timezone.now()).exists()
    )


def still_allowed(access: Access, user: Any, session_key: str | None = None) -> bool:
    """Re-check the right to be in the room: signing out or deactivation ends it, as does removal."""
    if not _signed_in(session_key):
        return False
    user.refresh_from_db(fields=["is_active"])
    return room_access(user, access.meeting_id) is not None


def enter(
    access: Access, *, replacing_earlier: bool = False, now: datetime | None = None
) -> int | None:
    """Record arrival, unless the mesh is full: past ~10 people every browser uploads too many streams.

    ``replacing_earlier``: this socket is now the person's one place in the room, so any stay of
    theirs still open ends here. A socket on a server process that crashed never recorded its
    leaving; without this, the person would stay in the room in the record for good.

    Stays not heard from for ``ROOM_PRESENCE_STALE_SECONDS`` end first, at the moment they were
    last heard from: their connection died without closing, and nobody is there to hold the place.

    Durable: the count is only true while the meeting's row is locked, so the arrival must be
    committed as the lock is let go, not held (and perhaps undone) by a caller's transaction.
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        Meeting.objects.select_for_update().filter(pk=access.meeting_id).first()
        inside = RoomPresence.objects.filter(meeting_id=access.meeting_id, left_at__isnull=True)
        inside.filter(last_seen_at__lt=stale_before(now)).update(left_at=F("last_seen_at"))
        if replacing_earlier:
            inside.filter(user_id=access.user_id).update(left_at=now)
        if (
            inside.exclude(user_id=access.user_id).values("user_id").distinct().count()
            >= settings.ROOM_MAX_PEERS
        ):
            return None
        return RoomPresence.objects.create(
            meeting_id=access.meeting_id, user_id=access.user_id, joined_at=now, last_seen_at=now
        ).pk


def stale_before(now: datetime) -> datetime:
    """Stays last heard from before this instant no longer count as anyone being in the room."""
    return now - timedelta(seconds=settings.ROOM_PRESENCE_STALE_SECONDS)


def seen(presence_id: int, now: datetime | None = None) -> bool:
    """The person of this stay was heard from now. False when the stay has already ended (the
    socket said nothing for so long that it was taken for a dead connection)."""
    return bool(
        RoomPresence.objects.filter(pk=presence_id, left_at__isnull=True).update(
            last_seen_at=now or timezone.now()
        )
    )


def leave(presence_id: int, now: datetime | None = None) -> None:
    RoomPresence.objects.filter(pk=presence_id, left_at__isnull=True).update(
        left_at=now or timezone.now()
    )


def remove_from_meeting(*, access: Access, remover_id: int, reason: str) -> bool:
    """Record that a facilitator removed the person ``access`` belongs to from this meeting.

    The reason stays with the practice (staff can read it); the room only hears that they left.
    """
    from circlecare.audit.models import AuditAction
    from circlecare.audit.services import record

    with transaction.atomic(durable=True):
        meeting = Meeting.objects.select_related("cohort").get(pk=access.meeting_id)
        leads = {meeting.cohort.lead_id, meeting.cohort.co_facilitator_id}
        if remover_id not in leads or access.user_id in leads:
            return False
        removal, created = RoomRemoval.objects.get_or_create(
            meeting=meeting,
            user_id=access.user_id,
            defaults={"removed_by_id": remover_id, "reason": reason[:500]},
        )
        if created:
            record(
                actor=removal.removed_by,
                action=AuditAction.MEETING_CHANGED,
                target=meeting,
                subject=removal.user,
                data={"change": "removed_from_room"},
            )
    return True
