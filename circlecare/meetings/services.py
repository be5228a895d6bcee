"""Every change to meetings: opening a cohort's series, changing it, joining and attendance.

Schedule changes lock the cohort row (the series belongs to it); attendance and joining lock the
meeting row. E-mails and delayed reminder tasks are queued after commit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from circlecare.accounts.models import User
from circlecare.audit.models import AuditAction
from circlecare.audit.services import record
from circlecare.enrollment.consents import consents_missing
from circlecare.enrollment.models import Enrollment
from circlecare.errors import ConsentRequired, InvalidTransition, NotFound
from circlecare.meetings import queries, schedule
from circlecare.meetings.errors import (
    JoinWindowClosed,
    LocationNotServed,
    LocationRequired,
    MeetingChanged,
    MeetingEnded,
    ScheduleError,
)
from circlecare.meetings.models import (
    AWAY,
    LATE_AFTER,
    PRESENT,
    Attendance,
    AttendanceStatus,
    CalendarFeed,
    LocationAttestation,
    Meeting,
    MeetingStatus,
    ReminderSent,
    hash_token,
)
from circlecare.meetings.queries import MEMBER_STATUSES
from circlecare.practice.eligibility import clinician_of, homes_in
from circlecare.practice.queries import licensed_states
from circlecare.programs.models import Cohort, CohortStatus, ProgramKind
from circlecare.programs.services import follow_first_meeting
from circlecare.states import HOME_STATE_CHOICES, state_name

_KNOWN_PLACES = {code for code, _ in HOME_STATE_CHOICES}


# --- helpers ------------------------------------------------------------------------------


def _require_staff(actor: User) -> None:
    if not (actor.is_active and actor.is_staff):
        raise NotFound()


def _in_transaction() -> None:
    assert connection.in_atomic_block, "call this inside a service's transaction"


def _at(local_date: date, local_time: time, zone: str) -> datetime:
    return schedule.weekly_times(first_date=local_date, start=local_time, zone=zone, count=1)[0]


def _locked_cohort(cohort: Cohort) -> Cohort:
    return Cohort.objects.select_for_update().select_related("program").get(pk=cohort.pk)


def _retime(meeting: Meeting, local_date: date, local_time: time, zone: str) -> None:
    start = _at(local_date, local_time, zone)
    duration = meeting.duration
    meeting.moved_from = meeting.starts_at
    meeting.local_date = local_date
    meeting.local_time = local_time
    meeting.starts_at = start
    meeting.ends_at = start + duration
    meeting.ics_sequence += 1
    # Reminders already sent were for the old time: the new time gets its own.
    ReminderSent.objects.filter(meeting_id=meeting.pk).delete()
    _forget_early_arrivals(meeting)


def _forget_early_arrivals(meeting: Meeting) -> None:
    """A meeting changed before it started was not held at the time anyone joined it early (or
    was marked then): those marks go, so that nobody is counted as at a meeting that did not
    happen, and the room is entered again through the join step, which asks a therapy member
    afresh where they are."""
    _in_transaction()
    Attendance.objects.filter(meeting_id=meeting.pk).delete()


def _after_commit(
    meeting_ids: list[int], change: str | None, changed: list[Meeting] | None = None
) -> None:
    """Reminders for these meetings' times and, for a change, its notice. The notice carries
    the calendar sequence the change left each ``changed`` meeting at, so that a meeting changed
    again before the worker sends it is told only by that later change's notice."""
    from circlecare.meetings import tasks

    sequences = {str(m.pk): m.ics_sequence for m in changed or []}

    def run() -> None:
        tasks.schedule_reminders(meeting_ids)
        if change:
            tasks.notify_meetings_changed.enqueue(meeting_ids, change, sequences)

    transaction.on_commit(run)


