from __future__ import annotations

from datetime import datetime

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from circlecare.meetings.schedule import meeting_times
from circlecare.practice.eligibility import last_meeting_day
from circlecare.practice.queries import licensed_states
from circlecare.programs import queries
from circlecare.programs.models import Cohort, Focus, Program, ProgramKind
from circlecare.states import join_names


def home(request: HttpRequest) -> HttpResponse:
    programs = queries.catalog()
    return render(
        request,
        "programs/home.html",
        {"programs": programs, "kinds": ProgramKind},
    )


def program_list(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    focus = request.GET.get("focus", "")
    # Unknown filter values are ignored rather than refused: a stale link still shows every group.
    kind = kind if kind in ProgramKind.values else ""
    focus = focus if focus in Focus.values else ""
    programs = queries.catalog(kind=kind or None, focus=focus or None)
    context = {
        "programs": programs,
        "kind": kind,
        "focus": focus,
        "kind_choices": ProgramKind.choices,
        "focus_choices": Focus.choices,
    }
    template = "programs/_program_results.html" if request.htmx else "programs/program_list.html"  # type: ignore[attr-defined]
    return render(request, template, context)


def served_states_label(cohort: Cohort) -> str:
    if not cohort.program.is_therapy:
        return "Open to members in every state and abroad."
    clinician = getattr(cohort.lead, "clinician", None)
    states = licensed_states(clinician, cohort.first_meeting_date, last_meeting_day(cohort))
    if not states:
        return "This group is not taking members from any state right now."
    return f"Serves residents of {join_names(states)}."


def decorate(cohort: Cohort) -> list[tuple[int, datetime]]:
    """Attach what cohort templates show: who may join, and when it first meets. Returns the
    meetings still to be held as (programme week, start): a cancelled week is left out, and the
    others keep their week's number."""
    stored = getattr(cohort, "scheduled_meetings", None)
    weeks = (
        [(m.number, m.starts_at) for m in stored]
        if stored
        else list(enumerate(meeting_times(cohort), start=1))
    )
    cohort.served_label = served_states_label(cohort)  # type: ignore[attr-defined]
    cohort.first_start = weeks[0][1]  # type: ignore[attr-defined]
    return weeks


def program_detail(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        program = queries.program_detail(slug)
    except Program.DoesNotExist:
        raise Http404("No such program") from None
    cohorts = program.upcoming_cohorts  # type: ignore[attr-defined]
    for cohort in cohorts:
        decorate(cohort)
    return render(request, "programs/program_detail.html", {"program": program, "cohorts": cohorts})


def cohort_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        cohort = queries.cohort_detail(pk)
    except Cohort.DoesNotExist:
        raise Http404("No such group") from None
    schedule = decorate(cohort)
    if cohort.has_ended:
        # Its weeks are no meetings to come: cancelled, they will not be held (with none stored
        # they would be worked out afresh from its calendar); finished, they are all past.
        schedule = []
    return render(
        request,
        "programs/cohort_detail.html",
        {"cohort": cohort, "program": cohort.program, "schedule": schedule},
    )
