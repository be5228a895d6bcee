"""Reads about meetings that pages, feeds and other apps share; each runs a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from circlecare import states
from circlecare.accounts.models import User
from circlecare.enrollment.models import (
    GROUP_CANCELLED,
    Enrollment,
    EnrollmentStatus,
    seat_held_during,
)
from circlecare.meetings.models import (
    Attendance,
    CalendarFeed,
    LocationAttestation,
    Meeting,
    MeetingStatus,
    hash_token,
    over_by,
)
from circlecare.programs.models import ENDED, Cohort

#: Enrollment statuses whose members see the cohort's meetings.
MEMBER_STATUSES = (EnrollmentStatus.CONFIRMED, EnrollmentStatus.COMPLETED)
#: How far back a calendar feed reaches.
FEED_HISTORY = timedelta(days=60)


def _with_cohort(qs: QuerySet[Meeting]) -> QuerySet[Meeting]:
    return qs.select_related("cohort__program", "cohort__lead", "cohort__co_facilitator").defer(
        "cohort__lead__password", "cohort__co_facilitator__password"
    )


def meetings_for_member(member: User) -> QuerySet[Meeting]:
    """Meetings of every cohort the member has a confirmed (or completed) seat in, by time."""
    cohort_ids = Enrollment.objects.filter(member=member, status__in=MEMBER_STATUSES).values(
        "cohort_id"
    )
    return _with_cohort(Meeting.objects.filter(cohort_id__in=cohort_ids)).order_by(
        "starts_at", "pk"
    )


def meetings_led_by(user: User) -> QuerySet[Meeting]:
    return _with_cohort(
        Meeting.objects.filter(Q(cohort__lead=user) | Q(cohort__co_facilitator=user))
    ).order_by("starts_at", "pk")


def next_meeting(cohort: Cohort, now: datetime | None = None) -> Meeting | None:
    """The cohort's next scheduled meeting that has not ended yet, at its time or by a
    facilitator ending it early (one query)."""
    now = now or timezone.now()
    return (
        Meeting.objects.filter(
            cohort=cohort,
            status__in=[MeetingStatus.SCHEDULED, MeetingStatus.HELD],
        )
        .exclude(over_by(now))
        .order_by("starts_at", "pk")
        .first()
    )


def viewer_role(meeting: Meeting, user: User) -> str | None:
    """ "facilitator", "coordinator", "member", or None for anyone who may not see the meeting."""
    if not user.is_authenticated or not user.is_active:
        return None
    if meeting.cohort.is_led_by(user):
        return "facilitator"
    if user.is_staff:
        return "coordinator"
    if Enrollment.objects.filter(
        member=user, cohort_id=meeting.cohort_id, status__in=MEMBER_STATUSES
    ).exists():
        return "member"
    return None


def meeting_for_viewer(pk: int, user: User) -> tuple[Meeting, str] | None:
    meeting = _with_cohort(Meeting.objects.filter(pk=pk)).first()
    if meeting is None:
        return None
    role = viewer_role(meeting, user)
    if role is None:
        return None
    return meeting, role


def attendance_of(meeting: Meeting, member: User) -> Attendance | None:
    return Attendance.objects.filter(meeting=meeting, member=member).first()


def latest_attestation(meeting: Meeting, member: User) -> LocationAttestation | None:
    return (
        LocationAttestation.objects.filter(meeting=meeting, member=member)
        .order_by("-at", "-pk")
        .first()
    )


def roster_members(meeting: Meeting) -> QuerySet[User]:
    """Who belongs on ``meeting``'s attendance sheet: everyone who held a seat in the group at
    the meeting's time (confirmed before it was over, not ended before it started), and anyone
    already marked for it. So someone who later left keeps their place on the sheets of the
    meetings they had a seat for, and someone who joined afterwards is on none of them."""
    held_seat = Enrollment.objects.filter(
        seat_held_during(meeting.starts_at, meeting.over_at),
        member=OuterRef("pk"),
        cohort_id=meeting.cohort_id,
    )
    marked = Attendance.objects.filter(member=OuterRef("pk"), meeting_id=meeting.pk)
    return User.objects.filter(Exists(held_seat) | Exists(marked))


def roster(meeting: Meeting) -> list[tuple[User, Attendance | None]]:
    """The meeting's attendance sheet (``roster_members``), each with their mark (two queries)."""
    members = list(roster_members(meeting).defer("password").order_by("display_name", "pk"))
    marks = {a.member_id: a for a in Attendance.objects.filter(meeting=meeting)}
    return [(member, marks.get(member.pk)) for member in members]


