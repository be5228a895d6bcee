"""Reads for "My groups", the cohort page's next step and the staff roster (fixed query counts)."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, overload

from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    Count,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Coalesce
from django.utils import timezone

from circlecare.enrollment import steps
from circlecare.enrollment.consents import current_documents, required_kinds
from circlecare.enrollment.models import (
    LIVE,
    ConsentDocument,
    ConsentKind,
    Enrollment,
    EnrollmentStatus,
    PartnerInvite,
    PartnerInviteStatus,
    removed_by_practice,
)
from circlecare.meetings.weeks import first_start
from circlecare.practice import eligibility
from circlecare.prebuilt import PreparedRead, prebuilt
from circlecare.programs.models import ENDED, Cohort
from circlecare.programs.queries import with_seats


def waiting_positions(cohort_ids: list[int]) -> dict[int, int]:
    """Enrollment id → place on its cohort's waiting list (1 = next), for whole lists. One query.

    A couple waits as one place (they are offered two seats at once): both partners have its
    number, and it counts once for those behind them."""
    rows = (
        Enrollment.objects.filter(cohort_id__in=cohort_ids, status=EnrollmentStatus.WAITLISTED)
        .order_by("cohort_id", *Enrollment.WAITING_ORDER)
        .values_list("pk", "cohort_id", "pairing_id")
    )
    positions: dict[int, int] = {}
    counters: dict[int, int] = defaultdict(int)
    couples: dict[int, int] = {}
    for pk, cohort_id, pairing_id in rows:
        if pairing_id is not None and pairing_id in couples:
            positions[pk] = couples[pairing_id]
            continue
        counters[cohort_id] += 1
        positions[pk] = counters[cohort_id]
        if pairing_id is not None:
            couples[pairing_id] = positions[pk]
    return positions


def _place_of_outer() -> CombinedExpression:
    """The outer enrollment's place on its cohort's waiting list (1 = next): one more than the
    places ahead of it, counted in the database (the list's order is
    ``Enrollment.WAITING_ORDER``: passes, then queued_at, then pk). A couple is one place, as in
    ``waiting_positions``: a partner is never ahead of the other, and a couple ahead counts once."""
    passes, queued = OuterRef("passes"), OuterRef("queued_at")
    ahead = (
        Enrollment.objects.filter(
            cohort_id=OuterRef("cohort_id"), status=EnrollmentStatus.WAITLISTED
        )
        .filter(
            Q(passes__lt=passes)
            | Q(passes=passes, queued_at__lt=queued)
            | Q(passes=passes, queued_at=queued, pk__lt=OuterRef("pk"))
        )
        # Pairings are numbered from 1: someone on their own (no pairing) excludes nobody.
        .filter(
            Q(pairing_id__isnull=True) | ~Q(pairing_id=Coalesce(OuterRef("pairing_id"), Value(0)))
        )
        .order_by()
        .values("cohort_id")
        .annotate(
            n=Count("pk", filter=Q(pairing_id__isnull=True)) + Count("pairing_id", distinct=True)
        )
        .values("n")
    )
    return Coalesce(Subquery(ahead, output_field=IntegerField()), 0) + 1


def places_of(enrollment_ids: list[int]) -> dict[int, int]:
    """Enrollment id → waiting-list place for just these enrollments (the ones still waiting).

    One query whose cost does not grow with the length of the lists."""
    if not enrollment_ids:
        return {}
    return dict(
        Enrollment.objects.filter(pk__in=enrollment_ids, status=EnrollmentStatus.WAITLISTED)
        .annotate(place=_place_of_outer())
        .order_by()
        .values_list("pk", "place")
    )


def waiting_position(enrollment: Enrollment) -> int | None:
    if enrollment.status != EnrollmentStatus.WAITLISTED:
        return None
    return places_of([enrollment.pk]).get(enrollment.pk)


def live_enrollment(member: Any, cohort: Cohort) -> Enrollment | None:
    if not getattr(member, "pk", None):
        return None
    return Enrollment.objects.filter(member=member, cohort=cohort, status__in=LIVE).first()


def standing_enrollment(member: Any, cohort: Cohort) -> Enrollment | None:
    """The member's live place in the cohort, else a place in it the practice ended for them
    (which keeps them from joining it again by themselves); one query."""
    if not getattr(member, "pk", None):
        return None
    return (
        Enrollment.objects.filter(Q(status__in=LIVE) | removed_by_practice())
        .filter(member=member, cohort=cohort)
        .order_by(Case(When(status__in=LIVE, then=0), default=1), "-pk")
        .first()
    )


@dataclass
class GroupCard:
    enrollment: Enrollment
    position: int | None = None
    missing_consents: list[ConsentDocument] = field(default_factory=list)
    goodbyes: list[tuple[str, str]] = field(default_factory=list)
    #: For a therapy group whose lead may not see people where the member now lives: what that
    #: means for their place (``eligibility.outside_notice``).
    outside: str = ""

    @property
    def cohort(self) -> Cohort:
        return self.enrollment.cohort

    @property
    def first_start(self) -> datetime:
        return first_start(self.enrollment.cohort)


@prebuilt
def _with_cohorts_and_places() -> QuerySet[Enrollment]:
    """Enrollments with their cohorts' details and, for those waiting, their place (``place``)."""
    return (
        Enrollment.objects.select_related(
            "cohort",
            "cohort__program",
            "cohort__lead",
            "cohort__co_facilitator",
            "cohort__care_board_setting",
        )
        # A card shows the group's names and times: not its programme's long texts, nor its
        # leaders' password hashes.
        .defer(
            "cohort__program__description",
            "cohort__program__audience",
            "cohort__lead__password",
            "cohort__co_facilitator__password",
        )
        .annotate(
            place=Case(
                When(status=EnrollmentStatus.WAITLISTED, then=_place_of_outer()),
                default=None,
            )
        )
        .order_by("cohort__first_meeting_date", "pk")
    )


