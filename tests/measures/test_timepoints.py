"""The member's chart, the group overview and the outcome report take the same baseline, latest
score and follow-up for a member, so they agree on change, reliable improvement and recovery."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from circlecare.accounts.models import User
from circlecare.measures import summaries
from circlecare.measures.models import Assessment, AssessmentStatus, Occasion, ScoreSummary
from circlecare.measures.outcomes import cohort_report
from circlecare.measures.queries import cohort_overview
from circlecare.measures.stats import DETERIORATED, IMPROVED
from circlecare.measures.timepoints import pick
from circlecare.measures.tracking import Trajectory, trajectories
from circlecare.programs.models import Cohort, ProgramKind
from tests.factories import CohortFactory, ProgramFactory
from tests.measures.factories import completed
from tests.measures.test_outcomes import enrol
from tests.measures.test_summaries import CODES, all_summaries, random_history

pytestmark = pytest.mark.django_db

WEEKS = 6
INTAKE, WEEKLY, FINAL = Occasion.INTAKE, Occasion.WEEKLY, Occasion.FINAL


@dataclass(frozen=True)
class Verdict:
    """What a page says about one member's change on one instrument."""

    follow_up: bool
    improved: bool
    deteriorated: bool
    recovered: bool | None  # None: the instrument has no clinical range


def chart_verdict(track: Trajectory) -> Verdict:
    caseness = track.instrument.caseness_threshold
    recovered = None
    if caseness is not None:
        assert track.baseline is not None
        recovered = (
            track.has_follow_up
            and track.baseline.total >= caseness
            and track.latest is not None
            and track.latest.total < caseness
        )
    return Verdict(
        follow_up=track.has_follow_up,
        improved=track.classification == IMPROVED,
        deteriorated=track.classification == DETERIORATED,
        recovered=recovered,
    )


def report_verdict(cohort: Cohort, code: str) -> Verdict:
    """The one member's figures in their group's report, as a verdict."""
    outcome = next(o for o in cohort_report(cohort).instruments if o.code == code)
    assert outcome.started == 1
    improved = outcome.reliable_improvement
    worse = outcome.reliable_deterioration
    assert improved and improved.itt and worse and worse.itt
    recovered = None
    if outcome.recovery is not None:
        recovered = bool(outcome.recovery.itt and outcome.recovery.itt.k)
    return Verdict(
        follow_up=outcome.with_follow_up == 1,
        improved=improved.itt.k == 1,
        deteriorated=worse.itt.k == 1,
        recovered=recovered,
    )


#: (instrument, scores as (week, occasion, total, hours after the week's start when completed),
#: what everyone should say, the overview's flag).
CASES = {
    # Intake reused from another group; week 3 answered twice (the schedule made it the final
    # week after the weekly one was answered). A second answer in the baseline's week is not a
    # follow-up: the chart called it a reliable improvement, the report "no follow-up".
    "two scores in the same week": (
        "PHQ9",
        [(3, WEEKLY, 14, 0), (3, FINAL, 6, 30)],
        Verdict(follow_up=False, improved=False, deteriorated=False, recovered=False),
        "no_follow_up",
    ),
    # A score from after the program's last week is not the result "by week 6": the chart
    # counted week 7's 5 as a reliable recovery, the report week 4's 13 as no reliable change.
    "a score after the last week": (
        "PHQ9",
        [(0, INTAKE, 15, 0), (4, WEEKLY, 13, 0), (7, WEEKLY, 5, 0)],
        Verdict(follow_up=True, improved=False, deteriorated=False, recovered=False),
        "no_reliable_change",
    ),
    # The intake was completed a day after the week 2 questionnaire. The intake is the baseline
    # whenever it was answered: the chart took the weekly score as the baseline and called the
    # change a reliable deterioration; the report a reliable recovery.
    "a late intake completed after a weekly one": (
        "PHQ9",
        [(2, WEEKLY, 9, 0), (0, INTAKE, 16, 14 * 24 + 24)],
        Verdict(follow_up=True, improved=True, deteriorated=False, recovered=True),
        "improved",
    ),
    # The last week answered again (weekly, then final a day later): the later answer is the
    # latest score. The report took the higher total of the two (14, no change) where the chart
    # took the later one (8, a reliable recovery).
    "a re-answered occasion": (
        "PHQ9",
        [(0, INTAKE, 15, 0), (6, WEEKLY, 14, 0), (6, FINAL, 8, 24)],
        Verdict(follow_up=True, improved=True, deteriorated=False, recovered=True),
        "improved",
    ),
    # The same on WHO-5, where higher is better: the higher of the two (20, +40 percentage
    # points) is not the member's later answer (12, +8).
    "a re-answered occasion on WHO-5": (
        "WHO5",
        [(0, INTAKE, 10, 0), (4, WEEKLY, 20, 0), (4, FINAL, 12, 24)],
        Verdict(follow_up=True, improved=False, deteriorated=False, recovered=None),
        "no_reliable_change",
    ),
}


