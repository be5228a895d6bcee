"""One member's scores for different weeks submitted at the same instant: the summary keeps the
earliest and the latest, whatever order the transactions commit in."""

from __future__ import annotations

import pytest

from circlecare.measures.models import Occasion, ScoreSummary
from circlecare.measures.services import submit_assessment
from circlecare.programs.models import ProgramKind
from tests.conftest import requires_postgres
from tests.factories import CohortFactory, ProgramFactory, UserFactory
from tests.measures.factories import AssessmentFactory, answers_for
from tests.measures.test_concurrency import race

pytestmark = [requires_postgres(), pytest.mark.django_db(transaction=True)]


def test_parallel_submissions_of_different_weeks_all_reach_the_summary() -> None:
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY, weeks=8))
    member = UserFactory()
    totals = {0: 18, 2: 15, 3: 14, 5: 12, 6: 11, 8: 7}
    rows = {
        week: AssessmentFactory(
            member=member,
            cohort=cohort,
            instrument="PHQ9",
            occasion=Occasion.INTAKE if week == 0 else Occasion.WEEKLY,
            meeting_week=week,
        )
        for week in totals
    }
    weeks = sorted(totals)

    def work(i: int) -> None:
        week = weeks[i]
        submit_assessment(
            assessment=rows[week], answers=answers_for("PHQ9", totals[week]), actor=member
        )

    assert race(len(weeks), work) == ["stored"] * len(weeks)
    summary = ScoreSummary.objects.get(member=member, cohort=cohort, instrument="PHQ9")
    assert (summary.baseline_week, summary.baseline_total) == (0, 18)
    assert (summary.last_week, summary.last_total) == (8, 7)