@dataclass(frozen=True)
class Refusal:
    """A refused join: who, where they said they were and when; ``later_where`` ("in New York")
    once the same member later said they were somewhere the lead may serve them, for that
    meeting, which settles it."""

    member: User
    where: str
    at: datetime
    later_where: str | None


@dataclass(frozen=True)
class RefusedJoins:
    #: Refusals nobody has seen settled yet: the facilitator follows these up.
    follow_up: list[Refusal]
    #: Refusals the member settled by joining (or saying they were) somewhere allowed afterwards.
    resolved: list[Refusal]

    def __bool__(self) -> bool:
        return bool(self.follow_up or self.resolved)


def refused_attestations(meeting: Meeting) -> RefusedJoins:
    """The meeting's refused joins, newest first, each settled or not (one query)."""
    later_allowed = LocationAttestation.objects.filter(
        meeting_id=meeting.pk, member_id=OuterRef("member_id"), allowed=True
    ).filter(Q(at__gt=OuterRef("at")) | Q(at=OuterRef("at"), pk__gt=OuterRef("pk")))
    rows = (
        LocationAttestation.objects.filter(meeting=meeting, allowed=False)
        .annotate(later_state=Subquery(later_allowed.order_by("at", "pk").values("state")[:1]))
        .select_related("member")
        .defer("member__password")
        .order_by("-at", "-pk")
    )
    refusals = [
        Refusal(
            member=row.member,
            where=row.where,
            at=row.at,
            later_where=states.where(row.later_state) if row.later_state else None,
        )
        for row in rows
    ]
    return RefusedJoins(
        follow_up=[r for r in refusals if r.later_where is None],
        resolved=[r for r in refusals if r.later_where is not None],
    )


def cohort_schedule(cohort_pk: int) -> Cohort | None:
    return (
        Cohort.objects.select_related("program", "lead", "co_facilitator")
        .defer("lead__password", "co_facilitator__password")
        .prefetch_related(
            Prefetch("meetings", queryset=Meeting.objects.order_by("starts_at", "pk"))
        )
        .filter(pk=cohort_pk)
        .first()
    )


def member_attendance(member: User) -> dict[int, Attendance]:
    """The member's attendance marks, by meeting id."""
    return {a.meeting_id: a for a in Attendance.objects.filter(member=member)}


def feed_by_token(token: str) -> CalendarFeed | None:
    if not token or len(token) > 100:
        return None
    return (
        CalendarFeed.objects.select_related("member")
        .defer("member__password")
        .filter(token_hash=hash_token(token), revoked_at__isnull=True, member__is_active=True)
        .first()
    )


def feed_meetings(member: User, now: datetime | None = None) -> list[Meeting]:
    """What someone's calendar feed carries: the meetings of the groups they have a seat in and
    of the groups they lead, and those of a group the practice cancelled while they had a seat
    in it (marked cancelled, so a calendar that copied them takes them off). A cancelled group
    adds nothing for someone who was only waiting or offered a seat: they never had its meetings."""
    now = now or timezone.now()
    theirs = Enrollment.objects.filter(
        Q(status__in=MEMBER_STATUSES)
        | Q(
            status=EnrollmentStatus.REMOVED,
            end_reason=GROUP_CANCELLED,
            confirmed_at__isnull=False,
        ),
        member=member,
    ).values("cohort_id")
    return list(
        _with_cohort(
            Meeting.objects.filter(
                Q(cohort_id__in=theirs) | Q(cohort__lead=member) | Q(cohort__co_facilitator=member),
                ends_at__gte=now - FEED_HISTORY,
            )
        ).order_by("starts_at", "pk")
    )


def active_feed(member: User) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(member=member, revoked_at__isnull=True).first()


def schedulable_cohorts(user: User) -> QuerySet[Cohort]:
    """Cohorts whose schedule pages `user` may open: all for coordinators, their own for leads."""
    qs = (
        Cohort.objects.select_related("program", "lead")
        .defer("lead__password")
        .annotate(meeting_count=Count("meetings"))
    )
    if not user.is_staff:
        qs = qs.filter(Q(lead=user) | Q(co_facilitator=user))
    return qs.exclude(status__in=ENDED).order_by("first_meeting_date", "pk")