_enrollments_of = PreparedRead(
    lambda member: _with_cohorts_and_places().filter(member_id=member), "member"
)


_goodbyes: PreparedRead[Any] = PreparedRead(
    lambda cohorts, member: (
        Enrollment.objects.filter(cohort_id__in=cohorts, status=EnrollmentStatus.WITHDRAWN)
        .exclude(goodbye="")
        .exclude(member_id=member)
        .order_by("ended_at")
        .values_list("cohort_id", "member__display_name", "goodbye")
    ),
    "cohorts",
    "member",
)


_invitations_of: PreparedRead[PartnerInvite] = PreparedRead(
    lambda member, now: (
        PartnerInvite.objects.filter(
            inviter_id=member, status=PartnerInviteStatus.PENDING, expires_at__gt=now
        )
        .select_related("cohort", "cohort__program")
        # What the list shows (the group's title and link, the address and the dates).
        .only(
            "email",
            "created_at",
            "expires_at",
            "could_not_join_at",
            "cohort__name",
            "cohort__program__title",
        )
        .order_by("-created_at")
    ),
    "member",
    "now",
)


@dataclass(frozen=True)
class CannotJoinYet:
    """Why the invited partner themself can't join a group yet, and what they can do instead."""

    #: ``eligibility.Reason`` when where they live stands in the way, else the step's code.
    reason: str
    alternatives: list[Cohort]


def cannot_join_yet(member: Any, cohort: Cohort) -> CannotJoinYet | None:
    """What the invitation page offers a partner who can't join: nothing when they can, or when
    what is missing is a step with its own page (signing the agreements, say)."""
    decision = eligibility.check(member, cohort)
    if not decision.allowed:
        return CannotJoinYet(reason=decision.reason, alternatives=decision.alternatives)
    requirement = steps.first_unmet(member, cohort)
    if requirement is None or requirement.url:
        return None
    return CannotJoinYet(
        reason=requirement.code,
        alternatives=eligibility.alternatives_for(member, cohort, on=cohort.local_today()),
    )


