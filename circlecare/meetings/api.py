"""My meetings, one meeting, my calendar link; attendance for a group's facilitators and coordinators.

Handlers call the same services and queries as the meetings pages. A meeting someone may not see
answers 404, exactly like a missing one.
"""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Field, Path, Schema, Status
from ninja.pagination import paginate
from pydantic import StrictInt

from circlecare.accounts.http import signed_in as _user
from circlecare.accounts.models import User
from circlecare.api import AUTH, ERRORS, ID_MAX, ErrorOut, Input, Pagination, Router, require_scope
from circlecare.meetings import calendar, queries, services
from circlecare.meetings.models import Attendance, AttendanceStatus, Meeting

router = Router(auth=AUTH)


class MeetingGroupRef(Schema):
    id: int
    name: str
    program: str
    time_zone: str


class MeetingOut(Schema):
    id: int
    group: MeetingGroupRef
    number: int = Field(..., description="The programme week this meeting covers.")
    starts_at: datetime
    ends_at: datetime = Field(..., description="When it is planned to end.")
    ended_at: datetime | None = Field(
        ..., description="When its leader ended it for everyone, if they did; null otherwise."
    )
    status: str
    window: str = Field(..., description="before, open, ended or cancelled (join window).")
    role: str = Field(
        ...,
        description=(
            "How I take part: member; facilitator (I lead or co-lead it: a therapy group's "
            "clinician too); or coordinator."
        ),
    )
    my_attendance: str | None = None
    url: str = Field(..., description="The meeting's page, where members join.")


class CalendarFeedOut(Schema):
    active: bool
    created_at: datetime | None = None
    last_used_at: datetime | None = None


class NewCalendarFeedOut(Schema):
    url: str = Field(..., description="The secret feed address; shown this once.")


class AttendanceOut(Schema):
    member_id: int
    display_name: str
    status: str | None
    recorded_at: datetime | None


class AttendanceIn(Input):
    member_id: StrictInt = Field(..., ge=1, le=ID_MAX)
    status: AttendanceStatus


def _group(meeting: Meeting) -> dict[str, Any]:
    cohort = meeting.cohort
    return {
        "id": cohort.pk,
        "name": cohort.name or cohort.program.title,
        "program": cohort.program.slug,
        "time_zone": cohort.time_zone,
    }


def meeting_out(
    meeting: Meeting, role: str, attendance: Attendance | None, now: datetime
) -> dict[str, Any]:
    return {
        "id": meeting.pk,
        "group": _group(meeting),
        "number": meeting.number,
        "starts_at": meeting.starts_at,
        "ends_at": meeting.ends_at,
        "ended_at": meeting.ended_at,
        "status": meeting.status,
        "window": meeting.window_state(now),
        "role": role,
        "my_attendance": attendance.status if attendance is not None else None,
        "url": f"{settings.SITE_URL}{meeting.get_absolute_url()}",
    }


def _visible(request: HttpRequest, pk: int) -> tuple[Meeting, str]:
    found = queries.meeting_for_viewer(pk, _user(request))
    if found is None:
        raise Http404
    return found


def _staff_meeting(request: HttpRequest, pk: int) -> Meeting:
    meeting, role = _visible(request, pk)
    if role not in {"facilitator", "coordinator"}:
        raise Http404
    return meeting


def _attendance_out(member: User, mark: Attendance | None) -> dict[str, Any]:
    return {
        "member_id": member.pk,
        "display_name": member.display_name,
        "status": mark.status if mark is not None else None,
        "recorded_at": mark.at if mark is not None else None,
    }


# --------------------------------------------------------------------------------------------------
# Members


