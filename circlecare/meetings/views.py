"""Meeting pages. Thin: check who is asking, call a query or a service, render.

Anyone who may not see a meeting or a cohort's schedule gets the same 404 as for one that does
not exist.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
    require_safe,
)

from circlecare.accounts.http import signed_in as _user
from circlecare.accounts.models import User
from circlecare.errors import ConsentRequired, DomainError
from circlecare.meetings import calendar, queries, services
from circlecare.meetings.errors import LocationNotServed, MeetingEnded
from circlecare.meetings.forms import LocationForm, MoveForm, PatternForm
from circlecare.meetings.live.access import room_access, why_not_in_room
from circlecare.meetings.live.models import RoomRemoval
from circlecare.meetings.models import AttendanceStatus, Meeting, MeetingStatus
from circlecare.meetings.schedule import describe_rule, preview
from circlecare.programs.models import Cohort, CohortStatus
from circlecare.states import state_name, where

NOT_FOUND = "Not found"


def _meeting(request: HttpRequest, pk: int) -> tuple[Meeting, str]:
    found = queries.meeting_for_viewer(pk, _user(request))
    if found is None:
        raise Http404(NOT_FOUND)
    return found


def _staff_cohort(request: HttpRequest, pk: int, *, leads_too: bool = False) -> Cohort:
    user = _user(request)
    cohort = queries.cohort_schedule(pk)
    if cohort is None or not user.is_active:
        raise Http404(NOT_FOUND)
    if user.is_staff or (leads_too and cohort.is_led_by(user)):
        return cohort
    raise Http404(NOT_FOUND)


def _staff_meeting(request: HttpRequest, pk: int) -> Meeting:
    meeting, role = _meeting(request, pk)
    if not _user(request).is_staff:
        raise Http404(NOT_FOUND)
    del role
    return meeting


def _meeting_context(request: HttpRequest, meeting: Meeting, role: str) -> dict[str, Any]:
    user = _user(request)
    now = timezone.now()
    cohort = meeting.cohort
    attendance = queries.attendance_of(meeting, user) if role == "member" else None
    removed = role == "member" and RoomRemoval.objects.filter(meeting=meeting, user=user).exists()
    return {
        "meeting": meeting,
        "cohort": cohort,
        "program": cohort.program,
        "role": role,
        "window": meeting.window_state(now),
        "attendance": attendance,
        "needs_location": role == "member" and cohort.program.is_therapy,
        "can_join": role in {"member", "facilitator"} and not removed,
        "removed": removed,
    }


def _next_per_group(upcoming: list[Meeting]) -> list[Meeting]:
    seen: set[int] = set()
    firsts = []
    for meeting in upcoming:
        if meeting.cohort_id not in seen and meeting.status != MeetingStatus.CANCELLED:
            seen.add(meeting.cohort_id)
            firsts.append(meeting)
    return firsts


@login_required
@require_safe
def my_meetings(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    now = timezone.now()
    mine = list(queries.meetings_for_member(user))
    # Anyone in a staff role (a coordinator, a facilitator, or a group's lead or co-lead, a
    # clinician helping lead included: see accounts.security.staff_role) may lead meetings.
    led = list(queries.meetings_led_by(user)) if getattr(request, "staff_role", True) else []
    marks = queries.member_attendance(user)
    upcoming = [m for m in mine if not m.is_over_at(now)]
    past = [m for m in mine if m.is_over_at(now)]
    past.reverse()
    for item in past:
        item.my_attendance = marks.get(item.pk)  # type: ignore[attr-defined]
    return render(
        request,
        "meetings/my_meetings.html",
        {
            "upcoming": upcoming,
            "next_up": _next_per_group(upcoming),
            "past": past,
            "led": [m for m in led if not m.is_over_at(now)],
            "feed": queries.active_feed(user),
            # Shown once, on the page the creation redirected to (then forgotten).
            "new_feed_url": request.session.pop(NEW_FEED_URL, None),
        },
    )


#: Where the session keeps a new calendar address until the page shows it.
NEW_FEED_URL = "meetings:new_feed_url"


@login_required
@require_POST
def calendar_feed(request: HttpRequest) -> HttpResponse:
    """Create (or replace) or switch off the member's secret calendar address."""
    user = _user(request)
    action = request.POST.get("action")
    if action == "revoke":
        services.revoke_calendar_feed(member=user)
        messages.success(
            request, "Your calendar link is switched off. Calendars using it stop updating."
        )
        return redirect("meetings:mine")
    if action != "create":
        messages.error(request, "Nothing was changed.")
        return redirect("meetings:mine")
    token = services.create_calendar_feed(member=user)
    # Shown on the next page and only there: a reload of that page does not make another one.
    request.session[NEW_FEED_URL] = calendar.feed_url(token)
    return redirect("meetings:mine")