def invitations_waiting(member: Any) -> list[PartnerInvite]:
    """The member's invitations to a partner that are still waiting for an answer (one query,
    compiled once)."""
    return list(_invitations_of(member=member.pk, now=timezone.now()))


def my_groups(member: Any) -> tuple[list[GroupCard], list[Enrollment]]:
    """The member's live enrollments as cards, and their past ones. A fixed number of queries."""
    enrollments = _enrollments_of(member=member.pk)
    live = [e for e in enrollments if e.status in LIVE]
    attach_meetings([e.cohort for e in enrollments])
    attach_panel_data([e.cohort for e in live], member)
    past = [e for e in enrollments if e.status not in LIVE]
    documents = current_documents([k.value for k in ConsentKind], signed_by=member) if live else []
    goodbyes: dict[int, list[tuple[str, str]]] = defaultdict(list)
    seated = [e.cohort_id for e in live if e.status == EnrollmentStatus.CONFIRMED]
    if seated:
        for cohort_id, name, text in _goodbyes(cohorts=seated, member=member.pk):
            goodbyes[cohort_id].append((name, text))
    # A therapy place says what it means when its lead may not see people where the member
    # lives now (they moved, or a licence ends before the group does).
    home = getattr(member, "home_state", "") or ""
    outside = {
        e.pk: eligibility.outside_notice(e.cohort, states, e.status, home)
        for e, states in eligibility.places_outside(live, home)
    }
    cards = []
    for e in live:
        kinds = required_kinds(e.cohort)
        missing = [d for d in documents if d.kind in kinds and not getattr(d, "signed", False)]
        cards.append(
            GroupCard(
                enrollment=e,
                position=getattr(e, "place", None),
                missing_consents=missing,
                goodbyes=goodbyes.get(e.cohort_id, []),
                outside=outside.get(e.pk, ""),
            )
        )
    return cards, past


@functools.cache
def _panel_reads() -> tuple[
    PreparedRead[Any], PreparedRead[Any], PreparedRead[Any], PreparedRead[Any]
]:
    """The panels' reads for a page of groups, each compiled once (built on first use: the
    panels' apps import this one)."""
    from circlecare.care.models import CohortWeek
    from circlecare.measures.queries import due_for_member
    from circlecare.meetings.models import Meeting, MeetingStatus
    from circlecare.programs.models import ProgramWeek

    meetings = PreparedRead(
        lambda cohorts: (
            Meeting.objects.filter(cohort_id__in=cohorts)
            .exclude(status=MeetingStatus.CANCELLED)
            .order_by("cohort_id", "starts_at", "pk")
        ),
        "cohorts",
    )
    # Read into dicts, so in no order: the models' default orders would join programmes and cohorts.
    base = PreparedRead(
        lambda programs: ProgramWeek.objects.filter(program_id__in=programs).order_by(), "programs"
    )
    adapted = PreparedRead(
        lambda cohorts: CohortWeek.objects.filter(cohort_id__in=cohorts).order_by(), "cohorts"
    )
    due = PreparedRead(
        lambda member, cohorts: due_for_member(member).filter(cohort_id__in=cohorts),
        "member",
        "cohorts",
    )
    return meetings, base, adapted, due


def attach_meetings(cohorts: list[Cohort]) -> None:
    """Load the meetings (not cancelled, in order) of every group on a page in one query, as
    ``scheduled_meetings``: when each first meets, what comes next and which week it is are
    read from them."""
    if not cohorts:
        return
    meetings_read = _panel_reads()[0]
    by_cohort: dict[int, list[Any]] = defaultdict(list)
    for meeting in meetings_read(cohorts=sorted({c.pk for c in cohorts})):
        by_cohort[meeting.cohort_id].append(meeting)
    for cohort in cohorts:
        cohort.scheduled_meetings = by_cohort[cohort.pk]  # type: ignore[attr-defined]


