"""Two submissions of the same questionnaire at the same instant: exactly one is stored."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connections

from circlecare.measures.errors import AlreadySubmitted
from circlecare.measures.models import Assessment, AssessmentStatus, RiskAlert
from circlecare.measures.services import submit_assessment, submit_intake
from circlecare.programs.models import ProgramKind
from tests.conftest import requires_postgres
from tests.factories import CohortFactory, LicenseFactory, ProgramFactory, UserFactory
from tests.measures.factories import AssessmentFactory, answers_for

pytestmark = [requires_postgres(), pytest.mark.django_db(transaction=True)]


def race(count: int, work: Any) -> list[str]:
    barrier = threading.Barrier(count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        try:
            barrier.wait()
            work(i)
            result = "stored"
        except AlreadySubmitted:
            result = "refused"
        except Exception as exc:  # reported by the assertion below
            result = f"error: {exc!r}"
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_parallel_submissions_store_one_and_raise_one_alert() -> None:
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY))
    a = AssessmentFactory(cohort=cohort)
    member = a.member

    def work(i: int) -> None:
        # Half the requests answer item 9 above 0, half do not; whichever lands first wins.
        submit_assessment(assessment=a, answers=answers_for("PHQ9", 6, risk=i % 2), actor=member)

    outcomes = race(8, work)
    assert sorted(outcomes) == ["refused"] * 7 + ["stored"]
    a.refresh_from_db()
    assert a.status == AssessmentStatus.COMPLETED
    assert RiskAlert.objects.count() == (1 if a.has_risk else 0)


def test_parallel_intake_submissions_make_one_row() -> None:
    lead = LicenseFactory(state="NY").clinician.user  # licensed where the member lives
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY), lead=lead)
    member = UserFactory()

    def work(i: int) -> None:
        submit_intake(
            member=member, cohort=cohort, instrument="GAD7", answers=answers_for("GAD7", 5)
        )

    outcomes = race(6, work)
    assert sorted(outcomes) == ["refused"] * 5 + ["stored"]
    assert Assessment.objects.filter(member=member).count() == 1
