"""The clinician workspace and meeting notes. Thin: check who is asking, call a query or a
service, render. Anyone who may not see a page gets the same 404 as for one that does not exist.
Every page here shows clinical information, so none of it may be cached."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from circlecare.accounts.http import signed_in
from circlecare.accounts.models import User
from circlecare.clinic import queries, services
from circlecare.clinic.forms import NoteForm, SignForm
from circlecare.clinic.models import GroupNote, IndividualNote
from circlecare.errors import DomainError, NotFound
from circlecare.meetings.models import Meeting

NOT_FOUND = "Not found"


def _user(request: HttpRequest) -> User:
    request.clinical = True  # type: ignore[attr-defined]
    return signed_in(request)


def _meeting(request: HttpRequest, pk: int, *, write: bool = False) -> tuple[Meeting, bool]:
    found = queries.meeting_for_notes(pk, _user(request))
    if found is None or (write and not found[1]):
        raise Http404(NOT_FOUND)
    return found


def _note(
    request: HttpRequest, kind: str, pk: int, *, write: bool = False
) -> tuple[GroupNote | IndividualNote, bool]:
    found = queries.note_for_viewer(kind, pk, _user(request))
    if found is None or (write and not found[1]):
        raise Http404(NOT_FOUND)
    return found


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not queries.may_use_workspace(user):
        raise Http404(NOT_FOUND)
    zone = getattr(request, "viewer_zone", timezone.get_current_timezone())
    data = queries.workspace(user, zone)
    services.record_alert_reads(alerts=data.alerts, actor=user)
    return render(request, "clinic/home.html", {"ws": data, "is_coordinator": user.is_staff})


def _render_notes(
    request: HttpRequest,
    meeting: Meeting,
    can_write: bool,
    *,
    bound: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The notes page. ``bound`` maps a note's key to a form with errors, shown beside its field."""
    user = _user(request)
    bound = bound or {}
    notes = queries.meeting_notes(meeting)
    services.record_reads(notes=notes.shown(), actor=user)
    group = notes.group
    group_form = bound.get("group") or NoteForm(
        initial={"text": group.text if group is not None else ""}, prefix="group"
    )
    members = []
    for entry in notes.with_note:
        latest = entry.latest
        assert latest is not None
        key = f"individual-{latest.pk}"
        members.append(
            {
                "entry": entry,
                "note": latest,
                "form": bound.get(key) or NoteForm(initial={"text": latest.text}, prefix=key),
                "sign_form": bound.get(f"sign-{key}")
                or SignForm(prefix=f"sign-{key}", member_name=entry.member.display_name),
            }
        )
    context = {
        "problems": _problems(bound, members),
        "meeting": meeting,
        "cohort": meeting.cohort,
        "can_write": can_write,
        "is_open": services.notes_open(meeting),
        "notes": notes,
        "group": group,
        "group_form": group_form,
        "group_sign_form": bound.get("sign-group") or SignForm(prefix="sign-group"),
        "members": members,
    }
    return render(request, "clinic/notes.html", context, status=status)


