"""Outcome report at scale: 100 000 members × 9 assessments on PostgreSQL.

Creates its own database, fills it (users and enrollments with bulk_create in batches, the
900 000 assessments with COPY, answers encrypted as in production, then the score summaries
with one set-based rebuild, as after any bulk load), then times
``program_report`` against one full-table ``COUNT(*)`` of the assessments table in the same run
and prints the ratio (target ≤ 3×) and the process's peak memory. The database is dropped at the
end, also on failure.

    .venv/bin/python bench/outcomes_scale.py [--members 100000] [--keep]

Needs a PostgreSQL server (``BENCH_PG``, default ``postgres://postgres@127.0.0.1:5432``) whose
role may create databases.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "circlecare_bench_outcomes"
SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432").rstrip("/")
PER_MEMBER = 9
GROUP_SIZE = 10
BATCH = 5000


def progress(label: str, done: int, total: int, started: float) -> None:
    width = 30
    filled = int(width * done / total) if total else width
    rate = done / max(time.perf_counter() - started, 1e-9)
    sys.stdout.write(
        f"\r  {label:<12} [{'#' * filled}{'.' * (width - filled)}] {done:>9,}/{total:,} "
        f"({rate:,.0f}/s)"
    )
    if done >= total:
        sys.stdout.write("\n")
    sys.stdout.flush()


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def setup_django() -> None:
    os.environ["DATABASE_URL"] = f"{SERVER}/{DB_NAME}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "circlecare.settings")
    import django

    django.setup()


def build(members: int) -> Any:
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from circlecare.accounts.models import User
    from circlecare.crypto import encrypt
    from circlecare.enrollment.models import Enrollment, EnrollmentStatus
    from circlecare.measures import summaries
    from circlecare.measures.instruments import get
    from circlecare.measures.models import Assessment, MeasurementPlan
    from circlecare.programs.models import Cohort, CohortStatus, Program, ProgramKind

    print("Migrating the benchmark database…")
    call_command("migrate", verbosity=0)
    rng = random.Random(20261122)
    lead = User.objects.create(email="lead@bench.example", display_name="Lead", password="!")
    program = Program.objects.create(
        kind=ProgramKind.THERAPY,
        title="Benchmark therapy group",
        slug="bench",
        focus="mood",
        summary="s",
        audience="a",
        weeks=8,
        default_capacity=GROUP_SIZE,
        min_group_size=1,
    )
    # Nine PHQ-9 administrations per member: intake, then weeks 1–8.
    MeasurementPlan.objects.create(program=program, weekly_instruments="PHQ9")
    first = date(2025, 1, 7)
    cohorts = members // GROUP_SIZE
    started = time.perf_counter()
    cohort_rows = []
    for i in range(cohorts):
        day = first + timedelta(weeks=i % 52)
        cohort_rows.append(
            Cohort(
                program=program,
                lead=lead,
                name=f"g{i}",
                first_meeting_date=day,
                weekday=day.weekday(),
                start_time="19:00",
                time_zone="America/New_York",
                capacity=GROUP_SIZE,
                min_size=1,
                status=CohortStatus.FINISHED,
                # bulk_create skips save(), which keeps this in step.
                joinable_until=Cohort.joinable_until_for(day, None, "America/New_York"),
            )
        )
    made: list[Cohort] = []
    for offset in range(0, cohorts, BATCH):
        made.extend(Cohort.objects.bulk_create(cohort_rows[offset : offset + BATCH]))
        progress("cohorts", len(made), cohorts, started)
    cohort_ids = [c.pk for c in made]

    started = time.perf_counter()
    user_ids: list[int] = []
    for offset in range(0, members, BATCH):
        batch = [
            User(email=f"m{n}@bench.example", display_name=f"M{n}", password="!")
            for n in range(offset, min(offset + BATCH, members))
        ]
        user_ids.extend(u.pk for u in User.objects.bulk_create(batch))
        progress("members", len(user_ids), members, started)

    started = time.perf_counter()
    now = timezone.now()
    done = 0
    for offset in range(0, members, BATCH):
        batch = []
        for n in range(offset, min(offset + BATCH, members)):
            left = rng.random() < 0.15
            batch.append(
                Enrollment(
                    member_id=user_ids[n],
                    cohort_id=cohort_ids[n // GROUP_SIZE],
                    status=EnrollmentStatus.WITHDRAWN if left else EnrollmentStatus.COMPLETED,
                    queued_at=now,
                    confirmed_at=now,
                )
            )
        Enrollment.objects.bulk_create(batch)
        done += len(batch)
        progress("enrollments", done, members, started)

    phq9 = get("PHQ9")
    answers_context = Assessment._meta.get_field("answers").context
    total_rows = members * PER_MEMBER
    columns = (
        "member_id, cohort_id, program_kind, instrument, occasion, meeting_week, status, due_at, "
        "completed_at, answers, total, percentage, band, flags, has_risk, synthetic, created_at"
    )
    started = time.perf_counter()
    written = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3 cursor underneath Django's wrapper
        with raw.copy(f"COPY measures_assessment ({columns}) FROM STDIN") as copy:
            for n in range(members):
                member_id, cohort_id = user_ids[n], cohort_ids[n // GROUP_SIZE]
                baseline = rng.randint(5, 24)
                slope = rng.uniform(-1.2, 0.4)
                # Members who stop answering leave their later questionnaires "missed".
                stops = 9 if rng.random() > 0.2 else rng.randint(1, 8)
                for week in range(PER_MEMBER):
                    when = now - timedelta(weeks=10 - week)
                    occasion = "intake" if week == 0 else ("final" if week == 8 else "weekly")
                    if week < stops:
                        target = max(0, min(26, round(baseline + slope * week + rng.gauss(0, 1.5))))
                        answers = [0] * 9
                        for _ in range(target):
                            answers[rng.randrange(8)] += 1
                        answers = [min(a, 3) for a in answers]
                        score = phq9.score(answers)
                        copy.write_row(
                            (
                                member_id,
                                cohort_id,
                                "therapy",
                                "PHQ9",
                                occasion,
                                week,
                                "completed",
                                when,
                                when,
                                encrypt(json.dumps(answers), context=answers_context),
                                score.total,
                                None,
                                score.band,
                                json.dumps(list(score.flags)),
                                False,
                                False,
                                now,
                            )
                        )
                    else:
                        copy.write_row(
                            (
                                member_id,
                                cohort_id,
                                "therapy",
                                "PHQ9",
                                occasion,
                                week,
                                "missed",
                                when,
                                None,
                                "",
                                None,
                                None,
                                "",
                                "[]",
                                False,
                                False,
                                now,
                            )
                        )
                    written += 1
                if n % 2000 == 0 or n == members - 1:
                    progress("assessments", written, total_rows, started)
    # COPY bypasses Assessment.save, so the score summaries are built the set-based way, as
    # after any bulk load.
    started = time.perf_counter()
    summaries.rebuild(cohorts=Cohort.objects.filter(program=program))
    print(f"  summaries    built in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE measures_assessment")
        cursor.execute("VACUUM ANALYZE measures_scoresummary")
        cursor.execute("ANALYZE")
    return program


def _time(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def timed_in_turns(floor: Any, measured: Any, turns: int) -> tuple[float, float, float, Any, Any]:
    """Floor then measured, ``turns`` times: their medians and the median of each turn's ratio,
    so a burst of other work on the machine during one turn does not decide the figure."""
    floors, times, ratios = [], [], []
    floor_result = result = None
    for _ in range(turns):
        floor_time, floor_result = _time(floor)
        taken, result = _time(measured)
        floors.append(floor_time)
        times.append(taken)
        ratios.append(taken / floor_time)
    return (
        statistics.median(floors),
        statistics.median(times),
        statistics.median(ratios),
        floor_result,
        result,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7, help="turns of COUNT(*) then report")
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    args = parser.parse_args()

    admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    admin(f"CREATE DATABASE {DB_NAME}")
    try:
        setup_django()
        from django.db import connection

        from circlecare.measures.outcomes import program_report

        t0 = time.perf_counter()
        program = build(args.members)
        print(f"Built in {time.perf_counter() - t0:.1f} s.")

        def count_all() -> int:
            with connection.cursor() as cursor:
                cursor.execute("SELECT COUNT(*) FROM measures_assessment")
                return int(cursor.fetchone()[0])

        def report() -> Any:
            return program_report(program, date(2000, 1, 1), date(2100, 1, 1))

        count_all(), report()  # warm the caches once, as a running server would have them
        count_time, report_time, ratio, rows, result = timed_in_turns(
            count_all, report, args.repeat
        )
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        phq = result.instruments[0]
        print()
        print(f"assessments table rows:        {rows:,}")
        print(
            f"report: started {phq.started:,}, with follow-up {phq.with_follow_up:,}, "
            f"left early {phq.left_early:,}"
        )
        print(f"sentence: {result.sentence()}")
        print(f"COUNT(*) full table, median:   {count_time * 1000:,.1f} ms")
        print(f"program_report, median:        {report_time * 1000:,.1f} ms")
        print(
            f"ratio report / COUNT(*):       {ratio:.2f}×  (median of {args.repeat} turns; "
            f"target ≤ 3×: {'met' if ratio <= 3 else 'NOT met'})"
        )
        print(f"peak memory (max RSS):         {peak_kb / 1024:,.0f} MiB")
        return 0
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
            print(f"Dropped {DB_NAME}.")


if __name__ == "__main__":
    raise SystemExit(main())
