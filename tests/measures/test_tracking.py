"""A member's trajectory: flags and the documented not-on-track rule."""

from __future__ import annotations

from typing import Any

import pytest

from circlecare.measures.models import Assessment
from circlecare.measures.queries import cohort_overview
from circlecare.measures.tracking import trajectories
from circlecare.programs.models import ProgramKind
from tests.factories import CohortFactory, EnrollmentFactory, ProgramFactory
from tests.measures.factories import completed

pytestmark = pytest.mark.django_db


def track(cohort: Any, member: Any, points: list[tuple[int, int]], risk: int = 0) -> Any:
    for week, total in points:
        completed(
            member=member,
            cohort=cohort,
            code="PHQ9",
            total=total,
            week=week,
            risk=risk if week == points[-1][0] else 0,
        )
    rows = Assessment.objects.filter(member=member)
    return trajectories(rows, weeks=cohort.program.weeks, codes=["PHQ9"])[0]


@pytest.fixture
def cohort() -> Any:
    return CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY, weeks=8))


@pytest.mark.parametrize(
    ("points", "flag", "not_on_track"),
    [
        ([(0, 15), (2, 9)], "improved", False),
        ([(0, 15), (2, 14)], "no_reliable_change", False),  # before the halfway week
        ([(0, 15), (4, 15)], "not_on_track", True),  # halfway, no better
        ([(0, 15), (4, 13)], "no_reliable_change", False),  # halfway, a little better
        ([(0, 8), (3, 14)], "deteriorated", True),
        ([(0, 8)], "no_follow_up", False),
    ],
)
def test_flags(cohort: Any, points: list[tuple[int, int]], flag: str, not_on_track: bool) -> None:
    t = track(cohort, EnrollmentFactory(cohort=cohort).member, points)
    assert (t.flag, t.not_on_track) == (flag, not_on_track)


def test_a_risk_answer_puts_the_member_first(cohort: Any) -> None:
    t = track(cohort, EnrollmentFactory(cohort=cohort).member, [(0, 15), (2, 5)], risk=1)
    assert t.flag == "risk" and t.not_on_track


def test_overview_sorted_by_flag_in_fixed_queries(
    cohort: Any, django_assert_num_queries: Any
) -> None:
    better = EnrollmentFactory(cohort=cohort).member
    worse = EnrollmentFactory(cohort=cohort).member
    track(cohort, better, [(0, 15), (2, 5)])
    track(cohort, worse, [(0, 5), (2, 15)])
    for _ in range(3):
        EnrollmentFactory(cohort=cohort)
    with django_assert_num_queries(3):
        rows = cohort_overview(cohort)
    assert [r.member for r in rows[:2]] == [worse, better]


def test_one_instrument_improving_and_none_worse_counts_as_improved(cohort: Any) -> None:
    member = EnrollmentFactory(cohort=cohort).member
    for week, phq, gad in ((0, 14, 10), (2, 6, 9)):
        completed(member=member, cohort=cohort, code="PHQ9", total=phq, week=week)
        completed(member=member, cohort=cohort, code="GAD7", total=gad, week=week)
    (row,) = cohort_overview(cohort)
    assert row.flag == "improved" and row.flag_label == "Reliable improvement"


RELIABLE = "larger than the ups and downs that come from answering on different days"
RULE_OF_THUMB = "by a rule of thumb from the WHO-5's developers, "


@pytest.mark.parametrize(
    ("code", "totals", "words"),
    [
        # PHQ-9: reliable at a fall or rise of 6 (MEASURES.md).
        (
            "PHQ9",
            (15, 9),
            "Since your first answers, your score has gone down by 6. That is a reliable "
            f"improvement: a change of 6 points or more is {RELIABLE}.",
        ),
        (
            "PHQ9",
            (15, 10),
            "Since your first answers, your score has gone down by 5. That is within the ups and "
            "downs that come from answering on different days, so it is not a reliable change: "
            "a change counts as reliable from 6 points.",
        ),
        (
            "PHQ9",
            (8, 14),
            "Since your first answers, your score has gone up by 6. That is a reliable "
            f"deterioration: a change of 6 points or more is {RELIABLE}. A score can't say why; "
            "your group's team is there to talk it through with you.",
        ),
        ("PHQ9", (12, 12), "Since your first answers, your score has stayed the same."),
        # GAD-7: 4.
        (
            "GAD7",
            (12, 8),
            "Since your first answers, your score has gone down by 4. That is a reliable "
            f"improvement: a change of 4 points or more is {RELIABLE}.",
        ),
        (
            "GAD7",
            (8, 11),
            "Since your first answers, your score has gone up by 3. That is within the ups and "
            "downs that come from answering on different days, so it is not a reliable change: "
            "a change counts as reliable from 4 points.",
        ),
        # WHO-5: 10 percentage points, labelled as the developers' rule of thumb.
        (
            "WHO5",
            (10, 13),
            "Since your first answers, your score has gone up by 12 percentage points. That is a "
            f"reliable improvement: {RULE_OF_THUMB}a change of 10 percentage points or more is "
            f"{RELIABLE}.",
        ),
        (
            "WHO5",
            (10, 12),
            "Since your first answers, your score has gone up by 8 percentage points. That is "
            "within the ups and downs that come from answering on different days, so it is not a "
            f"reliable change: {RULE_OF_THUMB}a change counts as reliable from 10 percentage "
            "points.",
        ),
        (
            "WHO5",
            (13, 10),
            "Since your first answers, your score has gone down by 12 percentage points. That is "
            f"a reliable deterioration: {RULE_OF_THUMB}a change of 10 percentage points or more "
            f"is {RELIABLE}. A score can't say why; your group's team is there to talk it "
            "through with you.",
        ),
        # UCLA-3: no published threshold, the change only.
        (
            "UCLA3",
            (8, 5),
            "Since your first answers, your score has gone down by 3. There is no published "
            "amount of change that counts as a reliable change on this questionnaire, so only "
            "the change is shown.",
        ),
        (
            "PHQ9",
            (14,),
            "This is your first score here. Once you have answered again, you'll see how it has "
            "changed.",
        ),
    ],
)
def test_the_members_words_for_a_change_use_the_reliable_change_rule(
    cohort: Any, code: str, totals: tuple[int, ...], words: str
) -> None:
    member = EnrollmentFactory(cohort=cohort).member
    for week, total in zip((0, 3), totals, strict=False):
        completed(member=member, cohort=cohort, code=code, total=total, week=week)
    (t,) = trajectories(Assessment.objects.filter(member=member), weeks=8, codes=[code])
    assert t.in_plain_words == words
