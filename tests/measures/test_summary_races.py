"""One member's scores for different weeks submitted at the same instant: the summary keeps the
earliest and the latest, whatever order the transactions commit in."""

from __future__ import annotations

import pytest

from circlecare.measures.models import Occasion, ScoreSummary
from circlecare.measures.services import submit_assessment
from circlecare.programs.models import ProgramKind
from tests.conftest import requires_postgres, someone_waits_for_a_lock
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


def test_a_first_score_submitted_while_a_seat_ends_is_marked_with_the_seat_ending() -> None:
    """A member's first score on an instrument arrives while their seat is being given up: the
    submission waits for the seat change (both hold the cohort row), so the new summary is
    written knowing they left, whichever commits first."""
    import threading

    from django.db import transaction
    from django.utils import timezone

    from circlecare.enrollment.models import Enrollment, EnrollmentStatus
    from circlecare.measures import summaries
    from circlecare.programs.models import Cohort

    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.SKILLS, weeks=4))
    member = UserFactory()
    now = timezone.now()
    seat = Enrollment.objects.create(
        member=member, cohort=cohort, status=EnrollmentStatus.CONFIRMED, queued_at=now,
        confirmed_at=now,
    )  # fmt: skip
    intake = AssessmentFactory(
        member=member, cohort=cohort, instrument="WHO5", occasion=Occasion.INTAKE, meeting_week=0
    )
    outcome: list[str] = []

    def submit() -> None:
        try:
            submit_assessment(assessment=intake, answers=answers_for("WHO5", 12), actor=member)
            outcome.append("stored")
        except Exception as exc:  # reported by the assertion below
            outcome.append(f"error: {exc!r}")
        finally:
            connections.close_all()

    from django.db import connections

    with transaction.atomic():
        # What the seat services do: lock the cohort, end the seat, refresh the flags.
        Cohort.objects.select_for_update().get(pk=cohort.pk)
        Enrollment.objects.filter(pk=seat.pk).update(
            status=EnrollmentStatus.WITHDRAWN, ended_at=now
        )
        summaries.seats_changed(member.pk, cohort.pk)
        submitter = threading.Thread(target=submit)
        submitter.start()
        waiting = someone_waits_for_a_lock(submitter.is_alive)
        assert waiting, f"the submission did not wait for the seat change: {outcome}"
    submitter.join(timeout=30)
    assert outcome == ["stored"]
    flags = ScoreSummary.objects.get(member=member, cohort=cohort, instrument="WHO5")
    assert (flags.seated, flags.left_early) == (True, True)