def _problems(bound: dict[str, Any], members: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Each refused field on the notes page, named by its note, for the summary at the top.

    The page is long on a phone and the refusal sits beside one note among many: the summary is
    what the keyboard and the screen reader are taken to, with a link to the field."""
    about = {"group": "Group note"}
    for row in members:
        about[f"individual-{row['note'].pk}"] = f"Note for {row['entry'].member.display_name}"
    problems = []
    for key, form in bound.items():
        note_key = key.removeprefix("sign-")
        for field in form:
            for error in field.errors:
                problems.append(
                    {"id": field.auto_id, "about": about.get(note_key, "Note"), "error": error}
                )
    return problems


@login_required
@require_GET
def meeting_notes(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, can_write = _meeting(request, pk)
    return _render_notes(request, meeting, can_write)


def _back_to(meeting_pk: int, place: str) -> HttpResponse:
    """Back to the notes page at the note just changed: on a phone it is screens down the page,
    and the site's script gives that place keyboard focus, with the message the change left."""
    return redirect(f"{reverse('clinic:notes', args=[meeting_pk])}#{place}")


def _place(note: GroupNote | IndividualNote) -> str:
    return "group-heading" if isinstance(note, GroupNote) else f"member-{note.member_id}"


def _saved(text: str, what: str) -> str:
    if not text.strip():
        return f"{what} is saved as an empty draft: there is nothing to sign yet."
    return f"{what} is saved as a draft."


def _refused(request: HttpRequest, exc: DomainError, meeting_pk: int) -> HttpResponse:
    if isinstance(exc, NotFound):
        raise Http404(NOT_FOUND) from exc
    messages.error(request, exc.message)
    return redirect("clinic:notes", pk=meeting_pk)


@login_required
@require_POST
def save_group(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, _ = _meeting(request, pk, write=True)
    form = NoteForm(request.POST, prefix="group")
    if not form.is_valid():
        return _render_notes(request, meeting, True, bound={"group": form}, status=400)
    try:
        services.save_group_note(
            meeting=meeting, text=form.cleaned_data["text"], actor=_user(request)
        )
    except DomainError as exc:
        return _refused(request, exc, meeting.pk)
    messages.success(request, _saved(form.cleaned_data["text"], "The group note"))
    return _back_to(meeting.pk, "group-heading")


@login_required
@require_POST
def start_individual(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, _ = _meeting(request, pk, write=True)
    try:
        created = services.create_individual_notes(meeting=meeting, actor=_user(request))
    except DomainError as exc:
        return _refused(request, exc, meeting.pk)
    if created:
        count = f"{len(created)} individual note{'' if len(created) == 1 else 's'} started"
        if created[0].prefilled_from_id is not None:
            said = f"{count} from the group note. Edit each for the member."
        else:
            said = f"{count}, empty as there is no group note yet. Write each for the member."
        messages.success(request, said)
    else:
        messages.info(request, "Every member who attended already has a note.")
    return _back_to(meeting.pk, "individual-heading")


@login_required
@require_POST
def save_individual(request: HttpRequest, pk: int) -> HttpResponse:
    note, _ = _note(request, "individual", pk, write=True)
    assert isinstance(note, IndividualNote)
    key = f"individual-{note.pk}"
    form = NoteForm(request.POST, prefix=key)
    if not form.is_valid():
        return _render_notes(request, note.meeting, True, bound={key: form}, status=400)
    try:
        services.save_individual_note(
            note=note, text=form.cleaned_data["text"], actor=_user(request)
        )
    except DomainError as exc:
        return _refused(request, exc, note.meeting_id)
    messages.success(
        request, _saved(form.cleaned_data["text"], f"The note for {note.member.display_name}")
    )
    return _back_to(note.meeting_id, _place(note))


@login_required
@require_POST
def sign(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    note, _ = _note(request, kind, pk, write=True)
    text_key = "group" if kind == "group" else f"individual-{note.pk}"
    key = f"sign-{text_key}"
    form = SignForm(
        request.POST,
        prefix=key,
        member_name=None if isinstance(note, GroupNote) else note.member.display_name,
    )
    # The sign button sits in the note's own form: the text on screen, saved or not, comes
    # with it, and that is what gets signed. Shown again when signing is refused.
    text_form = NoteForm(request.POST, prefix=text_key)
    shown = f"{text_key}-text" in request.POST
    bound: dict[str, Any] = {key: form, text_key: text_form} if shown else {key: form}
    if not form.is_valid() or (shown and not text_form.is_valid()):
        return _render_notes(request, note.meeting, True, bound=bound, status=400)
    try:
        services.sign_note(
            note=note,
            actor=_user(request),
            text=text_form.cleaned_data["text"] if shown else None,
        )
    except DomainError as exc:
        if isinstance(exc, NotFound) or not shown:
            return _refused(request, exc, note.meeting_id)
        messages.error(request, exc.message)
        return _render_notes(request, note.meeting, True, bound=bound, status=exc.status)
    messages.success(request, "Signed. The note is now read-only.")
    return _back_to(note.meeting_id, _place(note))


@login_required
@require_POST
def amend(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    note, _ = _note(request, kind, pk, write=True)
    try:
        services.amend_note(note=note, actor=_user(request))
    except DomainError as exc:
        return _refused(request, exc, note.meeting_id)
    messages.success(
        request, "An amendment is started as a new draft. The signed version stays as it was."
    )
    return _back_to(note.meeting_id, _place(note))


@login_required
@require_GET
def note_version(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    note, _can_write = _note(request, kind, pk)
    services.record_reads(notes=[note], actor=_user(request))
    return render(
        request,
        "clinic/note_version.html",
        {"note": note, "meeting": note.meeting, "cohort": note.meeting.cohort},
    )
