"""The "intake before a seat" step of the join flow (order 30, after eligibility and consent).

Intake is PHQ-9 + GAD-7 for therapy and WHO-5 + UCLA-3 for skills groups and care circles. An
instrument completed at intake for any group within the last 30 days counts (a skills group's
WHO-5 for a care circle too: the same questions about the same weeks), and one
completed for this very group counts however long ago: it is taken once per group, so someone who
waited months for a seat is not asked for answers they cannot give again.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from circlecare.enrollment.steps import Requirement
from circlecare.measures.plans import INTAKE_VALID_FOR, intake_codes
from circlecare.prebuilt import PreparedRead
from circlecare.programs.models import ProgramKind

#: The step's name in ``enrollment.steps``.
INTAKE_STEP = "intake"


@functools.cache
def _intake_done(kind: str) -> PreparedRead[Any]:
    """Which of a kind's intake instruments a member completed for a group, or for any group since
    a moment (every join asks)."""
    from circlecare.measures.models import Assessment, AssessmentStatus, Occasion

    return PreparedRead(
        lambda member, cohort, since: (
            Assessment.objects.filter(
                member_id=member,
                occasion=Occasion.INTAKE,
                status=AssessmentStatus.COMPLETED,
                instrument__in=intake_codes(kind),
            )
            .filter(Q(cohort_id=cohort) | Q(completed_at__gte=since))
            .order_by()  # a set: the default order would join the cohorts for nothing
            .values_list("instrument", flat=True)
        ),
        "member",
        "cohort",
        "since",
    )


def missing_intake(member: Any, cohort: Any) -> list[str]:
    """The intake instruments this member still has to complete for this cohort's kind."""
    kind = cohort.program.kind
    needed = intake_codes(kind)
    if not getattr(member, "pk", None):
        return list(needed)
    since = timezone.now() - INTAKE_VALID_FOR
    done = set(_intake_done(kind)(member=member.pk, cohort=cohort.pk, since=since))
    return [code for code in needed if code not in done]


def intake_step(member: Any, cohort: Any) -> Requirement | None:
    if not missing_intake(member, cohort):
        return None
    who = (
        "your group's clinician"
        if cohort.program.kind == ProgramKind.THERAPY
        else "your group's facilitator"
    )
    return Requirement(
        code="intake",
        message=(
            "Before you join, please answer a few short questions about how you have "
            f"been lately. It takes about five minutes, and {who} reads them before the first "
            "meeting."
        ),
        url=reverse("measures:intake", args=[cohort.pk]),
    )