def attach_panel_data(cohorts: list[Cohort], member: Any) -> None:
    """Load what each group's panels show (next meeting, this week, what is due) for every group
    on the page at once, so the page costs the same number of queries however many groups.

    The panels' template tags use these attributes when present and query for one group otherwise.
    """
    if not cohorts:
        return
    _meetings_read, base_read, adapted_read, due_read = _panel_reads()
    ids = [c.pk for c in cohorts]
    attach_meetings([c for c in cohorts if not hasattr(c, "scheduled_meetings")])
    now = timezone.now()
    upcoming = {
        c.pk: next((m for m in c.scheduled_meetings if not m.is_over_at(now)), None)  # type: ignore[attr-defined]
        for c in cohorts
    }
    base: dict[int, dict[int, Any]] = defaultdict(dict)
    for week in base_read(programs=sorted({c.program_id for c in cohorts})):
        base[week.program_id][week.number] = week
    adapted: dict[int, dict[int, Any]] = defaultdict(dict)
    for change in adapted_read(cohorts=ids):
        adapted[change.cohort_id][change.number] = change
    due: dict[int, list[Any]] = defaultdict(list)
    for assessment in due_read(member=member.pk, cohorts=ids):
        due[assessment.cohort_id].append(assessment)
    for cohort in cohorts:
        cohort.panel_next_meeting = upcoming.get(cohort.pk)  # type: ignore[attr-defined]
        cohort.panel_weeks = (base[cohort.program_id], adapted[cohort.pk])  # type: ignore[attr-defined]
        cohort.panel_due = due[cohort.pk][:10]  # type: ignore[attr-defined]


@dataclass
class Roster:
    cohort: Cohort
    confirmed: list[Enrollment]
    offered: list[Enrollment]
    waiting: list[Enrollment]
    ended: list[Enrollment]

    @property
    def held(self) -> int:
        return len(self.confirmed) + len(self.offered)


#: What the roster page shows of an enrollment and its member; the rest is not read.
_ROSTER_FIELDS = (
    "member_id",
    "cohort_id",
    "status",
    "queued_at",
    "offered_at",
    "offer_expires_at",
    "confirmed_at",
    "ended_at",
    "end_reason",
    "passes",
    "pairing_id",
    "goodbye",
    "readmitted_at",
    "member__display_name",
    # A closed account is not offered "Let them join again".
    "member__is_active",
    "readmitted_by__display_name",
)


@prebuilt
def _roster_rows() -> QuerySet[Enrollment]:
    return Enrollment.objects.select_related("member", "readmitted_by").only(*_ROSTER_FIELDS)


_staff_cohort_by_pk = PreparedRead(
    lambda pk: with_seats(Cohort.objects.select_related("program")).filter(pk=pk), "pk"
)
_not_waiting_in = PreparedRead(
    lambda cohort: (
        _roster_rows()
        .filter(cohort_id=cohort)
        .exclude(status=EnrollmentStatus.WAITLISTED)
        .order_by("queued_at", "pk")
    ),
    "cohort",
)


def staff_cohort(pk: int) -> Cohort | None:
    """A cohort with its programme and seat counts (``held_count``, ``waitlist_count``), for the
    pages of those who run it. One query."""
    found = _staff_cohort_by_pk(pk=pk)
    return found[0] if found else None


class _Counted:
    """Rows whose number is already known, so a paginator need not count them again."""

    def __init__(self, rows: QuerySet[Enrollment], count: int) -> None:
        self._rows, self._count = rows, count

    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: slice) -> QuerySet[Enrollment]:
        return self._rows[index]


