"""Who may join which group, why not, and where they could go instead.

Therapy follows the law of the member's home state: the cohort's *lead* must hold a licence there, or a
compact privilege backed by a valid home-state licence, on every day from the member's first meeting to
the cohort's last one. A co-facilitator's licence never counts. Skills groups and care circles are
educational or peer groups, open to adults wherever they live.

``check`` never leaves a member at a dead end: a refusal comes with alternatives — therapy cohorts of
the same focus whose lead *is* licensed where they live, then skills groups and care circles with open
seats, soonest first. It runs a fixed number of queries whatever the number of cohorts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Prefetch, Q, prefetch_related_objects

from circlecare.practice.models import Clinician
from circlecare.practice.queries import clinician_prefetch, licensed_states
from circlecare.programs.models import Cohort, CohortStatus, ProgramKind
from circlecare.states import OUTSIDE_US, US_STATES, join_names, state_name, where

#: How many alternatives a refusal lists at most.
MAX_ALTERNATIVES = 6


class Reason:
    ELIGIBLE = "eligible"
    OPEN_TO_ALL = "open_to_all"
    OUTSIDE_US = "outside_us"
    NO_HOME_STATE = "no_home_state"
    STATE_NOT_SERVED = "state_not_served"
    NOT_SERVING = "not_serving"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    message: str
    alternatives: list[Cohort] = field(default_factory=list)
    served_states: frozenset[str] = frozenset()


def _lead_clinician(cohort: Cohort) -> Clinician | None:
    """The lead's clinician row with licences and privileges loaded (reuses a prefetch when present;
    with the lead not loaded either, reads the clinician by the lead's id, not the lead's row)."""
    if not Cohort.lead.is_cached(cohort):
        return clinician_of(cohort.lead_id)
    lead = cohort.lead
    try:
        clinician: Clinician = lead.clinician
    except Clinician.DoesNotExist:
        return None
    cache = getattr(clinician, "_prefetched_objects_cache", {})
    if "licenses" in cache and "privileges" in cache:
        return clinician
    return (
        Clinician.objects.prefetch_related(*clinician_prefetch("")).filter(pk=clinician.pk).first()
    )


def last_meeting_day(cohort: Cohort) -> date:
    """The day of the group's last meeting: its plain weekly pattern's, or later when its stored
    meetings (not cancelled) run on past it, as skipping a week moves them. Uses what a page
    loaded with the cohort (``last_meeting_date``, or its ``scheduled_meetings``) when it has
    it; otherwise one query."""
    planned = cohort.planned_last_date
    if cohort.pk is None:
        return planned
    stored = getattr(cohort, "scheduled_meetings", None)
    if hasattr(cohort, "last_meeting_date"):
        last = cohort.last_meeting_date
    elif stored is not None:
        last = max((m.local_date for m in stored), default=None)
    else:
        from circlecare.meetings.models import Meeting, MeetingStatus

        last = (
            Meeting.objects.filter(cohort_id=cohort.pk)
            .exclude(status=MeetingStatus.CANCELLED)
            .order_by("-local_date")
            .values_list("local_date", flat=True)
            .first()
        )
    return max(planned, last) if last is not None else planned


def coverage_window(cohort: Cohort, on: date) -> tuple[date, date]:
    """The days a member joining on ``on`` would meet: their first meeting to the cohort's last."""
    return max(cohort.first_meeting_date, on), last_meeting_day(cohort)


def served_states(cohort: Cohort, *, on: date | None = None) -> set[str]:
    """US states whose residents may join this therapy cohort (every state for other kinds)."""
    if not cohort.program.is_therapy:
        return set(US_STATES)
    start, end = coverage_window(cohort, on or cohort.local_today())
    return licensed_states(_lead_clinician(cohort), start, end)


def check(
    member: Any, cohort: Cohort, on: date | None = None, *, with_alternatives: bool = True
) -> Decision:
    """May ``member`` join ``cohort``? ``on`` is the day they would join (by default today on
    the group's own calendar, by which joining and its meetings go)."""
    on = on or cohort.local_today()
    if not cohort.program.is_therapy:
        return Decision(
            allowed=True,
            reason=Reason.OPEN_TO_ALL,
            message="This group is open to adults wherever they live.",
        )
    home = getattr(member, "home_state", "") or ""
    states = served_states(cohort, on=on)
    frozen = frozenset(states)
    if home in states:
        return Decision(
            allowed=True,
            reason=Reason.ELIGIBLE,
            message=f"This group serves residents of {state_name(home)}, where you live.",
            served_states=frozen,
        )
    served = (
        f"This group serves residents of {join_names(states)}."
        if states
        else "This group isn't able to take members from any state right now."
    )
    if home == OUTSIDE_US:
        reason = Reason.OUTSIDE_US
        message = (
            "Therapy groups can only include people who live in a US state where the clinician is "
            "licensed, so this group isn't open to you from outside the US. "
            "Skills groups and care circles are open to you wherever you live."
        )
    elif not home:
        reason = Reason.NO_HOME_STATE
        message = f"{served} Tell us where you live in your profile and we can check whether you can join."
    elif not states:
        reason = Reason.NOT_SERVING
        message = served
    else:
        reason = Reason.STATE_NOT_SERVED
        message = (
            f"{served} The clinician isn't licensed in {state_name(home)}, where you live, so "
            "the law doesn't allow them to see you in this group."
        )
    alternatives = alternatives_for(member, cohort, on=on) if with_alternatives else []
    return Decision(
        allowed=False,
        reason=reason,
        message=message,
        alternatives=alternatives,
        served_states=frozen,
    )