@require_safe  # some calendar apps check a subscription with HEAD before fetching it
def feed(request: HttpRequest, token: str) -> HttpResponse:
    found = queries.feed_by_token(token)
    if found is None:
        raise Http404(NOT_FOUND)
    services.note_feed_used(feed=found)
    body = calendar.member_calendar(found.member, queries.feed_meetings(found.member))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


@login_required
@require_safe
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, role = _meeting(request, pk)
    context = _meeting_context(request, meeting, role)
    context["location_form"] = LocationForm()
    if role in {"facilitator", "coordinator"}:
        context["refusals"] = queries.refused_attestations(meeting)
    return render(request, "meetings/meeting_detail.html", context)


@login_required
@require_safe
def download_ics(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, _role = _meeting(request, pk)
    response = HttpResponse(
        calendar.meeting_calendar(meeting, _user(request)),
        content_type="text/calendar; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="circlecare-meeting-{meeting.pk}.ics"'
    return response


@login_required
@require_POST
def join(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, role = _meeting(request, pk)
    if role == "facilitator":
        if not meeting.is_joinable_at(timezone.now()):
            messages.error(request, "The meeting isn't open for joining right now.")
            return redirect("meetings:detail", pk=meeting.pk)
        return redirect("meetings:room", pk=meeting.pk)
    if role != "member":
        raise Http404(NOT_FOUND)
    context = _meeting_context(request, meeting, role)
    form = LocationForm(request.POST) if context["needs_location"] else None
    if form is not None and not form.is_valid():
        context["location_form"] = form
        return render(request, "meetings/meeting_detail.html", context, status=400)
    state = form.cleaned_data["state"] if form is not None else None
    try:
        services.join_meeting(meeting=meeting, member=_user(request), state=state)
    except LocationNotServed:
        context["refused_state"] = state_name(state or "")
        context["refused_where"] = where(state or "")
        return render(request, "meetings/join_refused.html", context, status=403)
    except ConsentRequired as exc:
        messages.info(request, exc.message)
        agreements = reverse("enrollment:consents", kwargs={"cohort_id": meeting.cohort_id})
        return redirect(f"{agreements}?next={meeting.get_absolute_url()}")
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("meetings:detail", pk=meeting.pk)
    return redirect("meetings:room", pk=meeting.pk)


@login_required
@require_GET
def room(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, role = _meeting(request, pk)
    now = timezone.now()
    if role == "coordinator":
        raise Http404(NOT_FOUND)
    if not meeting.is_joinable_at(now):
        messages.info(request, "The meeting isn't open right now.")
        return redirect("meetings:detail", pk=meeting.pk)
    # The meeting page's join step (window, location, attendance) is the ticket into the room.
    access = room_access(_user(request), meeting.pk, now)
    if access is None:
        reason = why_not_in_room(_user(request), meeting)
        if reason:
            messages.info(request, reason)
        return redirect("meetings:detail", pk=meeting.pk)
    request.clinical = True  # type: ignore[attr-defined]
    return render(
        request,
        "live/room.html",
        {
            "meeting": meeting,
            "cohort": meeting.cohort,
            "access": access,
            # room.js's waits, in milliseconds (see settings.py).
            "timing": {
                "alive": round(settings.ROOM_PRESENCE_SEEN_SECONDS * 1000),
                "grace": round(settings.ROOM_GRACE_SECONDS * 1000),
                "answer": round(settings.ROOM_ANSWER_SECONDS * 1000),
            },
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def attendance(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, role = _meeting(request, pk)
    if role not in {"facilitator", "coordinator"}:
        raise Http404(NOT_FOUND)
    request.clinical = True  # type: ignore[attr-defined]
    rows = queries.roster(meeting)
    errors: list[str] = []
    entered: dict[int, str] = {}
    if request.method == "POST":
        wanted: list[tuple[User, str]] = []
        for member, mark in rows:
            value = request.POST.get(f"status-{member.pk}", "")
            if value == "":
                continue
            if value not in AttendanceStatus.values:
                errors.append(f"Choose a status for {member.display_name}.")
                continue
            entered[member.pk] = value
            if mark is None or mark.status != value:
                wanted.append((member, value))
        if not errors:
            try:
                saved = services.record_attendances(
                    meeting=meeting, marks=wanted, actor=_user(request)
                )
            except DomainError as exc:
                errors.append(exc.message)
                # Someone may have left meanwhile: show the roster as it is now, with the marks
                # the facilitator chose for those still in it.
                rows = queries.roster(meeting)
            else:
                if saved:
                    messages.success(request, "Attendance saved.")
                else:
                    messages.info(request, "Nothing changed, so there was nothing to save.")
                return redirect("meetings:attendance", pk=meeting.pk)
    shown = [
        (member, mark, entered.get(member.pk) or (mark.status if mark else ""))
        for member, mark in rows
    ]
    return render(
        request,
        "meetings/attendance.html",
        {
            "meeting": meeting,
            "cohort": meeting.cohort,
            "rows": shown,
            "choices": AttendanceStatus.choices,
            "refusals": queries.refused_attestations(meeting),
            "errors": errors,
            "is_open": meeting.status != MeetingStatus.CANCELLED
            and timezone.now() >= meeting.join_opens_at,
        },
        status=400 if errors else 200,
    )


@login_required
@require_safe
def groups(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not getattr(request, "staff_role", False):
        raise Http404(NOT_FOUND)
    return render(
        request, "meetings/groups.html", {"cohorts": list(queries.schedulable_cohorts(user))}
    )


@login_required
@require_safe
def cohort_schedule(request: HttpRequest, pk: int) -> HttpResponse:
    cohort = _staff_cohort(request, pk, leads_too=True)
    meetings = list(cohort.meetings.all())
    preview = None
    preview_error = None
    if not meetings and cohort.status == CohortStatus.CANCELLED:
        # Nothing to make: not a button that could only be refused.
        preview_error = services.CANCELLED_UNSCHEDULED
    elif not meetings:
        try:
            preview = services.planned_preview(cohort)
        except ValueError as exc:
            preview_error = str(exc)
    is_draft = cohort.status == CohortStatus.DRAFT
    if is_draft and preview and preview[0].utc <= timezone.now():
        preview_error = services.first_meeting_passed(cohort)
    return render(
        request,
        "meetings/cohort_schedule.html",
        {
            "cohort": cohort,
            "meetings": meetings,
            "preview": preview,
            "preview_error": preview_error,
            "rule": describe_rule(),
            "is_draft": is_draft,
            "can_change": _user(request).is_staff,
            "now": timezone.now(),
            "pattern_form": PatternForm(),
        },
    )


def _run(request: HttpRequest, action: Any, success: Any, target: str) -> HttpResponse:
    """Run ``action`` and say how it went; ``success`` is the words, or makes them from what
    ``action`` returned."""
    try:
        done = action()
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success(done) if callable(success) else success)
    return redirect(target)


def _clock_notes(meetings: list[Meeting], zone: str) -> str:
    """The dates among changed ``meetings`` on which the time asked for does not exist, or
    happens twice, and what the schedule's rule made of it, as a move says it."""
    said = ""
    for meeting in sorted(meetings, key=lambda m: m.starts_at):
        (row,) = preview(
            first_date=meeting.local_date, start=meeting.local_time, zone=zone, count=1
        )
        if row.note:
            said += f" {row.local:%a %-d %b}: {row.note}."
    return said


@login_required
@require_POST
def open_cohort(request: HttpRequest, pk: int) -> HttpResponse:
    cohort = _staff_cohort(request, pk)
    user = _user(request)
    if cohort.status == CohortStatus.DRAFT:
        action: Any = lambda: services.open_cohort(cohort=cohort, actor=user)  # noqa: E731
        success = "The group is open and its meetings are scheduled."
    else:
        action = lambda: services.create_meetings(cohort=cohort, actor=user)  # noqa: E731
        success = "The group's meetings are scheduled."
    return _run(request, action, success, reverse("meetings:schedule", kwargs={"pk": cohort.pk}))


def _unchangeable(request: HttpRequest, meeting: Meeting) -> HttpResponse | None:
    """Back to the schedule, saying why, for a meeting that can no longer be changed."""
    schedule = reverse("meetings:schedule", kwargs={"pk": meeting.cohort_id})
    if meeting.status == MeetingStatus.CANCELLED:
        messages.info(request, "This meeting is already cancelled.")
        return redirect(schedule)
    if meeting.ended_at is not None:
        messages.info(request, MeetingEnded.default_message)
        return redirect(schedule)
    if meeting.starts_at <= timezone.now():
        messages.info(request, "This meeting has already started, so it can't be changed now.")
        return redirect(schedule)
    return None


def _confirm(request: HttpRequest, meeting: Meeting, action: str) -> HttpResponse:
    """The page that asks before a change, unless the meeting can no longer be changed."""
    refused = _unchangeable(request, meeting)
    if refused is not None:
        return refused
    return render(
        request,
        "meetings/confirm_change.html",
        {"meeting": meeting, "cohort": meeting.cohort, "action": action},
    )


@login_required
@require_http_methods(["GET", "POST"])
def skip(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _staff_meeting(request, pk)
    if request.method == "GET":
        return _confirm(request, meeting, "skip")
    user = _user(request)
    seen = request.POST.get("sequence", "")
    return _run(
        request,
        lambda: services.skip_week(
            meeting=meeting, actor=user, seen_sequence=int(seen) if seen.isdecimal() else None
        ),
        lambda moved: (
            "That week is skipped; the later meetings are each a week later and members are "
            "told." + _clock_notes(moved, meeting.cohort.time_zone)
        ),
        reverse("meetings:schedule", kwargs={"pk": meeting.cohort_id}),
    )


@login_required
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _staff_meeting(request, pk)
    if request.method == "GET":
        return _confirm(request, meeting, "cancel")
    user = _user(request)
    return _run(
        request,
        lambda: services.cancel_meeting(meeting=meeting, actor=user),
        "The meeting is cancelled and members are told.",
        reverse("meetings:schedule", kwargs={"pk": meeting.cohort_id}),
    )


@login_required
@require_http_methods(["GET", "POST"])
def move(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _staff_meeting(request, pk)
    zone = meeting.cohort.time_zone
    if request.method == "POST":
        form = MoveForm(request.POST)
        if form.is_valid():
            try:
                services.move_meeting(
                    meeting=meeting,
                    local_date=form.cleaned_data["local_date"],
                    local_time=form.cleaned_data["local_time"],
                    actor=_user(request),
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                # Said at once: the time asked for may not exist, or happen twice, that day.
                (moved,) = preview(
                    first_date=form.cleaned_data["local_date"],
                    start=form.cleaned_data["local_time"],
                    zone=zone,
                    count=1,
                )
                said = "The meeting has moved and members are told."
                if moved.note:
                    said += f" {moved.note[0].upper()}{moved.note[1:]}."
                messages.success(request, said)
                return redirect("meetings:schedule", pk=meeting.cohort_id)
    else:
        # Not a form to fill in for a meeting that can't move: say so before, not after.
        refused = _unchangeable(request, meeting)
        if refused is not None:
            return refused
        form = MoveForm(
            initial={"local_date": meeting.local_date, "local_time": meeting.local_time}
        )
    return render(
        request,
        "meetings/move.html",
        {
            "meeting": meeting,
            "cohort": meeting.cohort,
            "form": form,
            "zone": zone,
            "rule": describe_rule(),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def change_pattern(request: HttpRequest, pk: int) -> HttpResponse:
    cohort = _staff_cohort(request, pk)
    form = PatternForm(request.POST)
    if form.is_valid():
        try:
            changed = services.change_pattern(
                cohort=cohort,
                from_date=form.cleaned_data["from_date"],
                start_time=form.cleaned_data["start_time"],
                actor=_user(request),
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                "The future meetings follow the new pattern; members are told."
                + _clock_notes(changed, cohort.time_zone),
            )
            return redirect("meetings:schedule", pk=cohort.pk)
    return render(
        request,
        "meetings/cohort_schedule.html",
        {
            "cohort": cohort,
            "meetings": list(cohort.meetings.all()),
            "rule": describe_rule(),
            "is_draft": False,
            "can_change": True,
            "now": timezone.now(),
            "pattern_form": form,
        },
        status=400,
    )
