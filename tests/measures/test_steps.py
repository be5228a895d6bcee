"""Intake before a seat: the enrollment step registered at order 30."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from circlecare.enrollment import steps
from circlecare.measures.models import Assessment
from circlecare.measures.services import share_intake, submit_intake
from circlecare.measures.steps import intake_step, reusable_intake
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


def test_a_recent_intake_of_the_same_questions_is_offered_across_skills_groups_and_circles() -> (
    None
):
    """A care circle and a skills group ask the same WHO-5 and UCLA-3: someone joining both in
    one week may use their answers again, but only by sharing them with the second group."""
    circle = CohortFactory(program=ProgramFactory(kind=ProgramKind.CARE_CIRCLE))
    skills = CohortFactory(program=ProgramFactory(kind=ProgramKind.SKILLS))
    member = UserFactory()
    submit_intake(member=member, cohort=circle, instrument="WHO5", answers=[3, 3, 3, 3, 3])
    submit_intake(member=member, cohort=circle, instrument="UCLA3", answers=[1, 2, 1])
    assert intake_step(member, skills) is not None
    assert [row.instrument for row in reusable_intake(member, skills)] == ["WHO5", "UCLA3"]
    assert reusable_intake(member, therapy()) == []  # therapy asks other questions
    assert reusable_intake(member, circle) == []  # nothing is missing there
    shared = share_intake(member=member, cohort=skills)
    assert [row.cohort_id for row in shared] == [skills.pk, skills.pk]
    assert intake_step(member, skills) is None
    assert reusable_intake(member, skills) == []
    assert share_intake(member=member, cohort=skills) == []  # once


def test_a_recent_intake_for_the_same_kind_is_offered_for_another_group() -> None:
    first, second, member = therapy(), therapy(), UserFactory()
    for code in ("PHQ9", "GAD7"):
        submit_intake(member=member, cohort=first, instrument=code, answers=answers_for(code, 6))
    assert intake_step(member, second) is not None
    assert [row.instrument for row in reusable_intake(member, second)] == ["PHQ9", "GAD7"]
    # A skills group is a different kind: its own intake is needed.
    skills = CohortFactory(program=ProgramFactory(kind=ProgramKind.SKILLS))
    assert reusable_intake(member, skills) == []
    # After 30 days the answers are not offered again.
    Assessment.objects.filter(member=member).update(
        completed_at=timezone.now() - timedelta(days=31)
    )
    assert reusable_intake(member, second) == []
    assert share_intake(member=member, cohort=second) == []
    # For the group it was taken for, an intake counts however old: it is taken once per group.
    assert intake_step(member, first) is None


def test_a_shared_intake_is_the_same_answers_given_then_in_the_new_group() -> None:
    """The copy keeps the answers, the score and when they were given, and says where it came
    from; the new group's summary has its baseline; of two recent answers the later is used;
    the demo's made-up answers stay marked as such in the copy."""
    from circlecare.measures.models import ScoreSummary

    older, newer, joining, member = therapy(), therapy(), therapy(), UserFactory()
    given = timezone.now() - timedelta(days=3)
    for cohort, points, when in ((older, 4, given - timedelta(days=5)), (newer, 11, given)):
        for code in ("PHQ9", "GAD7"):
            submit_intake(
                member=member,
                cohort=cohort,
                instrument=code,
                answers=answers_for(code, points),
                now=when,
            )
    shared = share_intake(member=member, cohort=joining)
    source = Assessment.objects.get(member=member, cohort=newer, instrument="PHQ9")
    copy = Assessment.objects.get(member=member, cohort=joining, instrument="PHQ9")
    assert [row.pk for row in shared] == [
        copy.pk,
        Assessment.objects.get(member=member, cohort=joining, instrument="GAD7").pk,
    ]
    assert copy.shared_from_id == source.pk and copy.status == "completed"
    assert copy.answer_list == source.answer_list and copy.total == source.total == 11
    assert copy.band == source.band and copy.completed_at == given
    assert copy.occasion == "intake" and copy.meeting_week == 0 and not copy.synthetic
    summary = ScoreSummary.objects.get(member=member, cohort=joining, instrument="PHQ9")
    assert summary.baseline_assessment_id == copy.pk and summary.baseline_total == 11
    demo = therapy()
    Assessment.objects.filter(member=member, cohort=newer).update(synthetic=True)
    assert all(row.synthetic for row in share_intake(member=member, cohort=demo))


def test_a_shared_risk_answer_alerts_the_new_groups_clinician() -> None:
    from circlecare.measures.models import RiskAlert

    first, second, member = therapy(), therapy(), UserFactory()
    risky = [1, 1, 1, 1, 1, 1, 1, 1, 2]
    submit_intake(member=member, cohort=first, instrument="PHQ9", answers=risky)
    shared = share_intake(member=member, cohort=second)
    alert = RiskAlert.objects.get(cohort=second)
    assert alert.assessment_id == shared[0].pk and alert.assignee_id == second.lead_id
    assert alert.answer_saved and alert.member_id == member.pk
    assert RiskAlert.objects.filter(member=member).count() == 2  # the first group's stays


def test_sharing_waits_for_the_steps_before_it() -> None:
    from circlecare.enrollment.errors import StepRequired

    first, second = therapy(), therapy()
    member = UserFactory()
    submit_intake(member=member, cohort=first, instrument="PHQ9", answers=[0] * 9)
    member.home_state = "WA"  # moved, to a state the second group's lead does not serve
    member.save(update_fields=["home_state"])
    with pytest.raises(StepRequired, match="New York"):
        share_intake(member=member, cohort=second)
    assert not Assessment.objects.filter(cohort=second).exists()
