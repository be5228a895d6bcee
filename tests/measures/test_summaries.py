"""Score summaries stay right however scores arrive, and the outcome report read from them
gives the same figures as a computation from the raw scores."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from circlecare.accounts.models import User
from circlecare.enrollment.models import Enrollment, EnrollmentStatus
from circlecare.measures import summaries
from circlecare.measures.models import Assessment, AssessmentStatus, Occasion, ScoreSummary
from circlecare.measures.outcomes import OutcomeReport, cohort_report, program_report
from circlecare.measures.services import submit_assessment
from circlecare.meetings.models import Attendance, AttendanceStatus, Meeting
from circlecare.programs.models import Cohort, Program, ProgramKind
from tests.factories import CohortFactory, ProgramFactory
from tests.measures.factories import AssessmentFactory, answers_for, completed

pytestmark = pytest.mark.django_db

#: The published rules (MEASURES.md), written out again so the check does not share code with
#: the report: reliable change (in the units it is stated in), caseness, higher is worse, and
#: the factor from raw total to those units.
RULES: dict[str, tuple[int | None, int | None, bool, int]] = {
    "PHQ9": (6, 10, True, 1),
    "GAD7": (4, 8, True, 1),
    "WHO5": (10, None, False, 4),
    "UCLA3": (None, None, True, 1),
}
CODES = {ProgramKind.THERAPY: ("PHQ9", "GAD7"), ProgramKind.SKILLS: ("WHO5", "UCLA3")}
#: Totals reachable with PHQ-9 item 9 at 0 (no risk alerts in these tests).
RANGES = {"PHQ9": (0, 24), "GAD7": (0, 21), "WHO5": (0, 25), "UCLA3": (3, 9)}


def summary_of(member: Any, cohort: Any, code: str) -> tuple[Any, ...] | None:
    row = ScoreSummary.objects.filter(member=member, cohort=cohort, instrument=code).first()
    if row is None:
        return None
    return (row.baseline_week, row.baseline_total, row.last_week, row.last_total)


def all_summaries() -> set[tuple[Any, ...]]:
    return set(
        ScoreSummary.objects.values_list(
            "member_id",
            "cohort_id",
            "instrument",
            "weeks",
            "baseline_week",
            "baseline_total",
            "baseline_at",
            "baseline_assessment_id",
            "last_week",
            "last_total",
            "last_at",
            "last_assessment_id",
            "seated",
            "left_early",
        )
    )


# --- the summary itself ---------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_submissions_in_any_order_leave_the_same_summary(seed: int) -> None:
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=6)
    cohort = CohortFactory(program=program)
    rng = random.Random(seed)
    member = User.objects.create(email=f"order{seed}@example.org", display_name="O")
    totals = {week: rng.randint(0, 24) for week in (0, 2, 3, 4, 5, 6, 7)}
    rows = [
        AssessmentFactory(
            member=member,
            cohort=cohort,
            instrument="PHQ9",
            occasion=Occasion.INTAKE if week == 0 else Occasion.WEEKLY,
            meeting_week=week,
        )
        for week in totals
    ]
    rng.shuffle(rows)
    for row in rows:
        submit_assessment(
            assessment=row, answers=answers_for("PHQ9", totals[row.meeting_week]), actor=member
        )
    # Week 7 lies beyond the program's six weeks: it is not the last score "by week 6".
    assert summary_of(member, cohort, "PHQ9") == (0, totals[0], 6, totals[6])
    before = all_summaries()
    summaries.rebuild()
    assert all_summaries() == before


@pytest.mark.parametrize("order", [(0, 1, 2, 3, 4), (4, 3, 2, 1, 0), (2, 4, 0, 3, 1)])
def test_two_answers_in_one_week_count_in_the_order_they_were_completed(
    order: tuple[int, ...],
) -> None:
    """The later of two answers in the last week is the last score, and the intake is the
    baseline though it was completed after a weekly one: whatever order the scores are folded in,
    and as a rebuild makes them."""
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=6)
    cohort = CohortFactory(program=program)
    member = User.objects.create(email=f"week{order}@example.org", display_name="W")
    start = timezone.now() - timedelta(weeks=10)
    scores = [
        # (week, occasion, total, completed after the start): the intake a day after week 2's.
        (0, Occasion.INTAKE, 16, timedelta(weeks=2, days=1)),
        (2, Occasion.WEEKLY, 9, timedelta(weeks=2)),
        (6, Occasion.WEEKLY, 12, timedelta(weeks=6)),
        (6, Occasion.FINAL, 4, timedelta(weeks=6, days=1)),  # answered again, later
        (7, Occasion.WEEKLY, 1, timedelta(weeks=7)),  # after the last week
    ]
    rows = [
        Assessment.scored(
            member_id=member.pk, cohort=cohort, code="PHQ9", occasion=occasion, week=week,
            answers=answers_for("PHQ9", total), when=start + after,
        )
        for week, occasion, total, after in scores
    ]  # fmt: skip
    for i in order:
        rows[i].save()
        summaries.add(rows[i])
    assert summary_of(member, cohort, "PHQ9") == (0, 16, 6, 4)
    summary = ScoreSummary.objects.get(member=member, cohort=cohort)
    assert (summary.baseline_assessment_id, summary.last_assessment_id) == (rows[0].pk, rows[3].pk)
    folded = all_summaries()
    summaries.rebuild()
    assert all_summaries() == folded


def test_a_rebuild_repairs_a_changed_score_and_checkins_are_left_out() -> None:
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY, weeks=4))
    member = User.objects.create(email="fix@example.org", display_name="F")
    completed(member=member, cohort=cohort, code="PHQ9", total=14, week=0)
    last = completed(member=member, cohort=cohort, code="PHQ9", total=9, week=4)
    assert summary_of(member, cohort, "PHQ9") == (0, 14, 4, 9)
    # Scores are never edited by the product; a repair made in bulk is followed by a rebuild.
    Assessment.objects.filter(pk=last.pk).update(total=12)
    summaries.rebuild(pairs=[(member.pk, cohort.pk)])
    assert summary_of(member, cohort, "PHQ9") == (0, 14, 4, 12)
    Assessment.objects.filter(pk=last.pk).update(meeting_week=2)
    summaries.rebuild(cohorts=Cohort.objects.filter(pk=cohort.pk), instrument="PHQ9")
    assert summary_of(member, cohort, "PHQ9") == (0, 14, 2, 12)
    checkin = AssessmentFactory(
        member=member,
        cohort=cohort,
        instrument="CHECKIN",
        occasion=Occasion.CHECKIN,
        meeting_week=1,
        status=AssessmentStatus.COMPLETED,
        completed_at=timezone.now(),
        total=30,
    )
    summaries.add(checkin)
    summaries.rebuild()
    assert summary_of(member, cohort, "CHECKIN") is None
    assert ScoreSummary.objects.count() == 1


def test_the_seat_services_keep_where_a_member_stands_on_their_summaries() -> None:
    """Intake comes before a seat; taking it, leaving and coming back are each reflected on the
    summaries at once, and the report counts from them."""
    from circlecare.enrollment import services
    from tests.enrollment.factories import only_enrollment_steps, ready_member

    program = ProgramFactory(kind=ProgramKind.SKILLS, weeks=4)
    cohort = CohortFactory(program=program, capacity=1)
    member, other = ready_member(), ready_member()

    def stands(person: Any) -> set[tuple[bool, bool]]:
        rows = ScoreSummary.objects.filter(member=person, cohort=cohort)
        return set(rows.values_list("seated", "left_early"))

    completed(member=member, cohort=cohort, code="WHO5", total=10, week=0)
    completed(member=other, cohort=cohort, code="WHO5", total=10, week=0)
    assert stands(member) == {(False, False)}
    with only_enrollment_steps():
        seat = services.enroll(member=member, cohort=cohort)
        services.enroll(member=other, cohort=cohort)  # waits: never seated, never counted
        assert stands(member) == {(True, False)}
        assert cohort_report(cohort).instruments[0].started == 1
        services.withdraw(enrollment=seat)
        assert stands(member) == {(True, True)}
        assert stands(other) == {(False, False)}  # offered, not yet confirmed
        report = cohort_report(cohort).instruments[0]
        assert (report.started, report.left_early) == (1, 1)
        offer = Enrollment.objects.get(member=other, cohort=cohort)
        services.accept_offer(enrollment=offer)
        assert stands(other) == {(True, False)}
        services.withdraw(enrollment=offer)
        services.enroll(member=member, cohort=cohort)  # back in the group
    assert stands(member) == {(True, False)}
    report = cohort_report(cohort).instruments[0]
    assert (report.started, report.left_early) == (2, 1)
    # A rebuild from the enrollments agrees with what the services kept.
    kept = all_summaries()
    summaries.rebuild()
    assert all_summaries() == kept


def test_a_change_in_the_programs_weeks_is_picked_up_by_the_report() -> None:
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=8)
    cohort = CohortFactory(program=program)
    member = User.objects.create(email="weeks@example.org", display_name="W")
    Enrollment.objects.create(
        member=member,
        cohort=cohort,
        status=EnrollmentStatus.CONFIRMED,
        queued_at=timezone.now(),
        confirmed_at=timezone.now(),
    )
    completed(member=member, cohort=cohort, code="PHQ9", total=16, week=0)
    completed(member=member, cohort=cohort, code="PHQ9", total=15, week=4)
    completed(member=member, cohort=cohort, code="PHQ9", total=6, week=8)
    phq = cohort_report(cohort).instruments[0]
    assert phq.reliable_improvement and phq.reliable_improvement.itt
    assert phq.reliable_improvement.itt.k == 1
    Program.objects.filter(pk=program.pk).update(weeks=6)
    cohort = Cohort.objects.select_related("program").get(pk=cohort.pk)
    phq = cohort_report(cohort).instruments[0]
    # By week 6 the last score is week 4's 15: one point better, not a reliable improvement.
    assert phq.reliable_improvement and phq.reliable_improvement.itt
    assert (phq.with_follow_up, phq.reliable_improvement.itt.k) == (1, 0)
    assert summary_of(member, cohort, "PHQ9") == (0, 16, 4, 15)


# --- the report from summaries against the raw scores ---------------------------------------


@dataclass
class Expected:
    started: int = 0
    follow_up: int = 0
    left: int = 0
    completers: int = 0
    improved: int = 0
    c_improved: int = 0
    deteriorated: int = 0
    c_deteriorated: int = 0
    case: int = 0
    c_case: int = 0
    recovered: int = 0
    c_recovered: int = 0
    reliably_recovered: int = 0
    c_reliably_recovered: int = 0


def expected_from_raw(program: Program, cohorts: list[Cohort]) -> dict[str, Any]:
    """Every figure computed in Python from the assessments, enrollments and attendance."""
    weeks = program.weeks
    codes = CODES[ProgramKind(program.kind)]
    result: dict[str, Any] = {code: Expected() for code in codes}
    combined = {"started": 0, "completers": 0, "improved": 0, "c_improved": 0}
    cohort_ids = [c.pk for c in cohorts]
    seats = Enrollment.objects.filter(cohort_id__in=cohort_ids, confirmed_at__isnull=False)
    seated = {(e.member_id, e.cohort_id) for e in seats}
    latest: dict[tuple[int, int], list[str]] = {}
    for e in seats:
        latest.setdefault((e.member_id, e.cohort_id), []).append(e.status)
    attended: dict[tuple[int, int], int] = {}
    for a in Attendance.objects.filter(
        meeting__cohort_id__in=cohort_ids,
        status__in=[AttendanceStatus.ATTENDED, AttendanceStatus.LATE],
    ).select_related("meeting"):
        key = (a.member_id, a.meeting.cohort_id)
        attended[key] = attended.get(key, 0) + 1
    # (week, completed at, id, total): sorted, the first is the baseline and the last the last
    # score (by week, then completion time; the id settles a tie in time).
    scores: dict[tuple[int, int, str], list[tuple[int, Any, int, int]]] = {}
    for a in Assessment.objects.filter(
        cohort_id__in=cohort_ids, status=AssessmentStatus.COMPLETED, meeting_week__lte=weeks
    ):
        assert a.total is not None
        scores.setdefault((a.member_id, a.cohort_id, a.instrument), []).append(
            (a.meeting_week, a.completed_at, a.pk, a.total)
        )
    for member_id, cohort_id in sorted(seated):
        flags: dict[str, dict[str, bool]] = {}
        completer_by_meetings = attended.get((member_id, cohort_id), 0) >= 2
        for code in codes:
            points = scores.get((member_id, cohort_id, code))
            if not points:
                continue
            (bw, _, _, base), (lw, _, _, last) = min(points), max(points)
            follow = lw > bw
            threshold, case_at, worse_up, factor = RULES[code]
            better = (base - last if worse_up else last - base) * factor
            improved = follow and threshold is not None and better >= threshold
            worse = follow and threshold is not None and better <= -threshold
            completer = follow and completer_by_meetings
            out = result[code]
            out.started += 1
            out.follow_up += follow
            out.completers += completer
            out.improved += improved
            out.c_improved += improved and completer
            out.deteriorated += worse
            out.c_deteriorated += worse and completer
            if case_at is not None and base >= case_at:
                recovered = follow and last < case_at
                out.case += 1
                out.c_case += follow and completer
                out.recovered += recovered
                out.c_recovered += recovered and completer
                out.reliably_recovered += recovered and improved
                out.c_reliably_recovered += recovered and improved and completer
            statuses = latest[(member_id, cohort_id)]
            left = any(s in ("withdrawn", "removed") for s in statuses) and not any(
                s in ("confirmed", "completed") for s in statuses
            )
            out.left += left
            flags[code] = {"follow": follow, "improved": improved, "worse": worse}
        if program.kind == ProgramKind.THERAPY and len(flags) == 2:
            phq, gad = flags["PHQ9"], flags["GAD7"]
            combined["started"] += 1
            both_follow = phq["follow"] and gad["follow"]
            good = (
                both_follow
                and (phq["improved"] or gad["improved"])
                and not (phq["worse"] or gad["worse"])
            )
            both_completer = both_follow and completer_by_meetings
            combined["completers"] += both_completer
            combined["improved"] += good
            combined["c_improved"] += good and both_completer
    result["combined"] = combined
    return result


def kn(figure: Any, analysis: str) -> tuple[int, int]:
    value = getattr(figure, analysis)
    return (0, 0) if value is None else (value.k, value.n)


def assert_report_matches(report: OutcomeReport, expected: dict[str, Any]) -> None:
    for outcome in report.instruments:
        e: Expected = expected[outcome.code]
        assert (outcome.started, outcome.with_follow_up, outcome.left_early) == (
            e.started,
            e.follow_up,
            e.left,
        ), outcome.code
        if outcome.reliable_improvement is not None:
            assert kn(outcome.reliable_improvement, "itt") == (e.improved, e.started)
            assert kn(outcome.reliable_improvement, "completers") == (e.c_improved, e.completers)
            assert outcome.reliable_deterioration is not None
            assert kn(outcome.reliable_deterioration, "itt") == (e.deteriorated, e.started)
            assert kn(outcome.reliable_deterioration, "completers") == (
                e.c_deteriorated,
                e.completers,
            )
        if outcome.recovery is not None:
            assert outcome.in_caseness == e.case
            assert kn(outcome.recovery, "itt") == (e.recovered, e.case)
            assert kn(outcome.recovery, "completers") == (e.c_recovered, e.c_case)
            assert outcome.reliable_recovery is not None
            assert kn(outcome.reliable_recovery, "itt") == (e.reliably_recovered, e.case)
            assert kn(outcome.reliable_recovery, "completers") == (
                e.c_reliably_recovered,
                e.c_case,
            )
    combined = expected["combined"]
    if report.combined is not None:
        assert kn(report.combined, "itt") == (combined["improved"], combined["started"])
        assert kn(report.combined, "completers") == (
            combined["c_improved"],
            combined["completers"],
        )


def random_history(rng: random.Random, program: Program, cohorts: list[Cohort]) -> None:
    """Members with seats (some left, some left and came back, some never confirmed), scores
    in every state and week (intake reused, ties in one week, weeks beyond the program's last),
    and attendance; scores saved one by one or in bulk and then rebuilt."""
    codes = CODES[ProgramKind(program.kind)]
    now = timezone.now()
    bulk: list[Assessment] = []
    bulk_pairs: list[tuple[int, int]] = []
    people = User.objects.bulk_create(
        User(email=f"r{rng.random()}@example.org", display_name="R") for _ in range(36)
    )
    for i, member in enumerate(people):
        cohort = cohorts[i % len(cohorts)]
        story = rng.random()
        if story < 0.1:
            status = EnrollmentStatus.WAITLISTED
        elif story < 0.3:
            status = rng.choice([EnrollmentStatus.WITHDRAWN, EnrollmentStatus.REMOVED])
        else:
            status = rng.choice([EnrollmentStatus.CONFIRMED, EnrollmentStatus.COMPLETED])
        confirmed = None if status == EnrollmentStatus.WAITLISTED else now
        if rng.random() < 0.1:  # left once, then came back
            Enrollment.objects.create(
                member=member,
                cohort=cohort,
                status=EnrollmentStatus.WITHDRAWN,
                queued_at=now,
                confirmed_at=now,
            )
        Enrollment.objects.create(
            member=member, cohort=cohort, status=status, queued_at=now, confirmed_at=confirmed
        )
        for number in range(1, rng.randint(0, 4) + 1):
            start = now - timedelta(weeks=10 - number)
            meeting, _ = Meeting.objects.get_or_create(
                cohort=cohort,
                number=number,
                defaults={
                    "starts_at": start,
                    "ends_at": start + timedelta(hours=1),
                    "local_date": start.date(),
                    "local_time": start.time(),
                },
            )
            Attendance.objects.create(
                meeting=meeting,
                member=member,
                status=rng.choice(list(AttendanceStatus)),
                recorded_by=member,
                at=start,
            )
        in_bulk = rng.random() < 0.5
        for code in codes:
            low, high = RANGES[code]
            weeks = sorted(rng.sample(range(program.weeks + 3), rng.randint(0, 5)))
            for week in weeks:
                occasions = [Occasion.INTAKE if week == 0 else Occasion.WEEKLY]
                if week and rng.random() < 0.15:
                    occasions.append(Occasion.FINAL)  # two scores in one week
                for occasion in occasions:
                    total = rng.randint(low, high)
                    if rng.random() < 0.15:
                        AssessmentFactory(
                            member=member,
                            cohort=cohort,
                            instrument=code,
                            occasion=occasion,
                            meeting_week=week,
                            status=AssessmentStatus.MISSED,
                        )
                        continue
                    row = Assessment.scored(
                        member_id=member.pk,
                        cohort=cohort,
                        code=code,
                        occasion=occasion,
                        week=week,
                        answers=answers_for(code, total),
                        when=now - timedelta(weeks=10 - week),
                    )
                    if in_bulk:
                        bulk.append(row)
                    else:
                        row.save()
                        summaries.add(row)
        if in_bulk:
            bulk_pairs.append((member.pk, cohort.pk))
    Assessment.objects.bulk_create(bulk)
    summaries.rebuild(pairs=bulk_pairs)


@pytest.mark.parametrize(
    ("seed", "kind"),
    [
        (11, ProgramKind.THERAPY),
        (12, ProgramKind.THERAPY),
        (13, ProgramKind.SKILLS),
        (14, ProgramKind.THERAPY),
        (15, ProgramKind.SKILLS),
        (16, ProgramKind.THERAPY),
    ],
)
def test_report_from_summaries_matches_the_raw_scores(seed: int, kind: str) -> None:
    rng = random.Random(seed)
    program = ProgramFactory(kind=kind, weeks=rng.randint(3, 8))
    cohorts = [CohortFactory(program=program, capacity=60) for _ in range(3)]
    random_history(rng, program, cohorts)
    expected = expected_from_raw(program, cohorts)
    report = program_report(program, date(2000, 1, 1), date(2100, 1, 1))
    assert report.instruments[0].started > 0
    assert_report_matches(report, expected)
    assert_report_matches(cohort_report(cohorts[0]), expected_from_raw(program, cohorts[:1]))
    # Rebuilt from scratch (what the data migration does), the summaries are the same ones.
    incremental = all_summaries()
    ScoreSummary.objects.all().delete()
    summaries.rebuild()
    assert all_summaries() == incremental
    assert_report_matches(program_report(program, date(2000, 1, 1), date(2100, 1, 1)), expected)


def test_the_demo_history_has_the_summaries_a_rebuild_would_make() -> None:
    call_command("demo", stdout=io.StringIO())
    seeded = all_summaries()
    assert seeded
    ScoreSummary.objects.all().delete()
    summaries.rebuild()
    assert all_summaries() == seeded