def alternatives_for(member: Any, cohort: Cohort, *, on: date) -> list[Cohort]:
    """Therapy cohorts of the same focus the member may join, then open skills groups and care circles.

    Three queries (cohorts with seat counts, then the leads' licences and privileges), whatever the
    number of cohorts.
    """
    from circlecare.programs.queries import public_cohorts

    home = getattr(member, "home_state", "") or ""
    wanted = Q(program__kind__in=[ProgramKind.SKILLS, ProgramKind.CARE_CIRCLE])
    if home in US_STATES:
        wanted |= Q(program__kind=ProgramKind.THERAPY, program__focus=cohort.program.focus)
    # Not couples' groups: one person alone cannot take a seat there.
    found = public_cohorts().filter(wanted).exclude(pk=cohort.pk)
    found = found.exclude(program__for_couples=True)
    if getattr(member, "pk", None) is not None:
        # Not the groups they are already in, waiting for, or running themselves, nor one
        # the practice ended their place in (they cannot join it again by themselves).
        from circlecare.enrollment.models import LIVE, Enrollment, removed_by_practice

        theirs = (
            Enrollment.objects.filter(member=member)
            .filter(Q(status__in=LIVE) | removed_by_practice())
            .values("cohort_id")
        )
        found = found.exclude(pk__in=theirs).exclude(lead=member).exclude(co_facilitator=member)
    candidates = list(found)
    therapy: list[Cohort] = []
    others: list[Cohort] = []
    for candidate in candidates:
        if candidate.program.is_therapy:
            clinician = getattr(candidate.lead, "clinician", None)
            start, end = coverage_window(candidate, on)
            if home in licensed_states(clinician, start, end):
                therapy.append(candidate)
        elif candidate.status == CohortStatus.OPEN and candidate.seats_left > 0:
            others.append(candidate)
    return (therapy + others)[:MAX_ALTERNATIVES]


def therapy_places_now_outside(member: Any) -> list[tuple[Cohort, set[str], str]]:
    """The therapy groups ``member`` has a seat, an offer or a waiting-list place in whose lead
    is not licensed where they now live, each with the states the group serves and the place's
    status. For telling someone who has moved what that means; their place itself is not
    changed (though no seat is offered to them from a waiting list while they live there)."""
    from circlecare.enrollment.models import LIVE, Enrollment

    home = getattr(member, "home_state", "") or ""
    places = Enrollment.objects.filter(
        member=member, status__in=LIVE, cohort__program__kind=ProgramKind.THERAPY
    ).select_related("cohort__program", "cohort__lead")
    return [(e.cohort, states, e.status) for e, states in places_outside(list(places), home)]


def places_outside(enrollments: list[Any], home: str) -> list[tuple[Any, set[str]]]:
    """Of these places (with their cohorts, programmes and leads loaded), those in a therapy
    group whose lead may not see people living in ``home``, each with the states the group
    serves. The leads' licences are read at once (``attach_lead_licences``)."""
    therapy = [e for e in enrollments if e.cohort.program.is_therapy]
    if therapy:
        attach_lead_licences([e.cohort for e in therapy])
    found = []
    for enrollment in therapy:
        states = served_states(enrollment.cohort)
        if home not in states:
            found.append((enrollment, states))
    return found


def outside_notice(cohort: Cohort, states: set[str], status: str, home: str) -> str:
    """What a place in a therapy group means for someone now living where its lead may not see
    them (``therapy_places_now_outside``): said after a move, and on their groups page."""
    served = join_names(states) or "the states where its clinician is licensed"
    if status == "waitlisted":
        # A seat is not offered from the waiting list to someone who could not accept it.
        kept = (
            "Your place on its waiting list is kept, but a seat can't be offered to you while "
            "you live there."
        )
    elif status == "offered":
        # Accepting checks where they live now, so the seat offered before the move can't be
        # taken; unanswered, it passes on when the offer ends, as any other.
        kept = "The seat offered to you in it can't be accepted while you live there."
    else:
        kept = "Your place is kept for now, and before each meeting you confirm where you are."
    return (
        f"{cohort.title} can include only people living in {served}, and you now live "
        f"{where(home)}. {kept} Please contact the practice so they can help you find the right "
        "group."
    )


def attach_lead_licences(cohorts: list[Cohort]) -> None:
    """Load the leads' licences and privileges of these therapy groups (leads loaded with them)
    at once, three queries however many groups, for ``served_states`` on each."""
    leads = [c.lead for c in cohorts if Cohort.lead.is_cached(c) and c.lead is not None]
    prefetch_related_objects(
        leads,
        Prefetch(
            "clinician",
            queryset=Clinician.objects.prefetch_related(*clinician_prefetch("")),
        ),
    )


def homes_in(cohort: Cohort) -> set[str]:
    """The states where the people in a group (seated, offered or waiting) live."""
    from circlecare.enrollment.models import LIVE, Enrollment

    return set(
        Enrollment.objects.filter(cohort=cohort, status__in=LIVE)
        .exclude(member__home_state="")
        .values_list("member__home_state", flat=True)
    )


def clinician_of(user_id: int) -> Clinician | None:
    """Someone's clinician row with their licences and privileges, ready for
    ``licensed_states``; None for someone who is not a clinician."""
    return (
        Clinician.objects.prefetch_related(*clinician_prefetch("")).filter(user_id=user_id).first()
    )


def members_a_new_lead_could_not_serve(cohort: Cohort, lead: Any) -> set[str]:
    """For a therapy group about to change its lead: the states where people in it (seated,
    offered or waiting) live and the new lead is not licensed through the group's last meeting.
    Empty for other kinds of group, or when the new lead can serve everyone."""
    if not cohort.program.is_therapy or cohort.pk is None:
        return set()
    homes = homes_in(cohort)
    if not homes:
        return set()
    start, end = coverage_window(cohort, cohort.local_today())
    return homes - licensed_states(clinician_of(lead.pk), start, end)