def _meetings_changed(cohort: Cohort) -> None:
    """What follows a group's meetings follows a change to them: the group's start (joining and
    the catalog go by it) and its members' questionnaires and check-ins."""
    from circlecare.measures.services import follow_meetings

    _in_transaction()
    first = (
        Meeting.objects.filter(cohort=cohort)
        .exclude(status=MeetingStatus.CANCELLED)
        .order_by("starts_at", "pk")
        .first()
    )
    if first is not None:
        try:
            follow_first_meeting(
                cohort=cohort, local_date=first.local_date, local_time=first.local_time
            )
        except ValueError as exc:
            raise ScheduleError(str(exc)) from None
    follow_meetings(cohort=cohort)


# --- opening a cohort -----------------------------------------------------------------------


def planned_preview(cohort: Cohort) -> list[schedule.PreviewRow]:
    """What opening `cohort` would create: each meeting's time and any clock-change note."""
    return schedule.preview(
        first_date=cohort.first_meeting_date,
        start=cohort.start_time,
        zone=cohort.time_zone,
        count=cohort.program.weeks,
    )


def first_meeting_passed(cohort: Cohort) -> str:
    """Why a draft whose first meeting is behind us is not opened. Nobody could join it (joining
    ends with the first meeting's day), so it would be an open group with no way in."""
    return (
        f"This group's first meeting ({cohort.first_meeting_date:%a %d %b %Y}) has already "
        "passed, so it can't be opened. Change the date of its first meeting in the admin, "
        "then open it."
    )


def _create_series(cohort: Cohort) -> list[Meeting]:
    _in_transaction()
    minutes = timedelta(minutes=cohort.program.minutes_per_meeting)
    rows = [
        Meeting(
            cohort=cohort,
            number=index,
            starts_at=start,
            ends_at=start + minutes,
            local_date=cohort.first_meeting_date + timedelta(weeks=index - 1),
            local_time=cohort.start_time,
        )
        for index, start in enumerate(schedule.meeting_times(cohort), start=1)
    ]
    return Meeting.objects.bulk_create(rows)


def open_cohort(*, cohort: Cohort, actor: User) -> list[Meeting]:
    """Open a draft cohort for joining and create its meetings from the weekly pattern."""
    _require_staff(actor)
    with transaction.atomic(durable=True):
        locked = _locked_cohort(cohort)
        if locked.status != CohortStatus.DRAFT:
            raise InvalidTransition("Only a draft group can be opened.")
        if locked.meetings.exists():
            raise InvalidTransition("This group already has meetings.")
        try:
            meetings = _create_series(locked)
        except ValueError as exc:
            raise ScheduleError(str(exc)) from None
        if meetings[0].starts_at <= timezone.now():
            raise ScheduleError(first_meeting_passed(locked))
        # The one write this app makes to a cohort row: opening it.
        Cohort.objects.filter(pk=locked.pk).update(status=CohortStatus.OPEN)
        record(
            actor=actor,
            action=AuditAction.COHORT_CHANGED,
            target=locked,
            data={"status": CohortStatus.OPEN, "meetings": len(meetings)},
        )
        ids = list(Meeting.objects.filter(cohort=locked).values_list("pk", flat=True))
        _after_commit(ids, None)
    cohort.status = CohortStatus.OPEN
    return list(Meeting.objects.filter(cohort=cohort))


#: A cancelled group that never had its meetings made: there are none to make now.
CANCELLED_UNSCHEDULED = "This group is cancelled, so it has no meetings to schedule."


def create_meetings(*, cohort: Cohort, actor: User | None) -> list[Meeting]:
    """Create the meetings of an already open cohort that has none yet (safe to call twice)."""
    if actor is not None:
        _require_staff(actor)
    with transaction.atomic(durable=True):
        locked = _locked_cohort(cohort)
        if locked.status == CohortStatus.CANCELLED:
            raise InvalidTransition(CANCELLED_UNSCHEDULED)
        if locked.status == CohortStatus.DRAFT:
            raise InvalidTransition("Open the group first.")
        if locked.meetings.exists():
            return list(locked.meetings.all())
        try:
            _create_series(locked)
        except ValueError as exc:
            raise ScheduleError(str(exc)) from None
        record(
            actor=actor,
            action=AuditAction.COHORT_CHANGED,
            target=locked,
            data={"meetings_created": locked.program.weeks},
        )
        ids = list(Meeting.objects.filter(cohort=locked).values_list("pk", flat=True))
        _after_commit(ids, None)
    return list(Meeting.objects.filter(cohort=cohort))


