"""Public catalog endpoints: programs and the groups that are open for joining."""

from datetime import date, datetime
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Field, Schema
from ninja.pagination import paginate

from circlecare.api import PUBLIC_ERRORS, ErrorOut, Pagination, Router
from circlecare.meetings.weeks import first_start
from circlecare.programs import queries
from circlecare.programs.models import Cohort, Focus, Program, ProgramKind
from circlecare.programs.views import served_states_label

router = Router()


class WeekOut(Schema):
    number: int
    module: str
    topic: str
    skill: str
    practice: str


class ProgramOut(Schema):
    slug: str
    kind: str
    title: str
    focus: str
    summary: str
    weeks: int
    minutes_per_meeting: int
    for_couples: bool


class ProgramDetailOut(ProgramOut):
    description: str
    audience: str
    curriculum: list[WeekOut]


class CohortOut(Schema):
    id: int
    program: str
    kind: str
    name: str
    lead: str
    first_meeting_date: date
    start_time: str = Field(
        ...,
        pattern=r"^\d{2}:\d{2}:\d{2}$",
        description="Wall-clock start in the group's time_zone.",
    )
    time_zone: str
    first_meeting_at: datetime
    capacity: int
    seats_left: int
    for_couples: bool
    couples_left: int | None = Field(
        ...,
        description=(
            "For a group for couples: how many more couples can take seats together now (two "
            "seats each); 0 means a couple joining now goes on the waiting list. "
            "Null for other groups."
        ),
    )
    status: str
    who_can_join: str


def cohort_out(cohort: Cohort) -> dict[str, Any]:
    return {
        "id": cohort.pk,
        "program": cohort.program.slug,
        "kind": cohort.program.kind,
        "name": cohort.name or cohort.program.title,
        "lead": cohort.lead.display_name,
        "first_meeting_date": cohort.first_meeting_date,
        "start_time": cohort.start_time.strftime("%H:%M:%S"),
        "time_zone": cohort.time_zone,
        "first_meeting_at": first_start(cohort),
        "capacity": cohort.capacity,
        "seats_left": cohort.seats_left,
        "for_couples": cohort.program.for_couples,
        "couples_left": cohort.couples_left if cohort.program.for_couples else None,
        "status": cohort.status,
        "who_can_join": served_states_label(cohort),
    }


@router.get(
    "programs",
    response={200: list[ProgramOut], PUBLIC_ERRORS: ErrorOut},
    auth=None,
    summary="Published programs",
)
@paginate(Pagination)
def list_programs(
    request: HttpRequest, kind: ProgramKind | None = None, focus: Focus | None = None
) -> Any:
    return queries.program_list(kind=kind, focus=focus)


@router.get(
    "programs/{slug}",
    response={200: ProgramDetailOut, PUBLIC_ERRORS: ErrorOut},
    auth=None,
    summary="One program",
)
def get_program(request: HttpRequest, slug: str) -> Any:
    try:
        program = queries.program_detail(slug)
    except Program.DoesNotExist:
        raise Http404 from None
    program.curriculum_list = list(program.curriculum.all())  # type: ignore[attr-defined]
    return {
        **{f: getattr(program, f) for f in ProgramOut.model_fields},
        "description": program.description,
        "audience": program.audience,
        "curriculum": program.curriculum_list,  # type: ignore[attr-defined]
    }


@router.get(
    "cohorts",
    response={200: list[CohortOut], PUBLIC_ERRORS: ErrorOut},
    auth=None,
    summary="Groups open for joining",
)
@paginate(Pagination)
def list_cohorts(request: HttpRequest, program: str | None = None) -> Any:
    cohorts = queries.public_cohorts()
    if program:
        cohorts = cohorts.filter(program__slug=program[:80])
    return [cohort_out(c) for c in cohorts]


@router.get(
    "cohorts/{cohort_id}",
    response={200: CohortOut, PUBLIC_ERRORS: ErrorOut},
    auth=None,
    summary="One group",
)
def get_cohort(request: HttpRequest, cohort_id: int) -> Any:
    try:
        return cohort_out(queries.cohort_detail(cohort_id))
    except (Cohort.DoesNotExist, OverflowError):
        raise Http404 from None
