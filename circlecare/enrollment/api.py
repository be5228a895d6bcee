"""A member's enrollments (join, withdraw, accept or decline an offer) and the staff rosters.

Handlers call the same services and queries as the "My groups" and roster pages. Another person's
enrollment, or a roster of a group someone does not run, answers 404 like a missing one.
"""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from django.db.models import Count
from django.http import Http404, HttpRequest
from ninja import Field, Path, Schema, Status
from ninja.pagination import paginate
from pydantic import StrictInt

from circlecare.api import AUTH, ERRORS, ID_MAX, ErrorOut, Input, Pagination, Router, require_scope
from circlecare.enrollment import queries, services, steps
from circlecare.enrollment.errors import StepRequired
from circlecare.enrollment.models import Enrollment
from circlecare.meetings.models import Attendance
from circlecare.meetings.weeks import first_start
from circlecare.programs.models import Cohort
from circlecare.programs.queries import joining_cohort

router = Router(auth=AUTH)


class GroupRef(Schema):
    id: int
    name: str
    program: str
    kind: str
    first_meeting_at: datetime
    time_zone: str
    status: str


class EnrollmentOut(Schema):
    id: int
    cohort: GroupRef
    status: str
    waiting_position: int | None = Field(None, description="Place on the waiting list (1 = next).")
    queued_at: datetime
    offer_expires_at: datetime | None
    confirmed_at: datetime | None
    ended_at: datetime | None


class JoinIn(Input):
    cohort_id: StrictInt = Field(..., ge=1, le=ID_MAX)


class WithdrawIn(Input):
    goodbye: str = Field("", max_length=1000, description="An optional goodbye to the group.")


class AttendanceCounts(Schema):
    attended: int = 0
    late: int = 0
    absent: int = 0
    excused: int = 0


class RosterEntryOut(Schema):
    enrollment_id: int
    display_name: str
    status: str
    waiting_position: int | None
    attendance: AttendanceCounts


class RunGroupOut(Schema):
    id: int
    name: str
    program: str
    status: str
    first_meeting_date: date
    capacity: int


def group_ref(cohort: Cohort) -> dict[str, Any]:
    return {
        "id": cohort.pk,
        "name": cohort.name or cohort.program.title,
        "program": cohort.program.slug,
        "kind": cohort.program.kind,
        "first_meeting_at": first_start(cohort),
        "time_zone": cohort.time_zone,
        "status": cohort.status,
    }


def enrollment_out(enrollment: Enrollment, position: int | None = None) -> dict[str, Any]:
    return {
        "id": enrollment.pk,
        "cohort": group_ref(enrollment.cohort),
        "status": enrollment.status,
        "waiting_position": position,
        "queued_at": enrollment.queued_at,
        "offer_expires_at": enrollment.offer_expires_at,
        "confirmed_at": enrollment.confirmed_at,
        "ended_at": enrollment.ended_at,
    }


def _own(request: HttpRequest, pk: int) -> Enrollment:
    enrollment = (
        Enrollment.objects.select_related("cohort", "cohort__program", "member")
        .filter(pk=pk, member_id=request.user.pk)
        .first()
    )
    if enrollment is None:
        raise Http404
    return enrollment


def _joinable_cohort(cohort_id: int) -> Cohort:
    """A cohort a visitor may see (as the group page), with what a join decides on."""
    try:
        return joining_cohort(cohort_id)
    except Cohort.DoesNotExist:
        raise Http404 from None


def _run_cohort(request: HttpRequest, cohort_id: int) -> Cohort:
    cohort = (
        Cohort.objects.select_related("program", "lead", "co_facilitator")
        .defer("lead__password", "co_facilitator__password")
        .filter(pk=cohort_id)
        .first()
    )
    if cohort is None or not (request.user.is_staff or cohort.is_led_by(request.user)):
        raise Http404
    return cohort


# --------------------------------------------------------------------------------------------------
# Members


@router.get(
    "",
    response={200: list[EnrollmentOut], ERRORS: ErrorOut},
    summary="My enrollments",
    description="Live places first (by start date), then past ones.",
)
@paginate(Pagination)
def list_enrollments(request: HttpRequest) -> Any:
    require_scope(request, "read")
    cards, past = queries.my_groups(request.user)
    return [enrollment_out(c.enrollment, c.position) for c in cards] + [
        enrollment_out(e) for e in past
    ]