def member_chart(cohort: Cohort, member: User) -> list[Trajectory]:
    client = Client()
    client.force_login(cohort.lead)
    response = client.get(f"/measures/groups/{cohort.pk}/members/{member.pk}/")
    assert response.status_code == 200
    tracks: list[Trajectory] = response.context["tracks"]
    return tracks


@pytest.mark.parametrize("case", list(CASES))
def test_the_chart_the_overview_and_the_report_classify_a_member_alike(case: str) -> None:
    code, scores, verdict, flag = CASES[case]
    kind = ProgramKind.THERAPY if code in CODES[ProgramKind.THERAPY] else ProgramKind.SKILLS
    cohort = CohortFactory(program=ProgramFactory(kind=kind, weeks=WEEKS))
    member = User.objects.create(email="one@example.org", display_name="One")
    enrol(cohort, member)
    start = timezone.now() - timedelta(weeks=10)
    for week, occasion, total, hours in scores:
        when = start + timedelta(weeks=week, hours=hours)
        completed(
            member=member, cohort=cohort, code=code, total=total, week=week, when=when,
            occasion=occasion,
        )  # fmt: skip

    (row,) = cohort_overview(cohort)
    overview = next(t for t in row.trajectories if t.code == code)
    chart = next(t for t in member_chart(cohort, member) if t.code == code)
    assert report_verdict(cohort, code) == verdict
    assert chart_verdict(overview) == verdict
    assert chart_verdict(chart) == verdict
    assert row.flag == flag
    # The summary the report reads holds the chart's baseline and latest score.
    summary = ScoreSummary.objects.get(member=member, cohort=cohort, instrument=code)
    for track in (overview, chart):
        assert track.baseline and track.latest
        assert (summary.baseline_week, summary.baseline_total) == (
            track.baseline.week,
            track.baseline.total,
        )
        assert (summary.last_week, summary.last_total) == (track.latest.week, track.latest.total)


def test_a_score_after_the_last_week_is_shown_but_not_counted() -> None:
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY, weeks=WEEKS))
    member = User.objects.create(email="late@example.org", display_name="Late")
    enrol(cohort, member)
    completed(member=member, cohort=cohort, code="PHQ9", total=15, week=0)
    completed(member=member, cohort=cohort, code="PHQ9", total=5, week=7)
    (chart, _) = member_chart(cohort, member)
    assert [p.week for p in chart.points] == [0, 7]
    assert (chart.has_follow_up, chart.latest and chart.latest.week) == (False, 0)
    client = Client()
    client.force_login(cohort.lead)
    page = client.get(f"/measures/groups/{cohort.pk}/members/{member.pk}/").content.decode()
    assert "After week 6: not counted in the change" in page
    assert "No follow-up score yet" in page