# --- changing the series --------------------------------------------------------------------


def _ended(meeting: Meeting) -> None:
    """A meeting its leader ended (perhaps in its early window, before its start) is over: it
    keeps its time and status."""
    if meeting.ended_at is not None and meeting.status != MeetingStatus.CANCELLED:
        raise MeetingEnded()


def _changeable(meeting: Meeting, now: datetime) -> None:
    _ended(meeting)
    if meeting.status != MeetingStatus.SCHEDULED:
        raise InvalidTransition("Only a scheduled meeting can be changed.")
    if meeting.starts_at <= now:
        raise InvalidTransition("This meeting has already started; it can't be changed now.")


def _locked_meeting(meeting: Meeting) -> tuple[Cohort, Meeting]:
    cohort = _locked_cohort(meeting.cohort)
    try:
        # A reminder being sent holds the meeting's row (reminders.send_one); waiting for it
        # here means a move sees, and clears, the claim it made for the old time.
        locked = Meeting.objects.select_for_update().get(pk=meeting.pk, cohort=cohort)
    except Meeting.DoesNotExist:
        raise NotFound() from None
    return cohort, locked


def _last_day(cohort: Cohort) -> date | None:
    """The day of the group's last meeting that is not cancelled, in its own zone."""
    return (
        Meeting.objects.filter(cohort=cohort)
        .exclude(status=MeetingStatus.CANCELLED)
        .order_by("-starts_at")
        .values_list("local_date", flat=True)
        .first()
    )


def _licences_still_cover(cohort: Cohort, new_last: date) -> None:
    """A therapy group's meetings may not be moved past the day its lead stops being licensed in
    a state where someone in the group (seated, offered or waiting) lives: they could not be seen
    at the meetings after it. Refused with what to do instead; a change that keeps the last
    meeting where it was, or that takes no one out of cover, goes ahead."""
    if cohort.program.kind != ProgramKind.THERAPY:
        return
    old_last = _last_day(cohort) or cohort.planned_last_date
    if new_last <= old_last:
        return
    homes = homes_in(cohort)
    if not homes:
        return
    clinician = clinician_of(cohort.lead_id)
    start = max(cohort.first_meeting_date, cohort.local_today())
    lost = (homes & licensed_states(clinician, start, old_last)) - licensed_states(
        clinician, start, new_last
    )
    if lost:
        places = ", ".join(sorted(state_name(code) for code in lost))
        raise ScheduleError(
            f"The group's clinician is not licensed in {places} through {new_last:%-d %B %Y}, "
            "the new last meeting, and members of this group live there. Choose dates that end "
            "sooner, or record the renewed licence first."
        )


def skip_week(*, meeting: Meeting, actor: User, seen_sequence: int | None = None) -> list[Meeting]:
    """No meeting that week: it and every later scheduled meeting move a week on.

    ``seen_sequence``: the meeting's ``ics_sequence`` on the page that asked. Skipping is not
    idempotent (each one moves the meetings another week), so a form sent twice, or a week
    already moved by another change, is refused rather than skipped again."""
    _require_staff(actor)
    now = timezone.now()
    with transaction.atomic(durable=True):
        cohort, locked = _locked_meeting(meeting)
        _changeable(locked, now)
        if seen_sequence is not None and seen_sequence != locked.ics_sequence:
            raise MeetingChanged()
        later = list(
            Meeting.objects.select_for_update()
            .filter(cohort=cohort, status=MeetingStatus.SCHEDULED, starts_at__gte=locked.starts_at)
            .filter(ended_at__isnull=True)
            .order_by("-starts_at")
        )
        if later:
            _licences_still_cover(cohort, later[0].local_date + timedelta(weeks=1))
        try:
            for item in later:
                _retime(
                    item, item.local_date + timedelta(weeks=1), item.local_time, cohort.time_zone
                )
                item.save()
        except ValueError as exc:
            raise ScheduleError(str(exc)) from None
        _meetings_changed(cohort)
        record(
            actor=actor,
            action=AuditAction.MEETING_CHANGED,
            target=locked,
            data={"change": "skipped", "shifted": len(later)},
        )
        ids = sorted(item.pk for item in later)
        _after_commit(ids, "skipped", later)
    return later


