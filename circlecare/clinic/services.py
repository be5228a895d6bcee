"""Every change to meeting notes. Each service locks the row it changes and writes one audit event
per note changed; audit data holds ids and status words, never note text."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from circlecare.accounts.models import User
from circlecare.audit.models import AuditAction
from circlecare.audit.services import record
from circlecare.clinic.errors import (
    AmendmentInProgress,
    NotAnAttendee,
    NoteEmpty,
    NoteNotSigned,
    NoteSigned,
    NotesNotOpen,
)
from circlecare.clinic.models import GroupNote, IndividualNote, NoteStatus
from circlecare.errors import NotFound
from circlecare.measures.models import RiskAlert
from circlecare.meetings.models import PRESENT, Attendance, Meeting

#: Attendance marks that mean the member was there, and so gets an individual note.

AnyNote = GroupNote | IndividualNote


def notes_open(meeting: Meeting) -> bool:
    """Notes may be written from when the meeting opens (join window) unless it was cancelled."""
    return not meeting.is_cancelled and timezone.now() >= meeting.join_opens_at


def _locked_meeting(meeting: Meeting, actor: User) -> Meeting:
    locked = (
        Meeting.objects.select_for_update(of=("self",))
        .select_related("cohort")
        .filter(pk=meeting.pk)
        .first()
    )
    if locked is None or not actor.is_active or not locked.cohort.is_led_by(actor):
        raise NotFound()
    if locked.is_cancelled:
        raise NotesNotOpen("This meeting was cancelled, so there are no notes to write.")
    if not notes_open(locked):
        raise NotesNotOpen()
    return locked


def _locked_note(note: AnyNote, actor: User) -> AnyNote:
    model = type(note)
    locked = (
        model.objects.select_for_update(of=("self",))
        .select_related("meeting__cohort")
        .filter(pk=note.pk)
        .first()
    )
    if locked is None or not actor.is_active or not locked.meeting.cohort.is_led_by(actor):
        raise NotFound()
    return locked


def _record_change(note: GroupNote | IndividualNote, actor: User, change: str) -> None:
    data: dict[str, object] = {
        "note": note.kind,
        "meeting": note.meeting_id,
        "version": note.version,
        "status": note.status,
        "change": change,
    }
    if note.amends_id is not None:
        data["amends"] = note.amends_id
    record(
        actor=actor,
        action=AuditAction.NOTE_CHANGED,
        target=note,
        subject=getattr(note, "member", None),
        data=data,
    )


def save_group_note(*, meeting: Meeting, text: str, actor: User) -> GroupNote:
    """Create the meeting's group note or update its draft (the latest version)."""
    with transaction.atomic(durable=True):
        locked_meeting = _locked_meeting(meeting, actor)
        note = (
            GroupNote.objects.select_for_update()
            .filter(meeting=locked_meeting)
            .order_by("-version")
            .first()
        )
        if note is None:
            note = GroupNote(meeting=locked_meeting, author=actor, text=text)
            note.save()
            _record_change(note, actor, "created")
            return note
        if note.is_signed:
            raise NoteSigned()
        note.text = text
        note.save(update_fields=["text", "updated_at"])
        _record_change(note, actor, "saved")
        return note


def create_individual_notes(*, meeting: Meeting, actor: User) -> list[IndividualNote]:
    """A draft for every member who attended and has no note yet, prefilled from the group note."""
    with transaction.atomic(durable=True):
        locked_meeting = _locked_meeting(meeting, actor)
        group = GroupNote.objects.filter(meeting=locked_meeting).order_by("-version").first()
        have = set(
            IndividualNote.objects.filter(meeting=locked_meeting).values_list(
                "member_id", flat=True
            )
        )
        attendees = (
            Attendance.objects.filter(meeting=locked_meeting, status__in=PRESENT)
            .exclude(member_id__in=have)
            .select_related("member")
            .order_by("member_id")
        )
        created = []
        for mark in attendees:
            note = IndividualNote(
                meeting=locked_meeting,
                member=mark.member,
                author=actor,
                text=group.text if group is not None else "",
                prefilled_from=group,
            )
            note.save()
            _record_change(note, actor, "created")
            created.append(note)
        return created


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n")


def _attended(note: IndividualNote) -> bool:
    return Attendance.objects.filter(
        meeting_id=note.meeting_id, member_id=note.member_id, status__in=PRESENT
    ).exists()


def save_individual_note(*, note: IndividualNote, text: str, actor: User) -> IndividualNote:
    with transaction.atomic(durable=True):
        locked = _locked_note(note, actor)
        assert isinstance(locked, IndividualNote)
        if locked.is_signed:
            raise NoteSigned()
        if not _attended(locked):
            raise NotAnAttendee()
        locked.text = text
        locked.save(update_fields=["text", "updated_at"])
        _record_change(locked, actor, "saved")
        return locked


def sign_note(*, note: AnyNote, actor: User, text: str | None = None) -> AnyNote:
    """Sign a draft: from now on it is read-only.

    ``text`` is the note as the signer last saw it on screen: what they reviewed is what is
    signed, even when they changed it without saving first. It is saved (and audited as a
    save) before the signature."""
    with transaction.atomic(durable=True):
        locked = _locked_note(note, actor)
        if locked.is_signed:
            raise NoteSigned("This note is already signed.")
        # Browsers send line breaks as CRLF: the same text in another line-break style is
        # not a change.
        if text is not None and _lines(text) != _lines(locked.text):
            if isinstance(locked, IndividualNote) and not _attended(locked):
                raise NotAnAttendee()
            locked.text = text
            locked.save(update_fields=["text", "updated_at"])
            _record_change(locked, actor, "saved")
        if not locked.text.strip():
            raise NoteEmpty()
        locked.status = NoteStatus.SIGNED
        locked.signed_at = timezone.now()
        locked.signed_by = actor
        locked.save(update_fields=["status", "signed_at", "signed_by", "updated_at"])
        _record_change(locked, actor, "signed")
        return locked


def amend_note(*, note: AnyNote, actor: User) -> AnyNote:
    """Start an amendment of a signed note: a new draft version; the signed one stays as it is."""
    with transaction.atomic(durable=True):
        locked = _locked_note(note, actor)
        if not locked.is_signed:
            raise NoteNotSigned()
        model = type(locked)
        if model.objects.filter(amends_id=locked.pk).exists():
            raise AmendmentInProgress()
        amendment = model(
            meeting_id=locked.meeting_id,
            version=locked.version + 1,
            amends_id=locked.pk,
            author=actor,
            text=locked.text,
        )
        if isinstance(locked, IndividualNote):
            assert isinstance(amendment, IndividualNote)
            amendment.member_id = locked.member_id
            amendment.prefilled_from_id = locked.prefilled_from_id
        amendment.save()
        _record_change(amendment, actor, "amended")
        return amendment


def record_reads(*, notes: Sequence[GroupNote | IndividualNote], actor: User) -> None:
    """One audit event for each note a member of staff has just been shown."""
    for note in notes:
        record(
            actor=actor,
            action=AuditAction.NOTE_VIEWED,
            target=note,
            subject=getattr(note, "member", None),
            data={"note": note.kind, "meeting": note.meeting_id, "version": note.version},
        )


def record_alert_reads(*, alerts: Sequence[RiskAlert], actor: User) -> None:
    """One audit event for each open alert the workspace has just listed."""
    for alert in alerts:
        record(
            actor=actor,
            action=AuditAction.ALERT_VIEWED,
            target=alert,
            subject=alert.member,
            data={"view": "workspace"},
        )
