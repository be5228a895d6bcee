"""A member's questionnaires in their data download."""

from __future__ import annotations

import pytest

from circlecare.measures.exports import export
from circlecare.measures.services import submit_assessment
from circlecare.programs.models import ProgramKind
from tests.factories import CohortFactory, EnrollmentFactory, ProgramFactory
from tests.measures.factories import AssessmentFactory, answers_for, completed

pytestmark = pytest.mark.django_db


def test_the_download_names_every_group_and_gives_the_who5_as_its_pages_do() -> None:
    program = ProgramFactory(kind=ProgramKind.CARE_CIRCLE, title="Kindred")
    cohort = CohortFactory(program=program, name="")
    member = EnrollmentFactory(cohort=cohort).member
    completed(member=member, cohort=cohort, code="WHO5", total=12, week=0)
    named = CohortFactory(program=program, name="Tuesday evenings")
    due = AssessmentFactory(member=member, cohort=named, instrument="PHQ9")
    submit_assessment(assessment=due, answers=answers_for("PHQ9", 4, risk=1), actor=member)
    data = export(member)
    who5, phq9 = data["questionnaires"]
    assert (who5["group"], who5["total"], who5["percentage"]) == ("Kindred", 12, 48)
    assert who5["band"] == "poor_wellbeing"
    assert (phq9["group"], phq9["total"], phq9["percentage"]) == (
        "Tuesday evenings",
        4,
        None,
    )
    assert [a["group"] for a in data["follow_up_alerts"]] == ["Tuesday evenings"]