def roster_page(
    cohort: Cohort, waiting_page: Any = None, per_page: int = 50
) -> tuple[Roster, Page]:
    """The roster page's reads for a cohort from ``staff_cohort``: everyone not waiting (one
    query), and one page of the waiting list in its order (one query; its length is the cohort's
    ``waitlist_count``), so a long list costs no more than a short one. ``Roster.waiting`` holds
    that page's rows. A page number that is not one gives the nearest page (the first, or the
    last)."""
    everyone = _not_waiting_in(cohort=cohort.pk)
    waiting = (
        _roster_rows()
        .filter(cohort=cohort, status=EnrollmentStatus.WAITLISTED)
        .order_by(*Enrollment.WAITING_ORDER)
    )
    counted = _Counted(waiting, cohort.waitlist_count)  # type: ignore[attr-defined]
    # _Counted offers what Paginator uses (count() and slices), not a whole sequence.
    paginator: Paginator[Enrollment] = Paginator(counted, per_page)  # type: ignore[arg-type]
    number = paginator.get_page(waiting_page).number
    start = (number - 1) * per_page
    # The page's rows, read even when the list is empty, so the page's cost does not vary.
    page = Page(list(waiting[start : start + per_page]), number, paginator)
    data = Roster(
        cohort=cohort,
        confirmed=[e for e in everyone if e.status == EnrollmentStatus.CONFIRMED],
        offered=[e for e in everyone if e.status == EnrollmentStatus.OFFERED],
        waiting=list(page.object_list),
        ended=[e for e in everyone if e.status not in LIVE],
    )
    return data, page


class RosterRows(Sequence[tuple[int | None, Enrollment]]):
    """A cohort's roster in its order — confirmed seats, open offers, the waiting list in its
    order, then those who left — as (waiting place or None, enrollment), read one slice at a
    time: the length is one query, and a slice reads only its own rows (at most one query per
    part it spans), so a long waiting list costs a page what a short one does."""

    def __init__(self, cohort: Cohort) -> None:
        self.cohort_id = cohort.pk
        rows = _roster_rows().filter(cohort=cohort)  # the roster page's columns, no more
        self._parts: list[tuple[QuerySet[Enrollment], bool]] = [
            (rows.filter(status=EnrollmentStatus.CONFIRMED).order_by("queued_at", "pk"), False),
            (rows.filter(status=EnrollmentStatus.OFFERED).order_by("queued_at", "pk"), False),
            (
                rows.filter(status=EnrollmentStatus.WAITLISTED).order_by(*Enrollment.WAITING_ORDER),
                True,
            ),
            (rows.exclude(status__in=LIVE).order_by("queued_at", "pk"), False),
        ]
        counts = Enrollment.objects.filter(cohort=cohort).aggregate(
            confirmed=Count("pk", filter=Q(status=EnrollmentStatus.CONFIRMED)),
            offered=Count("pk", filter=Q(status=EnrollmentStatus.OFFERED)),
            waiting=Count("pk", filter=Q(status=EnrollmentStatus.WAITLISTED)),
            ended=Count("pk", filter=~Q(status__in=LIVE)),
        )
        self._sizes = [counts["confirmed"], counts["offered"], counts["waiting"], counts["ended"]]

    def __len__(self) -> int:
        return sum(self._sizes)

    @overload
    def __getitem__(self, index: int) -> tuple[int | None, Enrollment]: ...

    @overload
    def __getitem__(self, index: slice) -> list[tuple[int | None, Enrollment]]: ...

    def __getitem__(
        self, index: int | slice
    ) -> tuple[int | None, Enrollment] | list[tuple[int | None, Enrollment]]:
        if isinstance(index, int):
            found = self[index : index + 1] if index >= 0 else []
            if not found:
                raise IndexError(index)
            return found[0]
        start, stop, step = index.indices(len(self))
        if step != 1:
            raise ValueError("a roster is read in plain slices")
        out: list[tuple[int | None, Enrollment]] = []
        first = 0  # where the current part starts in the whole roster
        for (rows, placed), size in zip(self._parts, self._sizes, strict=True):
            lo, hi = max(start - first, 0), min(stop - first, size)
            if lo < hi:
                out += [(lo + i + 1 if placed else None, e) for i, e in enumerate(rows[lo:hi])]
            first += size
        return out


def cohorts_run_by(user: Any) -> list[Cohort]:
    """Cohorts whose roster this person may open: the ones they lead, or every current one for staff."""
    current = Cohort.objects.exclude(status__in=ENDED).select_related("program")
    if not getattr(user, "is_staff", False):
        current = current.filter(Q(lead=user) | Q(co_facilitator=user))
    return list(current.order_by("first_meeting_date", "pk"))
