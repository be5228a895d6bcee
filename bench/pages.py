"""Pages under load, and their query counts as the practice grows.

Creates its own PostgreSQL database and grows it to 10, 1 000 and 10 000 members (bulk inserts, a
progress bar on the console). At each size it counts the database queries of five pages in-process
(Django's test client and ``CaptureQueriesContext``, on the same data): the catalog, a cohort page,
"My groups", a clinician's roster and the coordinator's outcome report. Target: the same count at
every size.

Then, at the largest size, uvicorn serves the project with two worker processes and a second
process (bench/_load.py) keeps a bounded number of connections busy against each page, and against
``/health/`` (one database round trip, the floor) just before it. Prints requests per second as a
ratio to the floor (target ≥ 0.4; the median of three turns of floor then page), p99 latency and
the CPU time per request of the server's processes, PostgreSQL's and the load generator's (its
start-up included): once with a new database connection per request, and once with a pool of
open connections per process (``DATABASE_POOL_MAX_SIZE``, as deployed). The database is dropped
at the end.

    .venv/bin/python bench/pages.py [--sizes 10,1000,10000] [--seconds 3] [--rounds 3]
        [--concurrency 16] [--pool 8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import warnings
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench._common import (  # noqa: E402
    asgi_server,
    bench_database,
    cpu_split,
    machine,
    progress,
    session_key,
    setup_django,
)

GROUP_SIZE = 10
BATCH = 2000
C0_CAPACITY = 12
#: One member in this many also waits for a seat in the measured cohort, so its roster grows.
WAITLIST_EVERY = 50
RATIO_TARGET = 0.4


@dataclass
class World:
    """What the pages are asked about; grown in place from one size to the next."""

    lead: Any = None
    coordinator: Any = None
    viewer: Any = None
    other_lead: Any = None
    programs: list[Any] = field(default_factory=list)
    c0: Any = None
    members: int = 0
    cohorts: list[Any] = field(default_factory=list)
    report_note: str = ""
    has_measures: bool = True


def base(world: World) -> None:
    from circlecare.accounts.models import User
    from circlecare.practice.models import Clinician, License
    from circlecare.programs.models import Cohort, CohortStatus, Program

    def clinician(email: str, name: str) -> Any:
        user = User.objects.create_user(email, display_name=name, home_state="NY")
        person = Clinician.objects.create(user=user, credentials="LCSW")
        License.objects.create(
            clinician=person,
            state="NY",
            kind="LCSW",
            number=email[:10],
            valid_from=date(2020, 1, 1),
            valid_to=date(2040, 1, 1),
        )
        return user

    world.lead = clinician("lead@bench.example", "Bench Lead")
    world.other_lead = clinician("lead2@bench.example", "Second Lead")
    world.coordinator = User.objects.create_user(
        "coordinator@bench.example", display_name="Coordinator", home_state="NY", is_staff=True
    )
    for kind, focus in (
        ("therapy", "relationships"),
        ("skills", "emotions"),
        ("care_circle", "connection"),
    ):
        world.programs.append(
            Program.objects.create(
                kind=kind,
                title=f"Bench {kind}",
                slug=f"bench-{kind}",
                focus=focus,
                summary="s",
                audience="a",
                weeks=8,
                default_capacity=GROUP_SIZE,
                min_group_size=1,
            )
        )
    start = date.today() + timedelta(days=21)
    world.c0 = Cohort.objects.create(
        program=world.programs[0],
        lead=world.lead,
        name="Measured group",
        first_meeting_date=start,
        weekday=start.weekday(),
        start_time=time(19, 0),
        time_zone="America/New_York",
        capacity=C0_CAPACITY,
        min_size=1,
        status=CohortStatus.OPEN,
    )
    try:
        from circlecare.measures.models import MeasurementPlan

        MeasurementPlan.objects.create(program=world.programs[0], weekly_instruments="PHQ9")
    except Exception as error:  # the measures app is still moving; the other pages do not need it
        world.has_measures = False
        world.report_note = f"outcome report skipped: {type(error).__name__}: {error}"


def grow(world: World, to: int) -> None:
    """Add members up to ``to``: each in a group of ten, some waiting for the measured cohort."""
    from django.utils import timezone

    from circlecare.accounts.models import User
    from circlecare.enrollment.models import Enrollment, EnrollmentStatus
    from circlecare.programs.models import Cohort, CohortStatus

    now = timezone.now()
    first = date.today() + timedelta(days=14)
    start_size = world.members
    label = f"  seeding {to:>6,} members"
    progress(0, to - start_size, label)
    for offset in range(start_size, to, BATCH):
        upto = min(offset + BATCH, to)
        users = User.objects.bulk_create(
            User(
                email=f"m{n}@bench.example",
                display_name=f"Member {n}",
                home_state="NY",
                password="!",
            )
            for n in range(offset, upto)
        )
        blocks = range(offset // GROUP_SIZE, (upto - 1) // GROUP_SIZE + 1)
        new_cohorts = []
        for b in blocks:
            if b < len(world.cohorts):
                continue
            day = first + timedelta(weeks=b % 40)
            new_cohorts.append(
                Cohort(
                    program=world.programs[b % len(world.programs)],
                    lead=world.other_lead,
                    name=f"Group {b}",
                    first_meeting_date=day,
                    weekday=day.weekday(),
                    start_time=time(18, 0),
                    time_zone="America/New_York",
                    capacity=GROUP_SIZE,
                    min_size=1,
                    status=CohortStatus.OPEN,
                    # bulk_create skips save(), which keeps this in step.
                    joinable_until=Cohort.joinable_until_for(day, None, "America/New_York"),
                )
            )
        world.cohorts.extend(Cohort.objects.bulk_create(new_cohorts))
        rows = []
        for n, user in zip(range(offset, upto), users, strict=True):
            cohort = world.cohorts[n // GROUP_SIZE]
            rows.append(
                Enrollment(
                    member=user,
                    cohort=cohort,
                    status=EnrollmentStatus.CONFIRMED,
                    queued_at=now,
                    confirmed_at=now,
                )
            )
            if n < C0_CAPACITY:
                rows.append(
                    Enrollment(
                        member=user,
                        cohort=world.c0,
                        status=EnrollmentStatus.CONFIRMED,
                        queued_at=now,
                        confirmed_at=now,
                    )
                )
            elif n % WAITLIST_EVERY == 0:
                rows.append(
                    Enrollment(
                        member=user,
                        cohort=world.c0,
                        status=EnrollmentStatus.WAITLISTED,
                        queued_at=now + timedelta(microseconds=n),
                    )
                )
        Enrollment.objects.bulk_create(rows)
        if world.has_measures:
            assessments(world, list(zip(range(offset, upto), users, strict=True)))
        if world.viewer is None:
            world.viewer = users[0]  # member 0: seated in the measured cohort and in group 0
        progress(upto - start_size, to - start_size, label)
    # "My groups" grows too: the viewer waits for one more group at every size.
    latest = world.cohorts[-1]
    if latest.pk != world.cohorts[0].pk:
        Enrollment.objects.create(
            member=world.viewer, cohort=latest, status=EnrollmentStatus.WAITLISTED, queued_at=now
        )
    world.members = to
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def assessments(world: World, members: list[tuple[int, Any]]) -> None:
    """PHQ-9 at intake and at the last week for members of the therapy groups."""
    import random

    from django.utils import timezone

    from circlecare.measures.models import Assessment

    rng = random.Random(len(members))
    now = timezone.now()
    therapy = world.programs[0].pk
    rows = []
    for n, user in members:
        cohort = world.cohorts[n // GROUP_SIZE]
        if cohort.program_id != therapy:
            continue
        baseline = rng.randint(8, 22)
        for week, occasion, total in ((0, "intake", baseline), (8, "final", baseline - 6)):
            rows.append(
                Assessment(
                    member=user,
                    cohort=cohort,
                    program_kind="therapy",
                    instrument="PHQ9",
                    occasion=occasion,
                    meeting_week=week,
                    status="completed",
                    due_at=now,
                    completed_at=now,
                    total=max(total, 0),
                    band="",
                    synthetic=False,
                )
            )
    try:
        Assessment.objects.bulk_create(rows)
        # Loaded in bulk, so the score summaries the report reads are built the set-based way.
        from circlecare.measures import summaries

        summaries.rebuild(pairs=[(row.member_id, row.cohort_id) for row in rows])
    except Exception as error:  # the measures app is still moving
        world.has_measures = False
        world.report_note = f"outcome report skipped: {type(error).__name__}: {error}"


def pages(world: World) -> list[tuple[str, str, Any]]:
    """(name, path, who is signed in) for every page measured."""
    from django.urls import NoReverseMatch, reverse

    found = [
        ("catalog", reverse("programs:list"), None),
        ("cohort page", reverse("programs:cohort", args=[world.c0.pk]), None),
        ("My groups", reverse("enrollment:my_groups"), world.viewer),
        ("roster", reverse("enrollment:roster", args=[world.c0.pk]), world.lead),
    ]
    if world.has_measures:
        try:
            report = reverse("measures:report")
        except NoReverseMatch:
            world.report_note = "outcome report skipped: no measures:report URL yet"
        else:
            query = f"?program={world.programs[0].pk}&start=2000-01-01&end=2100-01-01"
            found.append(("outcome report", report + query, world.coordinator))
    return found


def shape(sql: str) -> str:
    """A query with its literal values blanked, so repeats of one statement group together."""
    import re

    return re.sub(r"\b\d+\b|'[^']*'", "?", sql)[:160]


def count_queries(world: World, cookies: dict[int, str]) -> dict[str, tuple[int, list[str]]]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for name, path, user in pages(world):
        client = Client()
        if user is not None:
            client.cookies["sessionid"] = cookies[user.pk]
        client.get(path)  # the first request fills per-process caches (content types, templates)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{name} answered {response.status_code} at {path}")
        counts[name] = (
            len(captured.captured_queries),
            [shape(q["sql"]) for q in captured.captured_queries],
        )
    return counts


def in_process_cost(world: World, cookies: dict[int, str], repeat: int = 15) -> dict[str, Any]:
    """Median time of one request in this process, and the part of it spent in SQL (ms)."""
    import statistics
    import time as clock

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    costs = {}
    for name, path, user in pages(world):
        client = Client()
        if user is not None:
            client.cookies["sessionid"] = cookies[user.pk]
        client.get(path)
        walls, sqls = [], []
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as captured:
                started = clock.perf_counter()
                client.get(path)
                walls.append((clock.perf_counter() - started) * 1000)
            sqls.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
        costs[name] = (statistics.median(walls), statistics.median(sqls))
    return costs


def load(url: str, concurrency: int, seconds: float, cookie: str = "") -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "_load.py"),
            "--url",
            url,
            "--concurrency",
            str(concurrency),
            "--seconds",
            str(seconds),
            "--cookie",
            cookie,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,1000,10000")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--rounds", type=int, default=3, help="turns of floor then page; the ratio is their median"
    )
    parser.add_argument(
        "--pool", type=int, default=8, help="measure again with this connection pool (0: do not)"
    )
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    os.environ["DEBUG"] = "false"
    os.environ["LOG_LEVEL"] = "WARNING"
    # The bench signs people in with bare session cookies; the second factor is not what it measures.
    os.environ["MFA_REQUIRED_FOR_STAFF"] = "0"
    warnings.filterwarnings("ignore", message="No directory at")  # no collectstatic for a bench
    os.environ["PYTHONWARNINGS"] = "ignore:No directory at:UserWarning"  # the servers too
    os.environ.pop("REDIS_URL", None)  # pages need no channel layer; keep the cache per process

    world = World()
    counts: dict[int, dict[str, tuple[int, list[str]]]] = {}
    pooled: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    with bench_database("circlecare_bench_pages"):
        print("Migrating the benchmark database…", file=sys.stderr)
        setup_django()
        base(world)
        cookies: dict[int, str] = {}
        for size in sizes:
            grow(world, size)
            for _name, _path, user in pages(world):
                if user is not None and user.pk not in cookies:
                    cookies[user.pk] = session_key(user)
            counts[size] = count_queries(world, cookies)
        costs = in_process_cost(world, cookies)
        from django.db import connections

        connections.close_all()
        results = throughput(world, cookies, args, {})
        if args.pool:
            pooled = throughput(world, cookies, args, {"DATABASE_POOL_MAX_SIZE": str(args.pool)})

    print(
        f"pages: uvicorn x2, PostgreSQL, {args.concurrency} connections, "
        f"{args.rounds} turns of {args.seconds:g} s each (floor, then page)"
    )
    print(f"  machine: {machine()}, load average {os.getloadavg()[0]:.2f}")
    if world.report_note:
        print(f"  note: {world.report_note}")
    header = "  queries per page at " + " / ".join(f"{s:,}" for s in sizes) + " members:"
    print(header)
    constant = True
    for name in counts[sizes[0]]:
        series = [counts[s][name][0] for s in sizes]
        same = len(set(series)) == 1
        constant &= same
        print(
            f"    {name:<15} {' / '.join(str(c) for c in series):<16} {'same' if same else 'GROWS'}"
        )
        if not same:
            small, large = counts[sizes[0]][name][1], counts[sizes[-1]][name][1]
            extra = {q for q in set(large) if large.count(q) > small.count(q)}
            for q in sorted(extra):
                print(f"      repeated ({small.count(q)} → {large.count(q)}): {q}")
    print(f"  queries constant across sizes: {'met' if constant else 'NOT met'}")
    print(f"  one request in-process at {sizes[-1]:,} members (median; where the time goes):")
    for name, (wall, sql) in costs.items():
        print(f"    {name:<15} {wall:6.1f} ms, of which SQL {sql:5.1f} ms")
    print(
        f"  throughput at {sizes[-1]:,} members, a new database connection per request "
        "(floor: /health/ just before each page):"
    )
    met = report_throughput(results)
    if pooled:
        print(
            f"  throughput at {sizes[-1]:,} members, a pool of {args.pool} connections per process "
            "(floor: /health/ just before each page):"
        )
        met &= report_throughput(pooled)
    return 0 if constant and met else 1


def throughput(
    world: World, cookies: dict[int, str], args: argparse.Namespace, env: dict[str, str]
) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Each page under load on uvicorn with two workers, with /health/ measured just before it.

    Floor and page take turns ``args.rounds`` times; the ratio is the median of the rounds'
    ratios, so a burst of other work on a shared machine during one round does not decide it."""
    import statistics

    results = []
    with asgi_server(workers=2, extra_env=env) as url:
        health = f"{url}/health/"
        for _name, path, user in pages(world):  # warm every worker: imports, templates
            cookie = f"sessionid={cookies[user.pk]}" if user else ""
            load(url + path, args.concurrency, 1.0, cookie)
        load(health, args.concurrency, 1.0)
        for name, path, user in pages(world):
            cookie = f"sessionid={cookies[user.pk]}" if user else ""
            rounds = []
            spent: dict[str, dict[str, float]] = {"page": {}, "floor": {}}
            for _ in range(args.rounds):
                floor = measured(spent["floor"], url.pid, health, args)
                page = measured(spent["page"], url.pid, url + path, args, cookie)
                rounds.append((page, floor))
            page, floor = (
                {
                    "rps": statistics.fmean(r[i]["rps"] for r in rounds),
                    "p99": statistics.median(r[i]["p99"] for r in rounds),
                    "errors": sum(r[i]["errors"] for r in rounds),
                }
                for i in (0, 1)
            )
            ratios = [p["rps"] / f["rps"] if f["rps"] else 0.0 for p, f in rounds]
            page["ratio"] = statistics.median(ratios)
            for which, result in (("page", page), ("floor", floor)):
                n = spent[which].pop("requests", 0.0)
                if spent[which] and n:
                    result["cpu_ms"] = {k: v / n * 1000 for k, v in spent[which].items()}
            results.append((name, page, floor))
    return results