def _keep_in_order(meeting: Meeting, new_start: datetime, new_end: datetime, zone: str) -> None:
    """A week's meeting stays after the week before it and before the week after it, so the
    programme's weeks keep their order (a week to drop is skipped, not moved past the others)."""
    others = Meeting.objects.filter(cohort_id=meeting.cohort_id).exclude(
        status=MeetingStatus.CANCELLED
    )
    before = others.filter(number__lt=meeting.number).order_by("-number").first()
    after = others.filter(number__gt=meeting.number).order_by("number").first()
    # A week its leader ended early is over at that end, not the one planned for it.
    if (before is not None and new_start < before.over_at) or (
        after is not None and new_end > after.starts_at
    ):

        def day(other: Meeting) -> str:
            return f"week {other.number} ({other.starts_at.astimezone(ZoneInfo(zone)):%A %-d %B})"

        bounds = []
        if before is not None:
            bounds.append(f"after {day(before)}")
        if after is not None:
            bounds.append(f"before {day(after)}")
        raise ScheduleError(
            f"Week {meeting.number} has to stay in its place in the programme: choose a time "
            f"{' and '.join(bounds)}. To leave a week out, skip it instead."
        )


def move_meeting(*, meeting: Meeting, local_date: date, local_time: time, actor: User) -> Meeting:
    """Move one meeting to another local date and time in the group's own zone."""
    _require_staff(actor)
    now = timezone.now()
    with transaction.atomic(durable=True):
        cohort, locked = _locked_meeting(meeting)
        _changeable(locked, now)
        try:
            new_start = _at(local_date, local_time, cohort.time_zone)
        except ValueError as exc:
            raise ScheduleError(str(exc)) from None
        if new_start <= now:
            raise ScheduleError("Choose a time in the future.")
        new_end = new_start + locked.duration
        clash = (
            Meeting.objects.filter(cohort=cohort, starts_at__lt=new_end, ends_at__gt=new_start)
            .exclude(ended_at__lte=new_start)
            .exclude(pk=locked.pk)
            .exclude(status=MeetingStatus.CANCELLED)
            .exists()
        )
        if clash:
            raise ScheduleError("Another meeting of this group is at that time.")
        _keep_in_order(locked, new_start, new_end, cohort.time_zone)
        if new_start == locked.starts_at:
            raise ScheduleError("That is the meeting's current time.")
        _licences_still_cover(cohort, local_date)
        _retime(locked, local_date, local_time, cohort.time_zone)
        locked.save()
        _meetings_changed(cohort)
        record(
            actor=actor,
            action=AuditAction.MEETING_CHANGED,
            target=locked,
            data={"change": "moved", "sequence": locked.ics_sequence},
        )
        _after_commit([locked.pk], "moved", [locked])
    return locked


