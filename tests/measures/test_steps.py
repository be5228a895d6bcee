"""Intake before a seat: the enrollment step registered at order 30."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from circlecare.enrollment import steps
from circlecare.measures.models import Assessment
from circlecare.measures.services import submit_intake
from circlecare.measures.steps import intake_step
from circlecare.programs.models import ProgramKind
from tests.factories import CohortFactory, LicenseFactory, ProgramFactory, UserFactory
from tests.measures.factories import answers_for

pytestmark = pytest.mark.django_db


def therapy() -> Any:
    """A therapy group whose lead is licensed where members live (New York, the factories')."""
    lead = LicenseFactory(state="NY").clinician.user
    return CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY), lead=lead)


def test_the_step_is_registered_in_order() -> None:
    assert "intake" in steps.registered()


def test_therapy_intake_needs_phq9_and_gad7_before_a_seat() -> None:
    cohort, member = therapy(), UserFactory()
    # Other steps (eligibility, consent) may come first; the intake one is among the unmet.
    requirement = next(r for r in steps.unmet(member, cohort) if r.code == "intake")
    assert requirement.url == f"/measures/intake/{cohort.pk}/" and requirement.blocking
    submit_intake(member=member, cohort=cohort, instrument="PHQ9", answers=answers_for("PHQ9", 8))
    assert intake_step(member, cohort) is not None
    submit_intake(member=member, cohort=cohort, instrument="GAD7", answers=answers_for("GAD7", 8))
    assert intake_step(member, cohort) is None
    assert all(r.code != "intake" for r in steps.unmet(member, cohort))


def test_intake_waits_for_the_steps_before_it() -> None:
    """No answers are stored for a group the member may not join, or before its agreements."""
    from circlecare.enrollment.errors import StepRequired
    from tests.enrollment.factories import publish_consents, sign_all

    cohort = therapy()
    abroad = UserFactory(home_state="WA")
    with pytest.raises(StepRequired, match="New York"):
        submit_intake(member=abroad, cohort=cohort, instrument="PHQ9", answers=[0] * 9)
    publish_consents()
    member = UserFactory()
    with pytest.raises(StepRequired) as refused:
        submit_intake(member=member, cohort=cohort, instrument="PHQ9", answers=[0] * 9)
    assert refused.value.detail == {"url": f"/my/join/{cohort.pk}/agreements/"}
    assert not Assessment.objects.exists()
    sign_all(member)
    submit_intake(member=member, cohort=cohort, instrument="PHQ9", answers=[0] * 9)
    assert Assessment.objects.filter(member=member, status="completed").count() == 1


def test_skills_and_circles_need_who5_and_ucla3() -> None:
    for kind in (ProgramKind.SKILLS, ProgramKind.CARE_CIRCLE):
        cohort, member = CohortFactory(program=ProgramFactory(kind=kind)), UserFactory()
        submit_intake(member=member, cohort=cohort, instrument="WHO5", answers=[3, 3, 3, 3, 3])
        assert intake_step(member, cohort) is not None
        submit_intake(member=member, cohort=cohort, instrument="UCLA3", answers=[1, 2, 1])
        assert intake_step(member, cohort) is None


def test_a_recent_intake_of_the_same_questions_counts_across_skills_groups_and_circles() -> None:
    """A care circle and a skills group ask the same WHO-5 and UCLA-3: someone joining both in
    one week answers them once."""
    circle = CohortFactory(program=ProgramFactory(kind=ProgramKind.CARE_CIRCLE))
    skills = CohortFactory(program=ProgramFactory(kind=ProgramKind.SKILLS))
    member = UserFactory()
    submit_intake(member=member, cohort=circle, instrument="WHO5", answers=[3, 3, 3, 3, 3])
    submit_intake(member=member, cohort=circle, instrument="UCLA3", answers=[1, 2, 1])
    assert intake_step(member, skills) is None
    assert intake_step(member, therapy()) is not None  # therapy asks other questions


def test_a_recent_intake_for_the_same_kind_counts_for_another_group() -> None:
    first, second, member = therapy(), therapy(), UserFactory()
    for code in ("PHQ9", "GAD7"):
        submit_intake(member=member, cohort=first, instrument=code, answers=answers_for(code, 6))
    assert intake_step(member, second) is None
    # A skills group is a different kind: its own intake is needed.
    skills = CohortFactory(program=ProgramFactory(kind=ProgramKind.SKILLS))
    assert intake_step(member, skills) is not None
    # After 30 days the intake no longer counts.
    Assessment.objects.filter(member=member).update(
        completed_at=timezone.now() - timedelta(days=31)
    )
    assert intake_step(member, second) is not None
    # For the group it was taken for, an intake counts however old: it is taken once per group.
    assert intake_step(member, first) is None