def measured(
    spent: dict[str, float],
    server_pid: int,
    target: str,
    args: argparse.Namespace,
    cookie: str = "",
) -> dict[str, Any]:
    """``load`` one URL, adding the CPU seconds each part of the machine used to ``spent``."""
    before = cpu_split(server_pid)
    result = load(target, args.concurrency, args.seconds, cookie)
    after = cpu_split(server_pid)
    if before and after:
        for part in before:
            spent[part] = spent.get(part, 0.0) + after[part] - before[part]
    spent["requests"] = spent.get("requests", 0.0) + result["requests"]
    return result


def report_throughput(results: list[tuple[str, dict[str, Any], dict[str, Any]]]) -> bool:
    met = True
    for name, page, floor in results:
        ratio = page["ratio"]
        met &= ratio >= RATIO_TARGET and page["errors"] == 0
        print(
            f"    {name:<15} {page['rps']:7.1f} req/s  p99 {page['p99']:6.1f} ms  "
            f"errors {page['errors']}  | floor {floor['rps']:7.1f} req/s  p99 {floor['p99']:6.1f} ms"
            f"  | ratio {ratio:.2f} (target ≥ {RATIO_TARGET}: {'met' if ratio >= RATIO_TARGET else 'NOT met'})"
        )
        if "cpu_ms" in page and "cpu_ms" in floor:
            p, f = page["cpu_ms"], floor["cpu_ms"]
            print(
                f"      CPU per request: server {p['server']:.1f} ms, PostgreSQL {p['postgres']:.1f} ms, "
                f"load generator {p['load']:.1f} ms  | floor {f['server']:.1f} / {f['postgres']:.1f} "
                f"/ {f['load']:.1f} ms"
            )
    return met


if __name__ == "__main__":
    sys.exit(main())
