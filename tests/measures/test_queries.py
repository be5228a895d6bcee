"""Reads behind the clinician's group overview, checked against figures worked out by hand."""

from __future__ import annotations

import pytest

from circlecare.measures.models import Occasion
from circlecare.measures.queries import checkin_trends
from tests.factories import CohortFactory, UserFactory
from tests.measures.factories import completed

pytestmark = pytest.mark.django_db


def test_the_check_in_average_is_rounded_half_up_as_people_round() -> None:
    """Totals 27, 27, 27 and 28 average 27.25 exactly, which is shown as 27.3; Python's
    ``round`` gives 27.2 (a tie goes to the even digit), as it gives 0.2 for 0.25."""
    cohort = CohortFactory()
    for week, totals in ((1, (27, 27, 27, 28)), (2, (0, 0, 0, 1)), (3, (10, 11))):
        for total in totals:
            completed(
                member=UserFactory(),
                cohort=cohort,
                code="CHECKIN",
                total=total,
                week=week,
                occasion=Occasion.CHECKIN,
            )
    weeks = checkin_trends(cohort)
    assert [(w.week, w.n, w.average) for w in weeks] == [(1, 4, 27.3), (2, 4, 0.3), (3, 2, 10.5)]
