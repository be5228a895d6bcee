"""Enrollment's own "before a seat" steps: eligibility (order 10) and consents (order 20)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from circlecare.enrollment.consents import consents_missing
from circlecare.enrollment.steps import Requirement
from circlecare.practice import eligibility
from circlecare.programs.models import Cohort


def eligibility_step(member: Any, cohort: Cohort) -> Requirement | None:
    decision = eligibility.check(member, cohort, with_alternatives=False)
    if decision.allowed:
        return None
    return Requirement(code="not_eligible", message=decision.message, url=None)


def consents_step(member: Any, cohort: Cohort) -> Requirement | None:
    missing = consents_missing(member, cohort)
    if not missing:
        return None
    names = ", ".join(d.title for d in missing)
    return Requirement(
        code="consent",
        message=f"Please read and sign: {names}.",
        url=reverse("enrollment:consents", args=[cohort.pk]),
    )