def cancel_meeting(*, meeting: Meeting, actor: User) -> Meeting:
    _require_staff(actor)
    now = timezone.now()
    with transaction.atomic(durable=True):
        cohort, locked = _locked_meeting(meeting)
        _ended(locked)
        if locked.status != MeetingStatus.SCHEDULED:
            raise InvalidTransition("Only a scheduled meeting can be cancelled.")
        if locked.ends_at <= now:
            raise InvalidTransition("This meeting is over; it can't be cancelled.")
        if (
            locked.starts_at <= now
            and Attendance.objects.filter(meeting=locked, status__in=PRESENT).exists()
        ):
            # Those who joined early are in it: it is under way, held in all but its status.
            raise InvalidTransition(
                "This meeting has started and people are in it, so it can't be cancelled."
            )
        locked.status = MeetingStatus.CANCELLED
        locked.ics_sequence += 1
        locked.save()
        _forget_early_arrivals(locked)
        _meetings_changed(cohort)
        record(
            actor=actor,
            action=AuditAction.MEETING_CHANGED,
            target=locked,
            data={"change": "cancelled", "sequence": locked.ics_sequence},
        )
        _after_commit([locked.pk], "cancelled", [locked])
    return locked


def change_pattern(
    *, cohort: Cohort, from_date: date, start_time: time, actor: User
) -> list[Meeting]:
    """Give every future scheduled meeting a new weekly pattern, starting on `from_date`.

    Held, cancelled, ended and past meetings keep their times, attendance and notes.
    """
    _require_staff(actor)
    now = timezone.now()
    with transaction.atomic(durable=True):
        locked = _locked_cohort(cohort)
        future = list(
            Meeting.objects.select_for_update()
            .filter(cohort=locked, status=MeetingStatus.SCHEDULED, starts_at__gt=now)
            .filter(ended_at__isnull=True)
            .order_by("starts_at")
        )
        if not future:
            raise ScheduleError("This group has no future meetings to change.")
        try:
            times = schedule.weekly_times(
                first_date=from_date, start=start_time, zone=locked.time_zone, count=len(future)
            )
        except (ValueError, TypeError) as exc:
            raise ScheduleError(str(exc)) from None
        if times[0] <= now:
            raise ScheduleError("The new pattern must start in the future.")
        earlier = (
            Meeting.objects.filter(cohort=locked)
            .exclude(pk__in=[m.pk for m in future])
            .exclude(status=MeetingStatus.CANCELLED)
            .order_by("-ends_at")
            .first()
        )
        if earlier is not None and times[0] < earlier.over_at:
            raise ScheduleError("The new pattern must start after the meetings already held.")
        _licences_still_cover(locked, from_date + timedelta(weeks=len(future) - 1))
        changed: list[Meeting] = []
        for index, item in enumerate(future):
            local_date = from_date + timedelta(weeks=index)
            if (item.local_date, item.local_time, item.starts_at) == (
                local_date,
                start_time,
                times[index],
            ):
                continue
            _retime(item, local_date, start_time, locked.time_zone)
            changed.append(item)
        if not changed:
            raise ScheduleError("The meetings already follow that pattern.")
        for item in changed:
            # Calendars' LAST-MODIFIED: bulk_update() does not fill auto_now fields.
            item.updated_at = now
        Meeting.objects.bulk_update(
            changed,
            [
                "starts_at",
                "ends_at",
                "local_date",
                "local_time",
                "moved_from",
                "ics_sequence",
                "updated_at",
            ],
        )
        _meetings_changed(locked)
        record(
            actor=actor,
            action=AuditAction.MEETING_CHANGED,
            target=locked,
            data={"change": "pattern", "meetings": len(changed)},
        )
        _after_commit([m.pk for m in changed], "pattern", changed)
    return changed


# --- attendance and joining -----------------------------------------------------------------


def _memberships(cohort: Cohort) -> QuerySet[Enrollment]:
    """The places that make someone a member of ``cohort``'s meetings."""
    return Enrollment.objects.filter(cohort=cohort, status__in=MEMBER_STATUSES)


def is_member(member: User, cohort: Cohort) -> bool:
    return _memberships(cohort).filter(member=member).exists()


def may_record_attendance(actor: User, cohort: Cohort) -> bool:
    return actor.is_active and (actor.is_staff or cohort.is_led_by(actor))


