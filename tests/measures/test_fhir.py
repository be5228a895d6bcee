"""FHIR export validated with fhir.resources' R4B models."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from circlecare.measures.fhir import member_bundle
from circlecare.measures.models import Assessment
from circlecare.programs.models import ProgramKind
from tests.factories import CohortFactory, ProgramFactory, UserFactory
from tests.measures.factories import completed

pytestmark = pytest.mark.django_db


def test_bundle_validates_and_carries_the_loinc_codes() -> None:
    member = UserFactory()
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY))
    completed(member=member, cohort=cohort, code="PHQ9", total=11, week=0, risk=2)
    completed(member=member, cohort=cohort, code="GAD7", total=9, week=0)
    completed(member=member, cohort=cohort, code="WHO5", total=12, week=0)
    completed(member=member, cohort=cohort, code="CHECKIN", total=30, week=1, occasion="checkin")
    data = member_bundle(member, Assessment.objects.filter(member=member).order_by("pk"))
    bundle = Bundle.model_validate(json.loads(json.dumps(data)))
    assert bundle.type == "collection"
    resources = [e.resource for e in bundle.entry]
    responses = [r for r in resources if isinstance(r, QuestionnaireResponse)]
    observations = [r for r in resources if isinstance(r, Observation)]
    # The check-in is not validated and is not exported.
    assert len(responses) == 3
    phq = responses[0]
    assert phq.status == "completed" and phq.questionnaire == "http://loinc.org/q/44249-1"
    item9 = next(i for i in phq.item if i.linkId == "9")
    assert item9.answer[0].valueCoding.code == "LA6570-1"  # answer 2
    assert responses[1].questionnaire == "http://loinc.org/q/69737-5"
    codes = {o.code.coding[0].code: o for o in observations}
    assert codes["44261-6"].valueQuantity.value == 11
    assert codes["44261-6"].valueQuantity.unit == "{score}"
    assert codes["44260-8"].valueQuantity.value == 2
    assert codes["70274-6"].valueQuantity.value == 9
    assert codes["who5-percentage"].valueQuantity.value == 48
    for o in observations:
        assert o.category[0].coding[0].code == "survey"
        assert o.derivedFrom[0].reference.startswith("urn:uuid:")
    urls = {e.fullUrl for e in bundle.entry}
    assert all(o.derivedFrom[0].reference in urls for o in observations)


@pytest.mark.parametrize(
    ("answer", "loinc"),
    [(0, "LA6568-5"), (1, "LA6569-3"), (2, "LA6570-1"), (3, "LA6571-9")],
)
def test_each_answer_carries_its_loinc_answer_code(answer: int, loinc: str) -> None:
    """LOINC's frequency answer list: not at all, several days, more than half the days, nearly
    every day."""
    member = UserFactory()
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY))
    completed(member=member, cohort=cohort, code="PHQ9", total=answer, week=0, risk=answer)
    data = member_bundle(member, Assessment.objects.filter(member=member))
    bundle = Bundle.model_validate(json.loads(json.dumps(data)))
    response = next(
        e.resource for e in bundle.entry if isinstance(e.resource, QuestionnaireResponse)
    )
    item9 = next(i for i in response.item if i.linkId == "9")
    assert item9.answer[0].valueCoding.code == loinc
    assert item9.answer[0].valueCoding.system == "http://loinc.org"


def test_demo_scores_leave_marked_as_test_data_and_real_ones_do_not() -> None:
    """A made-up score is labelled on every page; once exported it must still say so."""
    member = UserFactory()
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY))
    completed(member=member, cohort=cohort, code="PHQ9", total=11, week=0, synthetic=True)
    completed(member=member, cohort=cohort, code="PHQ9", total=7, week=3)
    data = member_bundle(member, Assessment.objects.filter(member=member).order_by("pk"))
    bundle = Bundle.model_validate(json.loads(json.dumps(data)))
    marked = {
        e.fullUrl: any(s.code == "HTEST" for s in (e.resource.meta.security or []))
        if e.resource.meta
        else False
        for e in bundle.entry
    }
    # The made-up PHQ-9: its response, its total and its item 9; then the real one's three.
    assert list(marked.values()) == [True, True, True, False, False, False]
