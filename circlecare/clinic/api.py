"""Meeting notes for the people who run a group: read, write, sign and amend.

Handlers call the same services and queries as the notes pages and write the same audit events
(one "note viewed" per note shown). The group's lead and co-facilitator may write; coordinators
may read. Anyone else gets the same 404 as for a meeting or note that does not exist. Every
operation needs a token's "clinical" scope, besides "read" to look or "write" to change anything.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Field, Path, Schema
from ninja.pagination import paginate

from circlecare.accounts.http import signed_in
from circlecare.api import AUTH, ERRORS, ID_MAX, ErrorOut, Input, Pagination, Router, require_scope
from circlecare.clinic import queries, services
from circlecare.clinic.forms import NOTE_MAX_LENGTH
from circlecare.clinic.models import GroupNote, IndividualNote
from circlecare.errors import NotFound
from circlecare.measures.api import AuditedPage, PersonRef
from circlecare.meetings.models import Meeting

router = Router(auth=AUTH)

AnyNote = GroupNote | IndividualNote


class NoteKind(StrEnum):
    GROUP = "group"
    INDIVIDUAL = "individual"


class VersionRef(Schema):
    id: int
    version: int
    status: str
    signed_at: datetime | None


class NoteOut(Schema):
    id: int
    kind: str = Field(..., description="group or individual.")
    meeting_id: int
    member: PersonRef | None = Field(None, description="Whose note it is (individual notes).")
    version: int = Field(..., description="1, or higher for an amendment.")
    amends_id: int | None = Field(None, description="The signed version this one amends.")
    status: str = Field(..., description="draft or signed (signed notes never change).")
    text: str
    created_at: datetime
    updated_at: datetime
    signed_at: datetime | None
    signed_by: PersonRef | None
    earlier_versions: list[VersionRef] = Field(default_factory=list)


class NoteTextIn(Input):
    text: str = Field(..., max_length=NOTE_MAX_LENGTH)


class NoteSignIn(Input):
    text: str | None = Field(
        None,
        max_length=NOTE_MAX_LENGTH,
        description=(
            "The note as the signer reviewed it. If given and different from the saved text, it "
            "is saved first (as a save would be) and then signed. Left out, the saved text is "
            "signed."
        ),
    )


class StartedNotesOut(Schema):
    created: list[NoteOut] = Field(
        ..., description="A draft for each member who attended and had no note yet."
    )


def _person(user: Any) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "display_name": user.display_name}


def note_out(note: AnyNote, earlier: list[AnyNote] | None = None) -> dict[str, Any]:
    return {
        "id": note.pk,
        "kind": note.kind,
        "meeting_id": note.meeting_id,
        "member": _person(note.member) if isinstance(note, IndividualNote) else None,
        "version": note.version,
        "amends_id": note.amends_id,
        "status": note.status,
        "text": note.text,
        "created_at": note.created_at,
        "updated_at": note.updated_at,
        "signed_at": note.signed_at,
        "signed_by": _person(note.signed_by),
        "earlier_versions": [
            {"id": v.pk, "version": v.version, "status": v.status, "signed_at": v.signed_at}
            for v in earlier or []
        ],
    }


def _with_history(note: AnyNote) -> dict[str, Any]:
    """A single note with the versions before it (one more query)."""
    earlier: list[AnyNote]
    if isinstance(note, IndividualNote):
        earlier = list(
            IndividualNote.objects.filter(
                meeting_id=note.meeting_id, member_id=note.member_id, version__lt=note.version
            ).order_by("version")
        )
    else:
        earlier = list(
            GroupNote.objects.filter(meeting_id=note.meeting_id, version__lt=note.version).order_by(
                "version"
            )
        )
    return note_out(note, earlier)


def _clinical(request: HttpRequest, *, write: bool = False) -> None:
    require_scope(request, "write" if write else "read")
    require_scope(request, "clinical")


def _meeting(request: HttpRequest, pk: int, *, write: bool = False) -> tuple[Meeting, bool]:
    found = queries.meeting_for_notes(pk, signed_in(request))
    if found is None or (write and not found[1]):
        raise Http404
    return found


def _note(request: HttpRequest, kind: NoteKind, pk: int, *, write: bool = False) -> AnyNote:
    found = queries.note_for_viewer(kind.value, pk, signed_in(request))
    if found is None or (write and not found[1]):
        raise Http404
    return found[0]


# --------------------------------------------------------------------------------------------------
# Reading


@router.get(
    "/meetings/{meeting_id}/notes",
    head=False,
    response={200: list[NoteOut], ERRORS: ErrorOut},
    summary="A meeting's notes",
    description=(
        "The latest version of the group note, then of each member's note (by name), each with "
        "its earlier versions listed. For the group's lead, co-facilitator and coordinators."
    ),
)
@paginate(Pagination)
def list_notes(request: HttpRequest, meeting_id: int = Path(..., ge=1, le=ID_MAX)) -> Any:
    _clinical(request)
    meeting, _can_write = _meeting(request, meeting_id)
    notes = queries.meeting_notes(meeting)
    rows: list[tuple[AnyNote, list[AnyNote]]] = []
    if notes.group is not None:
        rows.append((notes.group, list(notes.group_earlier)))
    rows += [(m.latest, list(m.earlier)) for m in notes.members if m.latest is not None]
    user = signed_in(request)
    return AuditedPage(
        rows,
        out=lambda row: note_out(*row),
        on_page=lambda page: services.record_reads(notes=[n for n, _ in page], actor=user),
    )


@router.get(
    "/notes/{kind}/{note_id}",
    head=False,
    response={200: NoteOut, ERRORS: ErrorOut},
    summary="One version of a note",
)
def get_note(
    request: HttpRequest, kind: NoteKind, note_id: int = Path(..., ge=1, le=ID_MAX)
) -> Any:
    _clinical(request)
    note = _note(request, kind, note_id)
    services.record_reads(notes=[note], actor=signed_in(request))
    return _with_history(note)


# --------------------------------------------------------------------------------------------------
# Writing (the group's lead and co-facilitator)


def _call(fn: Any, **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except NotFound as exc:
        raise Http404 from exc


@router.post(
    "/meetings/{meeting_id}/notes/group",
    response={200: NoteOut, ERRORS: ErrorOut},
    summary="Save the group note",
    description=(
        "Creates the meeting's group note or updates its draft, once the meeting has opened. A "
        "signed note is 409: amend it instead."
    ),
)
def save_group_note(
    request: HttpRequest, payload: NoteTextIn, meeting_id: int = Path(..., ge=1, le=ID_MAX)
) -> Any:
    _clinical(request, write=True)
    meeting, _ = _meeting(request, meeting_id, write=True)
    note = _call(
        services.save_group_note, meeting=meeting, text=payload.text, actor=signed_in(request)
    )
    return _with_history(note)


@router.post(
    "/meetings/{meeting_id}/notes/individual",
    response={200: StartedNotesOut, ERRORS: ErrorOut},
    summary="Start individual notes",
    description=(
        "A draft for every member who attended (or came late) and has no note yet, prefilled "
        "from the group note."
    ),
)
def start_individual_notes(
    request: HttpRequest, meeting_id: int = Path(..., ge=1, le=ID_MAX)
) -> Any:
    _clinical(request, write=True)
    meeting, _ = _meeting(request, meeting_id, write=True)
    created = _call(services.create_individual_notes, meeting=meeting, actor=signed_in(request))
    return {"created": [note_out(n) for n in created]}


@router.post(
    "/notes/individual/{note_id}/save",
    response={200: NoteOut, ERRORS: ErrorOut},
    summary="Save an individual note",
    description="Updates a draft. A signed note is 409: amend it instead.",
)
def save_individual_note(
    request: HttpRequest, payload: NoteTextIn, note_id: int = Path(..., ge=1, le=ID_MAX)
) -> Any:
    _clinical(request, write=True)
    note = _note(request, NoteKind.INDIVIDUAL, note_id, write=True)
    saved = _call(
        services.save_individual_note, note=note, text=payload.text, actor=signed_in(request)
    )
    return _with_history(saved)


@router.post(
    "/notes/{kind}/{note_id}/sign",
    response={200: NoteOut, ERRORS: ErrorOut},
    summary="Sign a note",
    description=(
        "From then on it is read-only. The body is optional: send `text` to sign the note as "
        "you reviewed it (saved first if it differs), or no body to sign the saved text. An "
        "empty note can't be signed (400); a signed one is 409, and so is new text for the note "
        "of a member who did not attend. A refused signature saves nothing."
    ),
)
def sign_note(
    request: HttpRequest,
    kind: NoteKind,
    note_id: int = Path(..., ge=1, le=ID_MAX),
    payload: NoteSignIn | None = None,
) -> Any:
    _clinical(request, write=True)
    note = _note(request, kind, note_id, write=True)
    text = payload.text if payload is not None else None
    signed = _call(services.sign_note, note=note, actor=signed_in(request), text=text)
    return _with_history(signed)


@router.post(
    "/notes/{kind}/{note_id}/amend",
    response={200: NoteOut, ERRORS: ErrorOut},
    summary="Amend a signed note",
    description=(
        "Starts an amendment: a new draft version with the signed text; the signed version "
        "stays as it was. Only a signed note, and only once (409 otherwise)."
    ),
)
def amend_note(
    request: HttpRequest, kind: NoteKind, note_id: int = Path(..., ge=1, le=ID_MAX)
) -> Any:
    _clinical(request, write=True)
    note = _note(request, kind, note_id, write=True)
    amendment = _call(services.amend_note, note=note, actor=signed_in(request))
    return _with_history(amendment)
