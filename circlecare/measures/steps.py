"""The "intake before a seat" step of the join flow (order 30, after eligibility and consent).

Intake is PHQ-9 + GAD-7 for therapy and WHO-5 + UCLA-3 for skills groups and care circles. The
step is met by an intake for this very group, however long ago: it is taken once per group, so
someone who waited months for a seat is not asked for answers they cannot give again.

Someone who answered the same questions for another group within the last 30 days (a skills
group's WHO-5 serves a care circle too: the same questions about the same weeks) is not made to
answer them again, but it is their choice to share them: the intake page offers those answers
(``reusable_intake``) and ``services.share_intake`` copies them into this group, where its
clinician or facilitator can read them and its outcome figures have a baseline.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils import timezone

from circlecare.enrollment.steps import Requirement
from circlecare.measures.plans import INTAKE_VALID_FOR, intake_codes
from circlecare.prebuilt import PreparedRead

#: The step's name in ``enrollment.steps``.
INTAKE_STEP = "intake"


@functools.cache
def _intake_done(kind: str) -> PreparedRead[Any]:
    """Which of a kind's intake instruments a member completed for a group (every join asks)."""
    from circlecare.measures.models import Assessment, AssessmentStatus, Occasion

    return PreparedRead(
        lambda member, cohort: (
            Assessment.objects.filter(
                member_id=member,
                cohort_id=cohort,
                occasion=Occasion.INTAKE,
                status=AssessmentStatus.COMPLETED,
                instrument__in=intake_codes(kind),
            )
            .order_by()  # a set: the default order would join the cohorts for nothing
            .values_list("instrument", flat=True)
        ),
        "member",
        "cohort",
    )


def missing_intake(member: Any, cohort: Any) -> list[str]:
    """The intake instruments this member still has to complete for this cohort."""
    needed = intake_codes(cohort.program.kind)
    if not getattr(member, "pk", None):
        return list(needed)
    done = set(_intake_done(cohort.program.kind)(member=member.pk, cohort=cohort.pk))
    return [code for code in needed if code not in done]


def reusable_intake(member: Any, cohort: Any, *, now: datetime | None = None) -> list[Any]:
    """The member's answers to this cohort's missing intake questionnaires given for other groups
    in the last 30 days, the latest of each, in the kind's order (completed ``Assessment`` rows)."""
    from circlecare.measures.models import Assessment, AssessmentStatus, Occasion

    missing = missing_intake(member, cohort)
    if not missing:
        return []
    since = (now or timezone.now()) - INTAKE_VALID_FOR
    latest: dict[str, Any] = {}
    for row in (
        Assessment.objects.filter(
            member_id=member.pk,
            occasion=Occasion.INTAKE,
            status=AssessmentStatus.COMPLETED,
            instrument__in=missing,
            completed_at__gte=since,
            shared_from=None,  # the answers as first given, not a copy shared on before
        )
        .exclude(cohort_id=cohort.pk)
        .order_by("-completed_at", "-pk")
    ):
        latest.setdefault(row.instrument, row)
    return [latest[code] for code in missing if code in latest]


def intake_step(member: Any, cohort: Any) -> Requirement | None:
    if not missing_intake(member, cohort):
        return None
    who = f"your group's {cohort.program.leader_word}"
    return Requirement(
        code="intake",
        message=(
            "Before you join, please answer a few short questions about how you have "
            f"been lately. It takes about five minutes, and {who} reads them before the first "
            "meeting."
        ),
        url=reverse("measures:intake", args=[cohort.pk]),
    )
