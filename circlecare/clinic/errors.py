"""Domain errors of the clinician workspace (notes)."""

from __future__ import annotations

from circlecare.errors import DomainError


class NoteSigned(DomainError):
    code = "note_signed"
    default_message = "This note is signed and can't be changed. Add an amendment instead."
    status = 409


class NoteNotSigned(DomainError):
    code = "note_not_signed"
    default_message = "Only a signed note can be amended; this one is still a draft."
    status = 409


class AmendmentInProgress(DomainError):
    code = "amendment_in_progress"
    default_message = "This note already has an amendment. Open the latest version to continue."
    status = 409


class NoteEmpty(DomainError):
    code = "note_empty"
    default_message = "Write the note before signing it."
    status = 400


class NotesNotOpen(DomainError):
    code = "notes_not_open"
    default_message = "Notes can be written once the meeting has started."
    status = 409


class NotAnAttendee(DomainError):
    code = "not_an_attendee"
    default_message = "Individual notes are for members who attended this meeting."
    status = 409
