"""Factories and helpers for measures tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import factory
from django.utils import timezone

from circlecare.measures import summaries
from circlecare.measures.instruments import get
from circlecare.measures.models import Assessment, Occasion
from tests.factories import CohortFactory, UserFactory


class AssessmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assessment

    member = factory.SubFactory(UserFactory)
    cohort = factory.SubFactory(CohortFactory)
    program_kind = factory.LazyAttribute(lambda o: o.cohort.program.kind)
    instrument = "PHQ9"
    occasion = Occasion.WEEKLY
    meeting_week = 2
    due_at = factory.LazyFunction(timezone.now)


def answers_for(code: str, total: int, *, risk: int = 0) -> list[int]:
    """Answers adding up to ``total``; for PHQ-9, item 9 is ``risk`` (counted in the total)."""
    instrument = get(code)
    low, high = instrument.min_answer, instrument.max_answer
    answers = [low] * len(instrument.items)
    if code == "PHQ9":
        answers[8] = risk
    remaining = total - sum(answers)
    assert remaining >= 0
    for i in range(len(answers)):
        if code == "PHQ9" and i == 8:
            continue
        step = min(high - answers[i], remaining)
        answers[i] += step
        remaining -= step
    assert remaining == 0, "total out of reach"
    return answers


def completed(
    *,
    member: Any,
    cohort: Any,
    code: str,
    total: int,
    week: int,
    when: datetime | None = None,
    occasion: str | None = None,
    risk: int = 0,
    synthetic: bool = False,
) -> Assessment:
    """A completed assessment with a real score (built by the instrument itself), folded into
    its summary as a submission would."""
    when = when or timezone.now() - timedelta(weeks=10 - week)
    assessment = Assessment.scored(
        member_id=member.pk,
        cohort=cohort,
        code=code,
        occasion=occasion or (Occasion.INTAKE if week == 0 else Occasion.WEEKLY),
        week=week,
        answers=answers_for(code, total, risk=risk),
        when=when,
        synthetic=synthetic,
    )
    assessment.save()
    summaries.add(assessment)
    return assessment