@router.post(
    "",
    response={201: EnrollmentOut, ERRORS: ErrorOut},
    summary="Join a group",
    description=(
        "Takes a seat, or a place on the waiting list when the group is full. While a step "
        "before a seat is unmet (eligibility, agreements to sign, …) the answer is 409 with the "
        "step's code and message, and `detail.url` says where to complete it."
    ),
)
def join(request: HttpRequest, payload: JoinIn) -> Any:
    require_scope(request, "write")
    cohort = _joinable_cohort(payload.cohort_id)
    requirement = steps.first_unmet(request.user, cohort)
    if requirement is not None:
        error = StepRequired(requirement.message, detail={"url": requirement.url})
        error.code = requirement.code  # type: ignore[misc]
        raise error
    enrollment = services.enroll(member=request.user, cohort=cohort)
    return Status(201, enrollment_out(enrollment, queries.waiting_position(enrollment)))


# --------------------------------------------------------------------------------------------------
# Staff (declared before "/{enrollment_id}", which would otherwise take "/rosters")


@router.get(
    "/rosters",
    response={200: list[RunGroupOut], ERRORS: ErrorOut},
    summary="Groups whose roster I may open",
    description="The groups I lead or co-facilitate; every current group for a coordinator.",
)
@paginate(Pagination)
def list_rosters(request: HttpRequest) -> Any:
    require_scope(request, "read")
    return [
        {
            "id": c.pk,
            "name": c.name or c.program.title,
            "program": c.program.slug,
            "status": c.status,
            "first_meeting_date": c.first_meeting_date,
            "capacity": c.capacity,
        }
        for c in queries.cohorts_run_by(request.user)
    ]


@router.get(
    "/rosters/{cohort_id}",
    response={200: list[RosterEntryOut], ERRORS: ErrorOut},
    summary="A group's roster",
    description=(
        "Everyone in the group by display name with their status and attendance so far: "
        "confirmed, offered, the waiting list in its order, then those who left. For the group's "
        "lead, co-facilitator and coordinators."
    ),
)
@paginate(Pagination)
def get_roster(request: HttpRequest, cohort_id: int = Path(..., ge=1, le=ID_MAX)) -> Any:
    require_scope(request, "read")
    return _RosterOut(queries.RosterRows(_run_cohort(request, cohort_id)))


class _RosterOut(Sequence[dict[str, Any]]):
    """The roster's rows as the API shows them, with attendance counted for each slice's members
    only: the pagination reads one page, not the whole roster."""

    def __init__(self, rows: queries.RosterRows) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: Any) -> Any:
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        page = self.rows[index]
        counts: dict[int, dict[str, int]] = {}
        for member_id, status, n in (
            Attendance.objects.filter(
                meeting__cohort_id=self.rows.cohort_id, member_id__in=[e.member_id for _, e in page]
            )
            .values_list("member_id", "status")
            .annotate(n=Count("pk"))
            .order_by()
        ):
            counts.setdefault(member_id, {})[status] = n
        return [
            {
                "enrollment_id": e.pk,
                "display_name": e.member.display_name,
                "status": e.status,
                "waiting_position": place,
                "attendance": counts.get(e.member_id, {}),
            }
            for place, e in page
        ]


@router.get(
    "/{enrollment_id}", response={200: EnrollmentOut, ERRORS: ErrorOut}, summary="One enrollment"
)
def get_enrollment(request: HttpRequest, enrollment_id: int = Path(..., ge=1, le=ID_MAX)) -> Any:
    require_scope(request, "read")
    enrollment = _own(request, enrollment_id)
    return enrollment_out(enrollment, queries.waiting_position(enrollment))


@router.post(
    "/{enrollment_id}/withdraw",
    response={200: EnrollmentOut, ERRORS: ErrorOut},
    summary="Leave a group or its waiting list",
)
def withdraw(
    request: HttpRequest,
    enrollment_id: int = Path(..., ge=1, le=ID_MAX),
    payload: WithdrawIn | None = None,
) -> Any:
    require_scope(request, "write")
    # The goodbye is optional, and so is the body: leaving is asked like accepting or declining.
    goodbye = payload.goodbye if payload is not None else ""
    enrollment = services.withdraw(
        enrollment=_own(request, enrollment_id), actor=request.user, goodbye=goodbye
    )
    return enrollment_out(enrollment)


@router.post(
    "/{enrollment_id}/accept",
    response={200: EnrollmentOut, ERRORS: ErrorOut},
    summary="Accept an offered seat",
)
def accept(request: HttpRequest, enrollment_id: int = Path(..., ge=1, le=ID_MAX)) -> Any:
    require_scope(request, "write")
    enrollment = services.accept_offer(enrollment=_own(request, enrollment_id), actor=request.user)
    return enrollment_out(enrollment)


@router.post(
    "/{enrollment_id}/decline",
    response={200: EnrollmentOut, ERRORS: ErrorOut},
    summary="Decline an offered seat",
)
def decline(request: HttpRequest, enrollment_id: int = Path(..., ge=1, le=ID_MAX)) -> Any:
    require_scope(request, "write")
    enrollment = services.decline_offer(enrollment=_own(request, enrollment_id), actor=request.user)
    return enrollment_out(enrollment)
