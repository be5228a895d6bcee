"""Catalog reads shared by pages and the API, each a fixed number of queries whatever the row count."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime

from django.db import models
from django.db.models import Count, IntegerField, Min, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from circlecare.enrollment.models import SEAT_HOLDING, Enrollment, EnrollmentStatus
from circlecare.meetings.models import Meeting, MeetingStatus
from circlecare.practice.queries import clinician_prefetch, load_licences
from circlecare.prebuilt import PreparedRead, prebuilt
from circlecare.programs.models import (
    JOINABLE,
    Cohort,
    CohortStatus,
    Focus,
    Program,
    ProgramKind,
    ProgramWeek,
)


def _enrollments_counted(**status: object) -> Coalesce:
    counted = (
        Enrollment.objects.filter(cohort=OuterRef("pk"), **status)
        .order_by()
        .values("cohort")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def with_seats(queryset: QuerySet[Cohort]) -> QuerySet[Cohort]:
    """Annotate ``held_count`` (seats held) and ``waitlist_count``; ``seats_left`` is derived from them.

    Each is a count per cohort (an index range), so the cohorts' own columns need no grouping."""
    return queryset.annotate(
        held_count=_enrollments_counted(status__in=SEAT_HOLDING),
        waitlist_count=_enrollments_counted(status=EnrollmentStatus.WAITLISTED),
    )


def _scheduled() -> QuerySet[Meeting]:
    """Once a cohort has opened, its stored meetings (moves and skips included) are its schedule."""
    return Meeting.objects.exclude(status=MeetingStatus.CANCELLED).order_by("starts_at")


def scheduled_meetings() -> Prefetch:
    return Prefetch("meetings", queryset=_scheduled(), to_attr="scheduled_meetings")


@prebuilt
def visible_cohorts() -> QuerySet[Cohort]:
    """Cohorts a visitor may open (not drafts, of published programmes), with their programme,
    lead and co-facilitator."""
    return (
        Cohort.objects.exclude(status=CohortStatus.DRAFT)
        .filter(program__is_published=True)
        .select_related("program", "lead", "lead__clinician", "co_facilitator")
        # A group's page has no use for its leaders' password hashes: they stay in the database.
        .defer("lead__password", "co_facilitator__password")
    )


@prebuilt
def _listed() -> QuerySet[Cohort]:
    """``visible_cohorts`` with their seat counts."""
    return with_seats(visible_cohorts())


def _with_people(queryset: QuerySet[Cohort]) -> QuerySet[Cohort]:
    return queryset.prefetch_related(*clinician_prefetch("lead__clinician__"), scheduled_meetings())


def public_cohorts(*, at: datetime | None = None) -> QuerySet[Cohort]:
    """Cohorts a visitor can see: open or full and still taking new members by their own
    calendar (``joinable_until``), with leads and their licences."""
    at = at or timezone.now()
    return _with_people(_listed().filter(status__in=JOINABLE, joinable_until__gt=at)).order_by(
        "first_meeting_date", "start_time", "pk"
    )


def _programs(at: datetime, kind: str | None, focus: str | None) -> QuerySet[Program]:
    upcoming = Q(cohorts__status__in=JOINABLE, cohorts__joinable_until__gt=at)
    # The earliest first meeting as a moment, so that pages give its day on the visitor's own
    # calendar (a group's first_meeting_date is on the group's); each group's first meeting is
    # its earliest one not cancelled. ``next_start`` stays for groups without meetings yet.
    first_meeting = (
        Meeting.objects.filter(
            cohort__program=OuterRef("pk"),
            cohort__status__in=JOINABLE,
            cohort__joinable_until__gt=at,
        )
        .exclude(status=MeetingStatus.CANCELLED)
        .order_by("starts_at")
        .values("starts_at")[:1]
    )
    queryset = Program.objects.filter(is_published=True).annotate(
        upcoming_count=Count("cohorts", filter=upcoming),
        next_start=Min("cohorts__first_meeting_date", filter=upcoming),
        next_meeting=Subquery(first_meeting),
    )
    if kind:
        queryset = queryset.filter(kind=kind)
    if focus:
        queryset = queryset.filter(focus=focus)
    return queryset.order_by("kind", "title")


