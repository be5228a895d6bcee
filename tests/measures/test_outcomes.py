"""ITT and completer arithmetic on constructed cohorts with dropouts, Wilson values included."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.utils import timezone

from circlecare.accounts.models import User
from circlecare.enrollment.models import Enrollment, EnrollmentStatus
from circlecare.measures import summaries
from circlecare.measures.models import MeasurementPlan
from circlecare.measures.outcomes import cohort_report, program_report, report_csv
from circlecare.meetings.models import Attendance, AttendanceStatus, Meeting
from circlecare.programs.models import CohortStatus, ProgramKind
from tests.factories import CohortFactory, ProgramFactory
from tests.measures.factories import completed

pytestmark = pytest.mark.django_db


def members(n: int, prefix: str) -> list[User]:
    return User.objects.bulk_create(
        User(email=f"{prefix}{i}@example.org", display_name=f"{prefix} {i}") for i in range(n)
    )


def enrol(
    cohort: Any, member: User, status: str = EnrollmentStatus.CONFIRMED, *, attended: int = 2
) -> None:
    """A seat in ``cohort``, with ``attended`` meetings attended (two make a completer)."""
    now = timezone.now()
    Enrollment.objects.create(
        member=member, cohort=cohort, status=status, queued_at=now, confirmed_at=now
    )
    # As the seat services do with every seat change (the summaries keep where members stand).
    summaries.seats_changed(member.pk, cohort.pk)
    for number in range(1, attended + 1):
        start = now - timedelta(weeks=10 - number)
        meeting, _ = Meeting.objects.get_or_create(
            cohort=cohort, number=number,
            defaults={"starts_at": start, "ends_at": start + timedelta(hours=1),
                      "local_date": start.date(), "local_time": start.time()},
        )  # fmt: skip
        Attendance.objects.get_or_create(
            meeting=meeting,
            member=member,
            defaults={"status": AttendanceStatus.ATTENDED, "recorded_by": member, "at": start},
        )


def test_worked_example_160_started_100_followed_up_70_improved() -> None:
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=8)
    cohort = CohortFactory(program=program, capacity=60)
    other = CohortFactory(program=program, capacity=60)
    people = members(160, "m")
    for i, member in enumerate(people):
        group = cohort if i % 2 else other
        # 60 left early without a follow-up score; 100 have one, 70 of whom improved by ≥ 6.
        enrol(group, member, EnrollmentStatus.WITHDRAWN if i >= 100 else EnrollmentStatus.CONFIRMED)
        completed(member=member, cohort=group, code="PHQ9", total=16, week=0)
        if i < 70:
            completed(member=member, cohort=group, code="PHQ9", total=10, week=8)
        elif i < 100:
            completed(member=member, cohort=group, code="PHQ9", total=12, week=8)
    report = program_report(program, date(2000, 1, 1), date(2100, 1, 1))
    phq = report.instruments[0]
    assert (phq.code, phq.started, phq.with_follow_up, phq.left_early) == ("PHQ9", 160, 100, 60)
    improvement = phq.reliable_improvement
    assert improvement is not None and improvement.itt and improvement.completers
    assert improvement.itt.as_percentages() == (43.8, 36.3, 51.5)
    assert improvement.completers.as_percentages() == (70.0, 60.4, 78.1)
    assert "160" in report.sentence() and "no control group" in report.sentence()
    assert "43.8% (95% CI 36.3–51.5)" in report.sentence()
    assert "70.0% (95% CI 60.4–78.1)" in report.sentence()
    # All 160 were cases (16 ≥ 10); 70 fell to 10, which is still in caseness: no recovery.
    assert phq.recovery is not None and phq.recovery.itt is not None
    assert (phq.in_caseness, phq.recovery.itt.k) == (160, 0)


def test_small_cohort_with_dropouts_recovery_and_deterioration() -> None:
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=6)
    cohort = CohortFactory(program=program)
    people = members(10, "s")
    # (baseline, last or None, left early)
    plan = [
        (15, 8, False),  # reliable improvement + recovery (case → below 10): reliable recovery
        (12, 9, False),  # recovery, not reliable (fell by 3)
        (20, 14, False),  # reliable improvement, still a case
        (6, 13, False),  # reliable deterioration (not a case at baseline)
        (9, 9, False),  # no change, not a case
        (11, None, True),  # left early, no follow-up
        (14, None, False),  # no follow-up yet
        (16, 10, False),  # improved by exactly 6: reliable; still a case (10 ≥ 10)
        (10, 4, True),  # left early after a follow-up: reliable recovery
        (18, 13, False),  # improved by 5: not reliable; still a case
    ]
    for member, (base, last, left) in zip(people, plan, strict=True):
        enrol(cohort, member, EnrollmentStatus.WITHDRAWN if left else EnrollmentStatus.CONFIRMED)
        completed(member=member, cohort=cohort, code="PHQ9", total=base, week=0)
        if last is not None:
            completed(member=member, cohort=cohort, code="PHQ9", total=last, week=6)
    # A score after the program's last week is not counted "by week 6".
    completed(member=people[4], cohort=cohort, code="PHQ9", total=1, week=7)
    # Someone with no baseline never started.
    stranger = members(1, "x")[0]
    enrol(cohort, stranger)

    phq = cohort_report(cohort).instruments[0]
    assert (phq.started, phq.with_follow_up, phq.left_early) == (10, 8, 2)
    imp, det = phq.reliable_improvement, phq.reliable_deterioration
    assert imp and imp.itt and imp.completers and det and det.itt and det.completers
    assert (imp.itt.k, imp.itt.n, imp.completers.k, imp.completers.n) == (4, 10, 4, 8)
    assert (det.itt.k, det.itt.n) == (1, 10)
    rec, rrec = phq.recovery, phq.reliable_recovery
    assert rec and rec.itt and rec.completers and rrec and rrec.itt and rrec.completers
    # Cases at baseline: 15, 12, 20, 11, 14, 16, 10, 18 → 8; with follow-up: 6.
    assert phq.in_caseness == 8
    assert (rec.itt.k, rec.itt.n, rec.completers.k, rec.completers.n) == (3, 8, 3, 6)
    assert (rrec.itt.k, rrec.completers.k) == (2, 2)
    assert imp.itt.as_percentages() == (40.0, 16.8, 68.7)


def test_who5_uses_percentage_points_and_ucla3_gets_counts_only() -> None:
    program = ProgramFactory(kind=ProgramKind.SKILLS, weeks=4)
    cohort = CohortFactory(program=program)
    a, b, c = members(3, "w")
    for m in (a, b, c):
        enrol(cohort, m)
        completed(member=m, cohort=cohort, code="WHO5", total=10, week=0)
        completed(member=m, cohort=cohort, code="UCLA3", total=7, week=0)
    completed(member=a, cohort=cohort, code="WHO5", total=13, week=4)  # +12 points: reliable
    completed(member=b, cohort=cohort, code="WHO5", total=12, week=4)  # +8 points: not
    completed(member=c, cohort=cohort, code="WHO5", total=7, week=4)  # −12 points: worse
    completed(member=a, cohort=cohort, code="UCLA3", total=4, week=4)
    report = cohort_report(cohort)
    who5, ucla3 = report.instruments
    assert who5.code == "WHO5" and who5.reliable_improvement and who5.reliable_improvement.itt
    assert who5.reliable_improvement.itt.k == 1
    assert who5.reliable_deterioration and who5.reliable_deterioration.itt
    assert who5.reliable_deterioration.itt.k == 1
    assert who5.recovery is None  # no caseness threshold for WHO-5
    assert ucla3.reliable_improvement is None and (ucla3.started, ucla3.with_follow_up) == (3, 1)


def test_combined_phq_gad_counts_improved_when_neither_deteriorates() -> None:
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=4)
    cohort = CohortFactory(program=program)
    a, b, c = members(3, "c")
    rows = {a: (12, 5, 10, 10), b: (12, 5, 5, 10), c: (12, 10, 10, 5)}
    for m, (p0, p1, g0, g1) in rows.items():
        enrol(cohort, m)
        completed(member=m, cohort=cohort, code="PHQ9", total=p0, week=0)
        completed(member=m, cohort=cohort, code="PHQ9", total=p1, week=4)
        completed(member=m, cohort=cohort, code="GAD7", total=g0, week=0)
        completed(member=m, cohort=cohort, code="GAD7", total=g1, week=4)
    report = cohort_report(cohort)
    assert report.combined and report.combined.itt
    # a: PHQ better, GAD same → yes; b: PHQ better, GAD worse by 5 → no; c: GAD better → yes.
    assert (report.combined.itt.k, report.combined.itt.n) == (2, 3)


def test_a_member_who_rejoined_is_counted_once() -> None:
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=4)
    cohort = CohortFactory(program=program)
    (m,) = members(1, "r")
    enrol(cohort, m, EnrollmentStatus.WITHDRAWN)
    enrol(cohort, m)
    completed(member=m, cohort=cohort, code="PHQ9", total=12, week=0)
    phq = cohort_report(cohort).instruments[0]
    assert (phq.started, phq.left_early) == (1, 0)


def test_with_baselines_and_no_follow_up_yet_the_sentence_reports_no_result() -> None:
    """ "0 improved reliably: 0.0% (95% CI 0.0–39.0)" reads as a result; before anyone has a
    follow-up score there is none, and the sentence says so."""
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY, weeks=8))
    for m in members(5, "b"):
        enrol(cohort, m)
        completed(member=m, cohort=cohort, code="PHQ9", total=14, week=0)
    sentence = cohort_report(cohort).sentence()
    assert sentence.startswith("5 members started")
    # Its meetings of weeks 1 and 2 have been held: the group is still running.
    assert (
        "none has a follow-up score yet (the group is in week 2 of 8), so there is no result to "
        "report" in sentence
    )
    assert "%" not in sentence


def test_with_no_baselines_a_groups_report_speaks_of_the_group_not_a_period() -> None:
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=8, title="Closer")
    cohort = CohortFactory(program=program, name="Tuesdays")
    assert cohort_report(cohort).sentence() == (
        "No member who started Closer (Tuesdays) has a baseline score yet, so there is no "
        "result to report."
    )
    period = program_report(program, date(2020, 1, 1), date(2040, 1, 1)).sentence()
    assert period.startswith("No member who started Closer in this period has a baseline")


def _table_cells(report: Any) -> list[list[str]]:
    html = render_to_string("measures/_report_tables.html", {"report": report})
    return [
        [" ".join(cell.split()) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", html, re.S)
    ]


def test_with_no_follow_up_yet_the_tables_and_csv_say_so_and_keep_the_numbers() -> None:
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY, weeks=8))
    for m in members(6, "n"):
        enrol(cohort, m)
        completed(member=m, cohort=cohort, code="PHQ9", total=14, week=0)
        completed(member=m, cohort=cohort, code="GAD7", total=10, week=0)
    report = cohort_report(cohort)
    cells = _table_cells(report)
    improvement = next(
        row for row in cells if row[:2] == ["Reliable improvement", "everyone who started"]
    )
    # Intent-to-treat keeps the honest 0 of 6 and says why it is 0.
    assert improvement[2] == "0 of 6: 0.0% (0.0–39.0); nobody has a follow-up score yet"
    assert improvement[3] == "no follow-up scores yet"
    recovery = next(row for row in cells if row[0] == "Recovery")
    assert recovery[2].endswith("; nobody has a follow-up score yet")
    assert recovery[3] == "no follow-up scores yet"
    combined = next(row for row in cells if row[0].startswith("Reliable improvement on PHQ-9 or"))
    assert combined[2:] == [
        "0 of 6: 0.0% (0.0–39.0); nobody has a follow-up score yet",
        "no follow-up scores yet",
    ]
    assert not any("0.0%" in cell for row in cells for cell in row[3:4])

    rows = list(csv.DictReader(io.StringIO(report_csv(report))))
    itt, comp = (
        next(
            r
            for r in rows
            if r["instrument"] == "PHQ-9"
            and r["measure"] == "Reliable improvement"
            and r["analysis"] == a
        )
        for a in ("intent-to-treat", "completers")
    )
    assert (itt["k"], itt["n"], itt["percent"], itt["n_with_follow_up"]) == ("0", "6", "0.0", "0")
    assert (comp["k"], comp["n"], comp["percent"], comp["n_with_follow_up"]) == ("0", "0", "", "0")
    both = [r for r in rows if r["instrument"] == "PHQ-9 + GAD-7"]
    assert [(r["analysis"], r["n"], r["n_with_follow_up"]) for r in both] == [
        ("intent-to-treat", "6", "0"),
        ("completers", "0", "0"),
    ]


def test_follow_up_scores_without_completers_are_not_called_missing() -> None:
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY, weeks=4))
    for m in members(2, "w"):
        enrol(cohort, m, attended=1)
        completed(member=m, cohort=cohort, code="PHQ9", total=14, week=0)
        completed(member=m, cohort=cohort, code="PHQ9", total=6, week=4)
    report = cohort_report(cohort)
    improvement = next(row for row in _table_cells(report) if row[0] == "Reliable improvement")
    assert improvement[2] == "2 of 2: 100.0% (34.2–100.0)"
    assert improvement[3] == "no completers yet"
    rows = list(csv.DictReader(io.StringIO(report_csv(report))))
    itt = next(
        r
        for r in rows
        if r["measure"] == "Reliable improvement" and r["analysis"] == "intent-to-treat"
    )
    assert itt["n_with_follow_up"] == "2"


def test_program_report_period_and_csv() -> None:
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=4)
    soon = timezone.localdate() + timedelta(days=14)
    cohort = CohortFactory(program=program, first_meeting_date=soon)
    (m,) = members(1, "p")
    enrol(cohort, m)
    completed(member=m, cohort=cohort, code="PHQ9", total=12, week=0)
    completed(member=m, cohort=cohort, code="PHQ9", total=4, week=4)
    outside = program_report(program, soon + timedelta(days=1), soon + timedelta(days=30))
    assert outside.instruments[0].started == 0
    assert "no result to report" in outside.sentence()
    report = program_report(program, soon, soon)
    text = report_csv(report)
    assert (
        "PHQ-9,Reliable improvement,everyone who started,intent-to-treat,1,1,100.0,20.7,100.0"
        in text
    )
    assert "no control group" in text.lower() or "control group" in text


def test_report_csv_writes_titles_as_text_not_formulas() -> None:
    program = ProgramFactory(
        kind=ProgramKind.THERAPY, weeks=4, title='=HYPERLINK("https://example.com","Open")'
    )
    cohort = CohortFactory(program=program, name="@evening")
    (m,) = members(1, "f")
    enrol(cohort, m)
    completed(member=m, cohort=cohort, code="PHQ9", total=12, week=0)
    completed(member=m, cohort=cohort, code="PHQ9", total=4, week=4)
    rows = list(csv.reader(io.StringIO(report_csv(cohort_report(cohort)))))
    header, body = rows[0], rows[1:]
    assert {row[0] for row in body} == {'\'=HYPERLINK("https://example.com","Open") (@evening)'}
    started = next(row for row in body if row[header.index("measure")] == "started")
    # Counts are written as plain numbers.
    assert started[header.index("k")] == "1"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in body for cell in row)


def test_report_runs_a_fixed_number_of_queries(django_assert_num_queries: Any) -> None:
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=4)
    cohort = CohortFactory(program=program)
    for m in members(5, "q"):
        enrol(cohort, m)
        completed(member=m, cohort=cohort, code="PHQ9", total=12, week=0)
    # plan look-up, one grouped aggregate ("left early" included), the demo check; on PostgreSQL
    # the aggregate runs in a savepoint with JIT turned off (3 more statements).
    expected = 3 + (3 if connection.vendor == "postgresql" else 0)
    with django_assert_num_queries(expected):
        program_report(program, date(2000, 1, 1), date(2100, 1, 1))


def test_completers_attended_at_least_two_meetings() -> None:
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=8)
    cohort = CohortFactory(program=program)
    for i, member in enumerate(members(4, "a")):
        # All four improved; the last two came to only one meeting (or none).
        enrol(cohort, member, attended=[2, 3, 1, 0][i])
        completed(member=member, cohort=cohort, code="PHQ9", total=16, week=0)
        completed(member=member, cohort=cohort, code="PHQ9", total=8, week=8)
    phq = cohort_report(cohort).instruments[0]
    improvement = phq.reliable_improvement
    assert improvement and improvement.itt and improvement.completers
    assert (improvement.itt.k, improvement.itt.n) == (4, 4)
    assert (improvement.completers.k, improvement.completers.n) == (2, 2)
    assert phq.with_follow_up == 4


def test_ucla3_shows_which_way_scores_went_as_its_note_promises() -> None:
    """No published threshold: the report shows the change, as counts, with no verdict."""
    program = ProgramFactory(kind=ProgramKind.CARE_CIRCLE, weeks=4)
    cohort = CohortFactory(program=program)
    people = members(5, "u")
    for member, (base, last) in zip(
        people, [(7, 4), (6, 5), (5, 5), (4, 8), (7, None)], strict=True
    ):
        enrol(cohort, member)
        completed(member=member, cohort=cohort, code="UCLA3", total=base, week=0)
        if last is not None:
            completed(member=member, cohort=cohort, code="UCLA3", total=last, week=4)
    report = cohort_report(cohort)
    ucla3 = next(o for o in report.instruments if o.code == "UCLA3")
    assert ucla3.change is not None
    assert (ucla3.started, ucla3.with_follow_up) == (5, 4)
    assert (ucla3.change.lower, ucla3.change.same, ucla3.change.higher) == (2, 1, 1)
    html = render_to_string("measures/_report_tables.html", {"report": report})
    assert (
        "Of the 4 with a follow-up score, 2 scored lower at the last score, 1 the same and 1 "
        "higher (lower is better on the UCLA-3)." in html
    )
    rows = list(csv.DictReader(io.StringIO(report_csv(report))))
    lower = next(r for r in rows if r["measure"] == "score lower at the last score")
    assert (lower["instrument"], lower["k"], lower["n"]) == ("UCLA-3", "2", "4")


def test_ucla3_change_counts_hold_beside_the_phq9_gad7_figure() -> None:
    """A therapy plan with the UCLA-3 counts it on the one-row-per-member pass too."""
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=4)
    MeasurementPlan.objects.create(program=program, weekly_instruments="PHQ9,GAD7,UCLA3")
    cohort = CohortFactory(program=program)
    a, b = members(2, "t")
    for member, (base, last) in ((a, (8, 5)), (b, (4, 4))):
        enrol(cohort, member)
        for code, total in (("PHQ9", 12), ("GAD7", 9)):
            completed(member=member, cohort=cohort, code=code, total=total, week=0)
        completed(member=member, cohort=cohort, code="UCLA3", total=base, week=0)
        completed(member=member, cohort=cohort, code="UCLA3", total=last, week=4)
    report = cohort_report(cohort)
    assert report.combined is not None
    ucla3 = next(o for o in report.instruments if o.code == "UCLA3")
    assert ucla3.change is not None
    assert (ucla3.change.lower, ucla3.change.same, ucla3.change.higher) == (1, 1, 0)


def test_the_report_says_that_members_without_a_baseline_are_not_counted() -> None:
    """Two took a seat, one answered: "1 started" must say who that one is."""
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=4)
    cohort = CohortFactory(program=program)
    answered, silent = members(2, "b")
    enrol(cohort, answered)
    enrol(cohort, silent, EnrollmentStatus.WITHDRAWN)
    completed(member=answered, cohort=cohort, code="PHQ9", total=12, week=0)
    report = cohort_report(cohort)
    assert report.instruments[0].started == 1
    html = render_to_string("measures/_report_tables.html", {"report": report})
    assert ": 1 started with a baseline score, 0 with a follow-up score" in html
    assert "a member with no baseline score in the group" in html
    rows = csv.DictReader(io.StringIO(report_csv(report)))
    notes = [r["population"] for r in rows if r["measure"] == "note"]
    assert any(n.startswith("Started: took a seat") for n in notes)


def test_the_sentence_leads_with_the_phq9_whatever_order_a_therapy_plan_lists() -> None:
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=4, title="Steady")
    MeasurementPlan.objects.create(program=program, weekly_instruments="UCLA3,PHQ9,GAD7")
    cohort = CohortFactory(program=program)
    (m,) = members(1, "p")
    enrol(cohort, m)
    for code, first, last in (("UCLA3", 7, 6), ("PHQ9", 16, 8), ("GAD7", 12, 6)):
        completed(member=m, cohort=cohort, code=code, total=first, week=0)
        completed(member=m, cohort=cohort, code=code, total=last, week=4)
    report = cohort_report(cohort)
    assert [o.code for o in report.instruments] == ["UCLA3", "PHQ9", "GAD7"]
    assert report.primary is not None and report.primary.code == "PHQ9"
    assert "1 improved reliably on the PHQ-9" in report.sentence()


def test_a_running_groups_figures_are_results_so_far_not_by_its_last_week() -> None:
    """In week 2 of 8, "by week 8" would claim a result the group has not reached."""
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=8)
    cohort = CohortFactory(program=program, status=CohortStatus.RUNNING)
    (m,) = members(1, "g")
    enrol(cohort, m)  # meetings of weeks 1 and 2, both held
    completed(member=m, cohort=cohort, code="PHQ9", total=16, week=0)
    completed(member=m, cohort=cohort, code="PHQ9", total=8, week=2)
    running = cohort_report(cohort)
    assert running.reached_week == 2
    assert "1 improved reliably on the PHQ-9 so far, in week 2 of 8:" in running.sentence()
    assert running.sentence().startswith("Of 1 member who started ")
    html = render_to_string("measures/_report_tables.html", {"report": running})
    assert "<caption>PHQ-9 so far, in week 2 of 8: 1 started" in html
    rows = list(csv.DictReader(io.StringIO(report_csv(running))))
    assert any(
        r["population"] == "The group is still running: these are results so far, in week 2 "
        "of 8, not by week 8."
        for r in rows
        if r["measure"] == "note"
    )
    cohort.status = CohortStatus.FINISHED
    cohort.save(update_fields=["status"])
    finished = cohort_report(cohort)
    assert finished.reached_week is None
    assert "1 improved reliably on the PHQ-9 by week 8:" in finished.sentence()


def test_a_program_report_says_when_some_of_its_groups_have_not_finished() -> None:
    """The default period runs 90 days ahead: members of a group yet to finish count as
    started and, without a follow-up, as not improved. The report says so."""
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=4)
    done = CohortFactory(program=program, status=CohortStatus.FINISHED)
    ahead = CohortFactory(program=program, status=CohortStatus.OPEN)
    a, b = members(2, "f")
    for member, cohort in ((a, done), (b, ahead)):
        enrol(cohort, member)
        completed(member=member, cohort=cohort, code="PHQ9", total=14, week=0)
    completed(member=a, cohort=done, code="PHQ9", total=6, week=4)
    report = program_report(program, date(2000, 1, 1), date(2100, 1, 1))
    note = (
        "1 of the 2 groups in this period has not finished: their members count as started, "
        "and those without a follow-up score yet count as not improved, so these figures will "
        "change."
    )
    assert note in report.notes
    html = render_to_string("measures/_report_tables.html", {"report": report})
    assert note in html
    rows = csv.DictReader(io.StringIO(report_csv(report)))
    assert note in [r["population"] for r in rows if r["measure"] == "note"]
    ahead.status = CohortStatus.FINISHED
    ahead.save(update_fields=["status"])
    later = program_report(program, date(2000, 1, 1), date(2100, 1, 1))
    assert not any("not finished" in n for n in later.notes)


def test_a_group_yet_to_meet_says_so() -> None:
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=8)
    cohort = CohortFactory(program=program, status=CohortStatus.OPEN)
    (m,) = members(1, "y")
    enrol(cohort, m, attended=0)
    completed(member=m, cohort=cohort, code="PHQ9", total=12, week=0)
    report = cohort_report(cohort)
    assert (report.reached_week, report.window) == (0, "so far, before the group's first meeting")
    assert "none has a follow-up score yet (the group has not met yet)" in report.sentence()


def test_members_of_a_cancelled_group_started_but_did_not_leave_early() -> None:
    """Cancelling a group ends every seat in it: its members still count as started (those
    without a follow-up score as not improved), but not as having left early, and the report
    says how many groups were cancelled."""
    from circlecare.enrollment import services as seats

    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=4)
    ran, cancelled = CohortFactory(program=program), CohortFactory(program=program)
    stayed, left, *in_cancelled = members(4, "c")
    for cohort, member in ((ran, stayed), (ran, left), (cancelled, in_cancelled[0])):
        enrol(cohort, member)
    enrol(cancelled, in_cancelled[1])
    for member, cohort in ((stayed, ran), (left, ran), *((m, cancelled) for m in in_cancelled)):
        completed(member=member, cohort=cohort, code="PHQ9", total=14, week=0)
    Enrollment.objects.filter(member=left).update(status=EnrollmentStatus.WITHDRAWN)
    summaries.seats_changed(left.pk, ran.pk)
    seats.cancel_cohort(
        cohort=cancelled, actor=User.objects.create(email="coord@example.org", is_staff=True)
    )
    today = timezone.localdate()
    report = program_report(program, today - timedelta(days=365), today + timedelta(days=365))
    phq = report.instruments[0]
    assert (phq.started, phq.left_early) == (4, 1)
    assert any(
        note.startswith("1 of the 2 groups were cancelled by the practice: its members count")
        for note in report.notes
    )
    one = cohort_report(cancelled)
    assert (one.instruments[0].started, one.instruments[0].left_early) == (2, 0)
    assert any(
        note.startswith("The practice cancelled this group: its members") for note in one.notes
    )
    assert not any("cancelled" in note for note in cohort_report(ran).notes)


def test_summaries_written_before_say_a_cancelled_groups_members_did_not_leave_early() -> None:
    from circlecare.measures.models import ScoreSummary
    from tests.migrations import run_python

    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=4)
    cohort = CohortFactory(program=program)
    ended_by_cancelling, withdrew = members(2, "m")
    for member in (ended_by_cancelling, withdrew):
        enrol(cohort, member)
        completed(member=member, cohort=cohort, code="PHQ9", total=14, week=0)
    Enrollment.objects.filter(member=ended_by_cancelling).update(
        status=EnrollmentStatus.REMOVED, end_reason="group cancelled"
    )
    Enrollment.objects.filter(member=withdrew).update(
        status=EnrollmentStatus.WITHDRAWN, end_reason="withdrew"
    )
    ScoreSummary.objects.update(left_early=True)  # as the earlier rule wrote them
    run_python("measures", "0007_cancelled_groups_not_left_early", "forward")
    flags = dict(ScoreSummary.objects.values_list("member_id", "left_early"))
    assert flags == {ended_by_cancelling.pk: False, withdrew.pk: True}


def test_a_group_cancelled_in_week_3_reports_by_week_3_not_by_its_last_week() -> None:
    """A group the practice cancelled after three of its eight meetings has no score from later
    than week 3: "by week 8" would claim a window its members never reached."""
    from circlecare.enrollment import services as seats

    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=8)
    cohort = CohortFactory(program=program, status=CohortStatus.RUNNING)
    (m,) = members(1, "k")
    enrol(cohort, m, attended=3)  # meetings of weeks 1 to 3, all held
    later = timezone.now() + timedelta(days=2)
    Meeting.objects.create(
        cohort=cohort, number=4, starts_at=later, ends_at=later + timedelta(hours=1),
        local_date=later.date(), local_time=later.time(),
    )  # fmt: skip
    completed(member=m, cohort=cohort, code="PHQ9", total=16, week=0)
    completed(member=m, cohort=cohort, code="PHQ9", total=8, week=3)
    seats.cancel_cohort(
        cohort=cohort, actor=User.objects.create(email="coord@example.org", is_staff=True)
    )
    cohort.refresh_from_db()
    report = cohort_report(cohort)
    sentence = report.sentence()
    assert "by week 8" not in sentence
    assert (
        "1 improved reliably on the PHQ-9 by week 3 of 8, when the group was cancelled:" in sentence
    )
    html = render_to_string("measures/_report_tables.html", {"report": report})
    assert "<caption>PHQ-9 by week 3 of 8, when the group was cancelled: 1 started" in html
    # Its fourth meeting's date passing later does not move the week it ended in.
    in_a_week = cohort_report(cohort, now=timezone.now() + timedelta(weeks=1))
    assert in_a_week.window == "by week 3 of 8, when the group was cancelled"


def test_a_group_cancelled_before_it_met_says_so() -> None:
    from circlecare.enrollment import services as seats

    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY, weeks=8))
    (m,) = members(1, "b")
    enrol(cohort, m, attended=0)
    completed(member=m, cohort=cohort, code="PHQ9", total=12, week=0)
    seats.cancel_cohort(
        cohort=cohort, actor=User.objects.create(email="coord@example.org", is_staff=True)
    )
    cohort.refresh_from_db()
    sentence = cohort_report(cohort).sentence()
    assert "by week 8" not in sentence
    assert "none has a follow-up score (the group was cancelled before it met)" in sentence