def test_a_risk_answer_answered_last_flags_the_member_whatever_its_week() -> None:
    """The latest score for outcomes is by programme week, but a risk answer is looked for on the
    PHQ-9 answered last: a late intake with a risk answer still puts the member first."""
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY, weeks=WEEKS))
    member = User.objects.create(email="risk@example.org", display_name="Risk")
    enrol(cohort, member)
    start = timezone.now() - timedelta(weeks=10)
    completed(member=member, cohort=cohort, code="PHQ9", total=9, week=2, when=start)
    completed(
        member=member, cohort=cohort, code="PHQ9", total=16, week=0,
        when=start + timedelta(days=1), risk=1,
    )  # fmt: skip
    (row,) = cohort_overview(cohort)
    phq = row.trajectories[0]
    assert phq.latest and phq.latest.week == 2 and phq.classification == IMPROVED
    assert row.flag == "risk" and phq.not_on_track


@pytest.mark.parametrize(("seed", "kind"), [(21, ProgramKind.THERAPY), (22, ProgramKind.SKILLS)])
def test_every_summary_holds_the_baseline_and_latest_the_chart_shows(seed: int, kind: str) -> None:
    """Random histories (two answers in one week, scores after the last week, bulk loads and
    submissions one by one): for every member, instrument and group, the summary the reports
    read and the trajectory the chart and overview draw pick the same two scores."""
    rng = random.Random(seed)
    program = ProgramFactory(kind=kind, weeks=rng.randint(3, 8))
    cohorts = [CohortFactory(program=program, capacity=60) for _ in range(2)]
    random_history(rng, program, cohorts)
    # Some answers completed out of programme order: later than the next week's.
    shuffled = list(Assessment.objects.filter(status=AssessmentStatus.COMPLETED))
    for row in rng.sample(shuffled, len(shuffled) // 4):
        assert row.completed_at is not None
        row.completed_at = row.completed_at + timedelta(days=rng.randint(1, 20))
        row.save(update_fields=["completed_at"])
    # Folded in one by one in any order, the summaries are the ones a rebuild makes.
    rows = list(Assessment.objects.filter(status=AssessmentStatus.COMPLETED))
    ScoreSummary.objects.all().delete()
    for row in rng.sample(rows, len(rows)):
        summaries.add(row)
    added = all_summaries()
    summaries.rebuild()
    assert all_summaries() == added
    seen = 0
    for summary in ScoreSummary.objects.all():
        mine = [
            r for r in rows if (r.member_id, r.cohort_id) == (summary.member_id, summary.cohort_id)
        ]
        (track,) = trajectories(mine, weeks=program.weeks, codes=[summary.instrument])
        assert track.baseline is not None
        assert (summary.baseline_week, summary.baseline_total) == (
            track.baseline.week,
            track.baseline.total,
        )
        if track.latest is None:
            assert summary.last_week is None
        else:
            assert (summary.last_week, summary.last_total) == (
                track.latest.week,
                track.latest.total,
            )
        assert (summary.last_week is not None and summary.last_week > summary.baseline_week) == (
            track.has_follow_up
        )
        seen += 1
    assert seen > 10


def test_pick_orders_by_week_then_completion_time_then_id() -> None:
    @dataclass
    class Row:
        meeting_week: int
        completed_at: datetime
        pk: int

    t = timezone.now()
    late_intake = Row(0, t + timedelta(days=9), 5)
    week_2 = Row(2, t, 1)
    week_4_first, week_4_again = (
        Row(4, t + timedelta(days=30), 3),
        Row(4, t + timedelta(days=31), 2),
    )
    same_time_low, same_time_high = (
        Row(5, t + timedelta(days=40), 6),
        Row(5, t + timedelta(days=40), 7),
    )
    after = Row(7, t + timedelta(days=50), 4)
    got = pick([after, week_4_again, week_2, late_intake, week_4_first], weeks=6)
    assert (got.baseline, got.latest, got.has_follow_up) == (late_intake, week_4_again, True)
    got = pick([same_time_high, same_time_low], weeks=6)
    assert (got.baseline, got.latest, got.has_follow_up) == (same_time_low, same_time_high, False)
    got = pick([after], weeks=6)
    assert (got.baseline, got.latest, got.has_follow_up) == (after, None, False)