def _locked_for_attendance(meeting: Meeting, actor: User, now: datetime) -> Meeting:
    _in_transaction()
    locked = Meeting.objects.select_for_update().select_related("cohort").get(pk=meeting.pk)
    if not may_record_attendance(actor, locked.cohort):
        raise NotFound()
    if locked.status == MeetingStatus.CANCELLED:
        raise InvalidTransition("This meeting was cancelled.")
    if now < locked.join_opens_at:
        raise InvalidTransition("Attendance can be recorded once the meeting opens.")
    return locked


def _mark(locked: Meeting, member: User, status: str, actor: User, now: datetime) -> Attendance:
    from circlecare.measures.services import withdraw_checkin

    _in_transaction()
    attendance, _ = Attendance.objects.update_or_create(
        meeting=locked,
        member=member,
        defaults={"status": status, "recorded_by": actor, "at": now},
    )
    if status in AWAY:
        withdraw_checkin(meeting=locked, member_id=member.pk)
    record(
        actor=actor,
        action=AuditAction.MEETING_CHANGED,
        target=locked,
        subject=member,
        data={"change": "attendance", "status": status},
    )
    return attendance


def _held_once_started(locked: Meeting, now: datetime) -> None:
    if locked.status == MeetingStatus.SCHEDULED and now >= locked.starts_at:
        locked.status = MeetingStatus.HELD
        locked.save(update_fields=["status", "updated_at"])


def record_attendance(*, meeting: Meeting, member: User, status: str, actor: User) -> Attendance:
    """A facilitator (or coordinator) sets one member's attendance at one meeting."""
    if status not in AttendanceStatus.values:
        raise InvalidTransition("Choose attended, late, absent or excused.")
    now = timezone.now()
    with transaction.atomic(durable=True):
        locked = _locked_for_attendance(meeting, actor, now)
        if not queries.roster_members(locked).filter(pk=member.pk).exists():
            raise NotFound()
        attendance = _mark(locked, member, status, actor, now)
        _held_once_started(locked, now)
    return attendance


def record_attendances(
    *, meeting: Meeting, marks: list[tuple[User, str]], actor: User
) -> list[Attendance]:
    """A facilitator (or coordinator) saves the attendance sheet: every mark or none.

    The members come from the roster the facilitator was shown, so a refusal names the member
    (the facilitator saw them) and nothing of the sheet is kept.
    """
    for member, status in marks:
        if status not in AttendanceStatus.values:
            raise InvalidTransition(
                f"Choose attended, late, absent or excused for {member.display_name}."
            )
    now = timezone.now()
    with transaction.atomic(durable=True):
        locked = _locked_for_attendance(meeting, actor, now)
        on_sheet = set(
            queries.roster_members(locked)
            .filter(pk__in=[member.pk for member, _ in marks])
            .values_list("pk", flat=True)
        )
        gone = [member.display_name for member, _ in marks if member.pk not in on_sheet]
        if gone:
            raise InvalidTransition(
                f"{', '.join(gone)} no longer {'belongs' if len(gone) == 1 else 'belong'} "
                "to this group, so none of this attendance was saved."
            )
        saved = [_mark(locked, member, status, actor, now) for member, status in marks]
        if saved:
            _held_once_started(locked, now)
    return saved


def _attest(meeting: Meeting, member: User, state: str, now: datetime) -> LocationAttestation:
    _in_transaction()
    cohort = meeting.cohort
    clinician = getattr(cohort.lead, "clinician", None)
    on = meeting.starts_at.astimezone(ZoneInfo(cohort.time_zone)).date()
    allowed = state in licensed_states(clinician, on, on)
    return LocationAttestation.objects.create(
        member=member, meeting=meeting, state=state, at=now, allowed=allowed
    )


def attest_location(
    *, meeting: Meeting, member: User, state: str, now: datetime | None = None
) -> LocationAttestation:
    """Record where a therapy member says they are right now, and whether the lead may serve them."""
    now = now or timezone.now()
    state = (state or "").strip().upper()
    if state not in _KNOWN_PLACES:
        raise LocationRequired()
    with transaction.atomic(durable=True):
        locked = (
            Meeting.objects.select_related("cohort__lead")
            .defer("cohort__lead__password")
            .get(pk=meeting.pk)
        )
        if not is_member(member, locked.cohort):
            raise NotFound()
        attestation = _attest(locked, member, state, now)
    return attestation