@router.get(
    "",
    response={200: list[MeetingOut], ERRORS: ErrorOut},
    summary="My meetings",
    description=(
        "Meetings of the groups I have a seat in, and of the groups I lead, by start time. "
        "`upcoming=true` keeps the ones that have not ended; `false` the past ones."
    ),
)
@paginate(Pagination)
def list_meetings(request: HttpRequest, upcoming: bool | None = None) -> Any:
    require_scope(request, "read")
    user = _user(request)
    now = timezone.now()
    marks = queries.member_attendance(user)
    rows = [(m, "member") for m in queries.meetings_for_member(user)]
    # Asked of everyone: a clinician may help lead a group without being marked a facilitator
    # or leading one of their own (and the query costs no more than asking whether they do).
    seen = {m.pk for m, _ in rows}
    rows += [(m, "facilitator") for m in queries.meetings_led_by(user) if m.pk not in seen]
    rows.sort(key=lambda row: (row[0].starts_at, row[0].pk))
    if upcoming is not None:
        rows = [(m, r) for m, r in rows if (not m.is_over_at(now)) == upcoming]
    return [meeting_out(m, r, marks.get(m.pk), now) for m, r in rows]


@router.get(
    "/calendar",
    response={200: CalendarFeedOut, ERRORS: ErrorOut},
    summary="My calendar link",
    description="Whether my calendar feed is on. The address itself is shown only when made.",
)
def get_calendar_feed(request: HttpRequest) -> Any:
    require_scope(request, "read")
    feed = queries.active_feed(_user(request))
    if feed is None:
        return {"active": False}
    return {"active": True, "created_at": feed.created_at, "last_used_at": feed.last_used_at}


@router.post(
    "/calendar",
    response={201: NewCalendarFeedOut, ERRORS: ErrorOut},
    summary="Make a new calendar link",
    description="Replaces any earlier link (calendars using it stop updating).",
)
def create_calendar_feed(request: HttpRequest) -> Any:
    require_scope(request, "write")
    token = services.create_calendar_feed(member=_user(request))
    return Status(201, {"url": calendar.feed_url(token)})


@router.delete(
    "/calendar",
    response={204: None, ERRORS: ErrorOut},
    summary="Switch off my calendar link",
)
def revoke_calendar_feed(request: HttpRequest) -> Any:
    require_scope(request, "write")
    services.revoke_calendar_feed(member=_user(request))
    return Status(204, None)


@router.get("/{meeting_id}", response={200: MeetingOut, ERRORS: ErrorOut}, summary="One meeting")
def get_meeting(request: HttpRequest, meeting_id: int = Path(..., ge=1, le=ID_MAX)) -> Any:
    require_scope(request, "read")
    meeting, role = _visible(request, meeting_id)
    mark = queries.attendance_of(meeting, _user(request)) if role == "member" else None
    return meeting_out(meeting, role, mark, timezone.now())


# --------------------------------------------------------------------------------------------------
# Staff


@router.get(
    "/{meeting_id}/attendance",
    response={200: list[AttendanceOut], ERRORS: ErrorOut},
    summary="Attendance at a meeting",
    description="The group's members by display name with their mark (for facilitators and "
    "coordinators).",
)
@paginate(Pagination)
def get_attendance(request: HttpRequest, meeting_id: int = Path(..., ge=1, le=ID_MAX)) -> Any:
    require_scope(request, "read")
    meeting = _staff_meeting(request, meeting_id)
    return [_attendance_out(member, mark) for member, mark in queries.roster(meeting)]


@router.post(
    "/{meeting_id}/attendance",
    response={200: AttendanceOut, ERRORS: ErrorOut},
    summary="Record one member's attendance",
    description="Once the meeting has opened; not for a cancelled meeting.",
)
def record_attendance(
    request: HttpRequest, payload: AttendanceIn, meeting_id: int = Path(..., ge=1, le=ID_MAX)
) -> Any:
    require_scope(request, "write")
    meeting = _staff_meeting(request, meeting_id)
    member = User.objects.filter(pk=payload.member_id).first()
    if member is None:
        raise Http404
    mark = services.record_attendance(
        meeting=meeting, member=member, status=payload.status, actor=_user(request)
    )
    return _attendance_out(member, mark)