def program_list(*, kind: str | None = None, focus: str | None = None) -> QuerySet[Program]:
    """Published programmes with their number of upcoming groups and the next start."""
    return _programs(timezone.now(), kind, focus)


@functools.cache
def _catalog_read(kind: str | None, focus: str | None) -> PreparedRead[Program]:
    return PreparedRead(lambda at: _programs(at, kind, focus), "at")


def catalog(*, kind: str | None = None, focus: str | None = None) -> list[Program]:
    """``program_list`` read with a prepared statement, for the catalog and home pages. ``kind``
    and ``focus`` must be known values (one statement is kept per pair)."""
    if kind not in (None, *ProgramKind.values) or focus not in (None, *Focus.values):
        raise ValueError("an unknown kind or focus")
    return _catalog_read(kind, focus)(at=timezone.now())


def program_detail(slug: str) -> Program:
    """The program with its curriculum and upcoming cohorts; raises ``Program.DoesNotExist``."""
    return Program.objects.prefetch_related(
        Prefetch("curriculum", queryset=ProgramWeek.objects.order_by("number")),
        Prefetch("cohorts", queryset=public_cohorts(), to_attr="upcoming_cohorts"),
    ).get(slug=slug, is_published=True)


def _with_last_meeting(cohorts: QuerySet[Cohort]) -> QuerySet[Cohort]:
    """``last_meeting_date``: the day of the group's last meeting not cancelled, read with the
    cohort. A therapy group's licence cover runs to it (a skipped week moves it later), so
    eligibility needs no query of its own for it (``eligibility.last_meeting_day``)."""
    return cohorts.annotate(
        last_meeting_date=Subquery(
            Meeting.objects.filter(cohort=OuterRef("pk"))
            .exclude(status=MeetingStatus.CANCELLED)
            .order_by("-local_date")
            .values("local_date")[:1]
        )
    )


_visible_by_pk = PreparedRead(lambda pk: _with_last_meeting(visible_cohorts().filter(pk=pk)), "pk")
_listed_by_pk = PreparedRead(lambda pk: _listed().filter(pk=pk), "pk")
_schedule_of = PreparedRead(lambda cohort: _scheduled().filter(cohort_id=cohort), "cohort")


def _one_with_lead_licences(found: Sequence[Cohort]) -> Cohort:
    if not found:
        raise Cohort.DoesNotExist("No such group")
    cohort = found[0]
    clinician = getattr(cohort.lead, "clinician", None)
    if clinician is not None:
        load_licences(clinician)
    return cohort


def visible_cohort(pk: int) -> Cohort:
    """A cohort a visitor may see, with its lead's licences loaded for eligibility (three queries);
    raises ``Cohort.DoesNotExist``."""
    return _one_with_lead_licences(_visible_by_pk(pk=pk))


def _short_fields(model: type[models.Model], prefix: str = "") -> list[str]:
    return [
        prefix + f.name for f in model._meta.concrete_fields if not isinstance(f, models.TextField)
    ]


_joining_by_pk = PreparedRead(
    lambda pk: _with_last_meeting(
        Cohort.objects.exclude(status=CohortStatus.DRAFT)
        .filter(program__is_published=True, pk=pk)
        .select_related("program", "lead__clinician")
        # What a join decides on: the cohort, its programme's kind and length, and which clinician
        # leads it. The long texts and the leaders' rows stay in the database (they load if a page
        # asks for them); on a new database connection each column read is paid for.
        .only(*_short_fields(Cohort), *_short_fields(Program, "program__"), "lead__clinician__user")
        .order_by()
    ),
    "pk",
)


def joining_cohort(pk: int) -> Cohort:
    """``visible_cohort`` narrowed to what a join needs: the cohort's own columns, its programme's
    short ones and its lead's licences (three queries); raises ``Cohort.DoesNotExist``."""
    return _one_with_lead_licences(_joining_by_pk(pk=pk))


def cohort_detail(pk: int) -> Cohort:
    """``visible_cohort`` with its seat counts and stored meetings (``scheduled_meetings``), as
    ``public_cohorts`` gives them (four queries); raises ``Cohort.DoesNotExist``."""
    cohort = _one_with_lead_licences(_listed_by_pk(pk=pk))
    cohort.scheduled_meetings = _schedule_of(cohort=cohort.pk)  # type: ignore[attr-defined]
    return cohort