@dataclass(frozen=True)
class JoinResult:
    attendance: Attendance | None
    attestation: LocationAttestation | None


def join_meeting(
    *, meeting: Meeting, member: User, state: str | None = None, now: datetime | None = None
) -> JoinResult:
    """A member joins inside the window; a therapy member first says which state they are in.

    A refusal for location is stored (the facilitator sees it) before `LocationNotServed` is
    raised, so the record survives the error.
    """
    now = now or timezone.now()
    refused: LocationAttestation | None = None
    with transaction.atomic(durable=True):
        try:
            locked = (
                Meeting.objects.select_for_update()
                .select_related("cohort__program", "cohort__lead")
                .defer("cohort__lead__password")
                .get(pk=meeting.pk)
            )
        except Meeting.DoesNotExist:
            raise NotFound() from None
        cohort = locked.cohort
        if not is_member(member, cohort):
            raise NotFound()
        if not locked.is_joinable_at(now):
            raise JoinWindowClosed()
        if consents_missing(member, cohort, at=locked.starts_at):
            # A new version of an agreement took effect: it is signed before the next meeting.
            raise ConsentRequired(
                "The group's agreements have been updated. Please read and sign them before joining."
            )
        attestation: LocationAttestation | None = None
        if cohort.program.is_therapy:
            place = (state or "").strip().upper()
            if place not in _KNOWN_PLACES:
                raise LocationRequired()
            attestation = _attest(locked, member, place, now)
            if not attestation.allowed:
                record(
                    actor=member,
                    action=AuditAction.MEETING_CHANGED,
                    target=locked,
                    subject=member,
                    data={"change": "join_refused", "state": place},
                )
                refused = attestation
        attendance: Attendance | None = None
        if refused is None:
            status = (
                AttendanceStatus.LATE
                if now > locked.starts_at + LATE_AFTER
                else AttendanceStatus.ATTENDED
            )
            attendance = Attendance.objects.filter(meeting=locked, member=member).first()
            if attendance is None:
                attendance = Attendance.objects.create(
                    meeting=locked, member=member, status=status, recorded_by=member, at=now
                )
            elif attendance.status in AWAY:
                # Marked absent or excused ahead of time, and here after all.
                attendance.status = status
                attendance.recorded_by = member
                attendance.at = now
                attendance.save()
            if locked.status == MeetingStatus.SCHEDULED and now >= locked.starts_at:
                # Held once it has started: joining early leaves it open to staff to cancel or
                # move until then.
                locked.status = MeetingStatus.HELD
                locked.save(update_fields=["status", "updated_at"])
            record(
                actor=member,
                action=AuditAction.MEETING_CHANGED,
                target=locked,
                subject=member,
                data={"change": "joined", "status": attendance.status},
            )
    if refused is not None:
        raise LocationNotServed(detail={"state": refused.state})
    return JoinResult(attendance=attendance, attestation=attestation)


# --- calendar feeds -------------------------------------------------------------------------


def create_calendar_feed(*, member: User) -> str:
    """Make a new secret feed address for `member`, switching off any older one.

    Returns the token; only its hash is stored, so it can be shown this once.
    """
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic(durable=True):
        User.objects.select_for_update().get(pk=member.pk)
        CalendarFeed.objects.filter(member=member, revoked_at__isnull=True).update(revoked_at=now)
        CalendarFeed.objects.create(member=member, token_hash=hash_token(token))
    return token


def note_feed_used(*, feed: CalendarFeed) -> None:
    """Remember when a calendar app last fetched the feed, so the member can tell it's in use."""
    CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=timezone.now())


def revoke_calendar_feed(*, member: User) -> int:
    with transaction.atomic(durable=True):
        return CalendarFeed.objects.filter(member=member, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
