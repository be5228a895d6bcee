"""Reads shared by the measures pages, each a fixed number of queries."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery

from circlecare.enrollment.models import Enrollment, EnrollmentStatus
from circlecare.measures.instruments.checkin import LOW_ITEM_AT_OR_BELOW, fell_sharply
from circlecare.measures.models import Assessment, AssessmentStatus, Occasion, RiskAlert
from circlecare.measures.plans import CHECKIN_CODE, intake_codes, weekly_codes
from circlecare.measures.tracking import (
    FLAG_LABELS,
    FLAG_ORDER,
    Trajectory,
    trajectories,
    worst_flag,
)
from circlecare.meetings.models import Meeting
from circlecare.programs.models import Cohort

#: Enrollment statuses shown on a clinician's overview (everyone who held a seat).
_ROSTER = (
    EnrollmentStatus.CONFIRMED,
    EnrollmentStatus.COMPLETED,
    EnrollmentStatus.WITHDRAWN,
    EnrollmentStatus.REMOVED,
)


#: A questionnaire names its group's programme; the programme's long texts stay in the database.
_PROGRAM_TEXTS = ("cohort__program__description", "cohort__program__audience")


def due_for_member(member: Any, cohort: Cohort | None = None) -> QuerySet[Assessment]:
    qs = (
        Assessment.objects.select_related("cohort__program")
        .defer(*_PROGRAM_TEXTS)
        .filter(member=member, status=AssessmentStatus.DUE)
    )
    if cohort is not None:
        qs = qs.filter(cohort=cohort)
    return qs.order_by("due_at", "pk")


def checkin_meeting(assessment: Assessment) -> Meeting | None:
    """The meeting an after-meeting check-in asks about (its group's meeting of that week), or
    None for any other questionnaire (one query for a check-in, none otherwise)."""
    if assessment.occasion != Occasion.CHECKIN:
        return None
    return (
        Meeting.objects.filter(cohort_id=assessment.cohort_id, number=assessment.meeting_week)
        .only("starts_at", "number")
        .first()
    )


def member_history(member: Any) -> QuerySet[Assessment]:
    return (
        Assessment.objects.select_related("cohort__program")
        .defer(*_PROGRAM_TEXTS)
        .filter(member=member, status=AssessmentStatus.COMPLETED)
        .order_by("completed_at", "pk")
    )


def led_cohort(user: Any, cohort_pk: int) -> Cohort | None:
    """The cohort if ``user`` leads or co-facilitates it; None otherwise (the view answers 404)."""
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        Cohort.objects.select_related("program", "lead", "co_facilitator")
        .defer("lead__password", "co_facilitator__password")
        .filter(pk=cohort_pk)
        .filter(Q(lead=user) | Q(co_facilitator=user))
        .first()
    )


def led_cohorts(user: Any) -> QuerySet[Cohort]:
    return (
        Cohort.objects.select_related("program")
        .filter(Q(lead=user) | Q(co_facilitator=user))
        .order_by("-first_meeting_date", "pk")
    )


@dataclass(frozen=True)
class MemberRow:
    enrollment: Enrollment
    trajectories: list[Trajectory]
    flag: str
    checkins: list[Assessment]

    @property
    def member(self) -> Any:
        return self.enrollment.member

    @property
    def flag_label(self) -> str:
        return FLAG_LABELS[self.flag]

    @property
    def checkin_low(self) -> bool:
        if not self.checkins:
            return False
        last = self.checkins[-1]
        low_line = any(a <= LOW_ITEM_AT_OR_BELOW for a in last.answer_list)
        dropped = len(self.checkins) >= 2 and fell_sharply(
            self.checkins[-2].total or 0, last.total or 0
        )
        return low_line or "low" in (last.flags or []) or dropped


def cohort_overview(cohort: Cohort) -> list[MemberRow]:
    """Every member who held a seat, with their trajectories, sorted by flag (two queries).

    Someone who left and joined again is shown by their latest seat, not the one that ended. A
    place on the waiting list that ended (left, an offer declined or lapsed) was never a seat:
    whoever only had those is not listed."""
    enrollments = list(
        Enrollment.objects.select_related("member")
        .defer("member__password")
        .filter(cohort=cohort, status__in=_ROSTER, confirmed_at__isnull=False)
        .order_by("member__display_name", "member_id", "-pk")
    )
    rows = Assessment.objects.filter(cohort=cohort, status=AssessmentStatus.COMPLETED).order_by(
        "completed_at", "pk"
    )
    by_member: dict[int, list[Assessment]] = defaultdict(list)
    for row in rows:
        by_member[row.member_id].append(row)
    # The plan's questionnaires and the intake's (asked whatever the plan asks weekly), so that
    # a risk answer at intake puts its member first.
    codes = tuple(
        dict.fromkeys([*weekly_codes(cohort.program), *intake_codes(cohort.program.kind)])
    )
    weeks = cohort.program.weeks
    result = []
    seen: set[int] = set()
    for enrollment in enrollments:
        if enrollment.member_id in seen:
            continue
        seen.add(enrollment.member_id)
        mine = by_member.get(enrollment.member_id, [])
        tracks = trajectories(mine, weeks=weeks, codes=codes)
        checkins = [r for r in mine if r.instrument == CHECKIN_CODE]
        result.append(
            MemberRow(
                enrollment=enrollment,
                trajectories=tracks,
                flag=worst_flag(tracks),
                checkins=checkins,
            )
        )
    result.sort(key=lambda r: (FLAG_ORDER[r.flag], r.member.display_name.lower()))
    return result


#: Places still waiting for a seat: on the waiting list, or offered a seat not yet taken.
_WAITING = (EnrollmentStatus.WAITLISTED, EnrollmentStatus.OFFERED)


def waiting_with_intake(cohort: Cohort) -> list[Enrollment]:
    """Members waiting for a seat in ``cohort`` who have answered its questionnaires (so their
    chart opens, see ``member_in_cohort``), in waiting-list order, each annotated with
    ``answered_at``, when they first answered. One query."""
    answered = Assessment.objects.filter(
        cohort=cohort, member_id=OuterRef("member_id"), status=AssessmentStatus.COMPLETED
    ).order_by("completed_at", "pk")
    return list(
        Enrollment.objects.select_related("member")
        .defer("member__password")
        .filter(cohort=cohort, status__in=_WAITING)
        .annotate(answered_at=Subquery(answered.values("completed_at")[:1]))
        .filter(answered_at__isnull=False)
        .order_by(*Enrollment.WAITING_ORDER)
    )


@dataclass(frozen=True)
class CheckinWeek:
    week: int
    n: int
    average: float
    low: int


def _half_up(total: int, n: int) -> float:
    """``total / n`` to one decimal, a half upwards as people round (27.25 is 27.3), from the
    exact value: Python's ``round`` sends a tie to the even digit (27.2), as ``Rate`` says."""
    return math.floor(Fraction(10 * total, n) + Fraction(1, 2)) / 10


def checkin_trends(cohort: Cohort) -> list[CheckinWeek]:
    """Average check-in total per meeting week, and how many were low (one query)."""
    rows = Assessment.objects.filter(
        cohort=cohort,
        instrument=CHECKIN_CODE,
        occasion=Occasion.CHECKIN,
        status=AssessmentStatus.COMPLETED,
    ).values_list("meeting_week", "total", "flags")
    weeks: dict[int, list[tuple[int, bool]]] = defaultdict(list)
    for week, total, flags in rows:
        weeks[week].append((total or 0, "low" in (flags or [])))
    return [
        CheckinWeek(
            week=week,
            n=len(items),
            average=_half_up(sum(t for t, _ in items), len(items)),
            low=sum(1 for _, low in items if low),
        )
        for week, items in sorted(weeks.items())
    ]


#: An alert names its member and who took it on; their password hashes stay in the database.
ALERT_PEOPLE_HASHES = ("member__password", "assignee__password", "acknowledged_by__password")


def alert_queue(user: Any) -> QuerySet[RiskAlert]:
    """Alerts the user may handle: their cohorts' (lead or co-facilitator); all for coordinators."""
    qs = (
        RiskAlert.objects.select_related("member", "cohort__program", "assignee", "acknowledged_by")
        .defer(*ALERT_PEOPLE_HASHES)
        # Open ones (not acknowledged) first on every database: PostgreSQL would sort them last.
        .order_by(F("acknowledged_at").asc(nulls_first=True), "-raised_at", "pk")
    )
    if user.is_staff:
        return qs
    return qs.filter(Q(cohort__lead=user) | Q(cohort__co_facilitator=user))


def open_alerts(user: Any) -> QuerySet[RiskAlert]:
    """The user's alerts still waiting for someone to act, the one that has waited longest
    first: a page that lists only some of them never leaves out the longest wait."""
    return alert_queue(user).filter(acknowledged_at__isnull=True).order_by("raised_at", "pk")


def member_in_cohort(cohort: Cohort, member_pk: int) -> Any | None:
    """A member whose scores in ``cohort`` its leads may see, or None: anyone who held a seat in
    it, and anyone who answered its questionnaires or raised an alert in it without one (the
    intake is answered before a seat is taken, or while on the waiting list)."""
    held_seat = Enrollment.objects.filter(
        cohort=cohort, member_id=OuterRef("pk"), status__in=_ROSTER
    )
    answered = Assessment.objects.filter(
        cohort=cohort, member_id=OuterRef("pk"), status=AssessmentStatus.COMPLETED
    )
    alerted = RiskAlert.objects.filter(cohort=cohort, member_id=OuterRef("pk"))
    return (
        get_user_model()
        .objects.defer("password")
        .filter(pk=member_pk)
        .filter(Exists(held_seat) | Exists(answered) | Exists(alerted))
        .first()
    )


def standing_in_cohort(cohort_id: int, member_id: int) -> Enrollment | None:
    """The member's latest place in a cohort (a seat, the waiting list, or one that ended)."""
    return (
        Enrollment.objects.filter(cohort_id=cohort_id, member_id=member_id).order_by("-pk").first()
    )
