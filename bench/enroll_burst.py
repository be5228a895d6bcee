"""200 members press "Take a seat" at once on a 12-seat group, over HTTP, against the ASGI server.

Creates its own PostgreSQL database, migrates it, seeds the group and 200 logged-in members
(session cookies made directly), starts uvicorn with two workers on a free port, has each member
open the group's page (as they must to see the button), fires the burst,
and compares throughput with the floor endpoint ``/health/`` (one database round trip) measured in
the same run. Prints confirmed / waitlisted / errors, p50 / p99 latency and the ratio, then drops
the database and stops the server.

    .venv/bin/python bench/enroll_burst.py            # needs PostgreSQL on 127.0.0.1:5432

Target: exactly 12 confirmed, 188 waitlisted in arrival order, 0 errors, ratio ≥ 0.5.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench._common import DEPLOYED_ZONE, cpu_split, free_port, session_key  # noqa: E402

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("BENCH_DB", "circlecare_bench")
DATABASE_URL = f"{PG}/{DB_NAME}"
MEMBERS = int(os.environ.get("BENCH_MEMBERS", "200"))
SEATS = 12
WORKERS = 2


def admin_sql(statement: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


def server_env() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "circlecare.settings",
        "PYTHONPATH": str(ROOT),
    }


# ------------------------------------------------------------------------------------ seeding


def seed() -> dict[str, Any]:
    """Runs in this process against the bench database. Returns ids and cookies for the client."""
    os.environ.update(server_env())
    import django

    django.setup()
    from datetime import date
    from datetime import time as dtime

    from django.utils import timezone

    from circlecare.accounts.models import User
    from circlecare.enrollment.demo import seed_demo as publish_agreements
    from circlecare.enrollment.models import ConsentDocument, ConsentSignature
    from circlecare.practice.models import Clinician, License
    from circlecare.programs.models import Cohort, CohortStatus, Program

    publish_agreements()
    lead = User.objects.create_user("lead@bench.example", display_name="Lead", home_state="NY")
    clinician = Clinician.objects.create(user=lead, credentials="LCSW")
    License.objects.create(
        clinician=clinician,
        state="NY",
        kind="LCSW",
        number="BENCH-1",
        valid_from=date(2020, 1, 1),
        valid_to=date(2040, 1, 1),
    )
    program = Program.objects.create(
        kind="therapy",
        title="Bench therapy group",
        slug="bench-therapy",
        focus="relationships",
        summary="x",
        audience="x",
        weeks=8,
        default_capacity=SEATS,
        min_group_size=1,
    )
    start = timezone.localdate() + timedelta(days=21)

    def cohort(name: str, capacity: int) -> Cohort:
        return Cohort.objects.create(
            program=program,
            lead=lead,
            name=name,
            first_meeting_date=start,
            weekday=start.weekday(),
            start_time=dtime(19, 0),
            time_zone="America/New_York",
            capacity=capacity,
            min_size=1,
            status=CohortStatus.OPEN,
        )

    target = cohort("Burst", SEATS)
    warmup = cohort("Warm-up", 40)
    users = User.objects.bulk_create(
        User(email=f"m{i}@bench.example", display_name=f"Member {i}", home_state="NY")
        for i in range(MEMBERS + 20)
    )
    now = timezone.now()
    documents = list(ConsentDocument.objects.all())
    ConsentSignature.objects.bulk_create(
        ConsentSignature(member=u, document=d, signed_at=now, signed_name=u.display_name)
        for u in users
        for d in documents
    )
    intake_note = satisfy_intake(users, [target, warmup])
    cookies = [session_key(user) for user in users]
    from django.urls import reverse

    return {
        "target": target.pk,
        "target_page": reverse("programs:cohort", args=[target.pk]),
        "warmup": warmup.pk,
        "cookies": cookies,
        "intake_note": intake_note,
    }


def satisfy_intake(users: list[Any], cohorts: list[Any]) -> str:
    """Other apps may add "before a seat" steps; complete the intake questionnaires if present."""
    try:
        from django.utils import timezone

        from circlecare.measures.models import Assessment
        from circlecare.measures.plans import intake_codes
    except ImportError:
        return "no intake step installed"
    now = timezone.now()
    rows = [
        Assessment(
            member=u,
            cohort=c,
            program_kind=c.program.kind,
            instrument=code,
            occasion="intake",
            status="completed",
            due_at=now,
            completed_at=now,
            total=0,
            synthetic=True,
        )
        for u in users
        for c in cohorts[:1]
        for code in intake_codes(c.program.kind)
    ]
    Assessment.objects.bulk_create(rows)
    return f"intake completed for every member ({len(rows)} synthetic questionnaires)"


# ------------------------------------------------------------------------------------ client


async def request(port: int, method: str, path: str, headers: dict[str, str]) -> tuple[int, float]:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if method == "POST":
        lines.append("Content-Length: 0")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    elapsed = time.perf_counter() - started
    try:
        status = int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        status = 0
    return status, elapsed


async def burst(port: int, calls: list[tuple[str, str, dict[str, str]]]) -> tuple[list[Any], float]:
    started = time.perf_counter()
    results = await asyncio.gather(
        *(request(port, m, p, h) for m, p, h in calls), return_exceptions=True
    )
    return list(results), time.perf_counter() - started


def join_calls(cohort_id: int, cookies: list[str]) -> list[tuple[str, str, dict[str, str]]]:
    calls = []
    for key in cookies:
        token = secrets.token_hex(16)  # 32 characters: an unmasked CSRF secret
        headers = {
            "Cookie": f"sessionid={key}; csrftoken={token}",
            "X-CSRFToken": token,
        }
        calls.append(("POST", f"/my/join/{cohort_id}/", headers))
    return calls


def summarize(results: list[Any], wall: float, ok: set[int]) -> dict[str, float]:
    times = sorted(r[1] for r in results if not isinstance(r, BaseException))
    errors = sum(1 for r in results if isinstance(r, BaseException) or r[0] not in ok)
    return {
        "n": len(results),
        "errors": errors,
        "p50": statistics.median(times) * 1000 if times else 0.0,
        "p99": times[max(int(len(times) * 0.99) - 1, 0)] * 1000 if times else 0.0,
        "throughput": len(results) / wall,
    }


def wait_for(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, _ = asyncio.run(request(port, "GET", "/health/", {}))
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not start")


def cpu_use(server_pid: int) -> dict[str, float] | None:
    """CPU seconds so far of the server, PostgreSQL and this process (the client)."""
    split = cpu_split(server_pid)
    if split is None:
        return None
    mine = os.times()
    return {
        "server": split["server"],
        "postgres": split["postgres"],
        "client": mine.user + mine.system,
    }


def check_database(cohort_id: int) -> dict[str, Any]:
    from circlecare.enrollment.models import Enrollment
    from circlecare.enrollment.queries import waiting_positions

    rows = list(Enrollment.objects.filter(cohort_id=cohort_id).order_by("queued_at", "pk"))
    statuses = [e.status for e in rows]
    positions = waiting_positions([cohort_id])
    confirmed = statuses.count("confirmed")
    in_order = (
        statuses[:confirmed] == ["confirmed"] * confirmed
        and [positions.get(e.pk) for e in rows[confirmed:]]
        == list(range(1, len(rows) - confirmed + 1))
        and len({e.queued_at for e in rows}) == len(rows)
    )
    spread = (rows[-1].queued_at - rows[0].queued_at).total_seconds() if rows else 0.0
    return {
        "spacing_ms": spread / max(len(rows) - 1, 1) * 1000,
        "confirmed": confirmed,
        "waitlisted": statuses.count("waitlisted"),
        "other": len(rows) - confirmed - statuses.count("waitlisted"),
        "in_order": in_order,
    }


def main() -> int:
    admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    admin_sql(f'CREATE DATABASE "{DB_NAME}"')
    admin_sql(f"ALTER DATABASE \"{DB_NAME}\" SET timezone TO '{DEPLOYED_ZONE}'")
    server: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=server_env(), check=True
        )
        seeded = seed()
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "bench.asgi_bench:application",
                "--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS),
                "--no-access-log", "--log-level", "warning",
            ],
            cwd=ROOT,
            env=server_env(),
            start_new_session=True,
        )  # fmt: skip
        wait_for(port)
        cookies = seeded["cookies"]
        health = [("GET", "/health/", {})] * MEMBERS
        # Warm both workers up: imports, templates, first connections.
        asyncio.run(burst(port, health[:40]))
        asyncio.run(burst(port, join_calls(seeded["warmup"], cookies[MEMBERS:])))
        # Each member opens the group's page before pressing "Take a seat", as they must to see
        # the button: a signed-in session's first request also records when it was last seen.
        page = [("GET", seeded["target_page"], {"Cookie": f"sessionid={k}"}) for k in cookies]
        for start in range(0, MEMBERS, 20):
            opened = summarize(*asyncio.run(burst(port, page[start : start + 20])), {200})
            if opened["errors"]:
                raise RuntimeError("a member could not open the group's page before the burst")

        cpu = [cpu_use(server.pid)]
        floor_results, floor_wall = asyncio.run(burst(port, health))
        cpu.append(cpu_use(server.pid))
        join_results, join_wall = asyncio.run(
            burst(port, join_calls(seeded["target"], cookies[:MEMBERS]))
        )
        cpu.append(cpu_use(server.pid))
        floor = summarize(floor_results, floor_wall, {200})
        joins = summarize(join_results, join_wall, {302})
        db = check_database(seeded["target"])
        ratio = joins["throughput"] / floor["throughput"] if floor["throughput"] else 0.0

        print(
            f"enroll_burst: {MEMBERS} concurrent joins, {SEATS} seats, uvicorn x{WORKERS}, PostgreSQL"
        )
        print(f"  setup: {seeded['intake_note']}")
        print(
            f"  confirmed {db['confirmed']}  waitlisted {db['waitlisted']}  other {db['other']}  "
            f"errors {joins['errors']}  waiting list in arrival order: {'yes' if db['in_order'] else 'NO'}"
        )
        print(
            f"  join    p50 {joins['p50']:.0f} ms  p99 {joins['p99']:.0f} ms  "
            f"{joins['throughput']:.0f} req/s"
        )
        print(
            f"  /health p50 {floor['p50']:.0f} ms  p99 {floor['p99']:.0f} ms  "
            f"{floor['throughput']:.0f} req/s  (errors {floor['errors']})"
        )
        print(f"  throughput ratio join / floor: {ratio:.2f}  (target ≥ 0.5)")
        print(f"  a place taken every {db['spacing_ms']:.1f} ms (waiting-list stamps, lock order)")
        if None not in cpu:
            for label, (start, end) in (("/health", cpu[0:2]), ("join", cpu[1:3])):
                used = {k: (end[k] - start[k]) / MEMBERS * 1000 for k in start}  # type: ignore[index]
                print(
                    f"  CPU per request, {label}: server {used['server']:.1f} ms, "
                    f"PostgreSQL {used['postgres']:.1f} ms, this client {used['client']:.1f} ms"
                )
        ok = (
            db["confirmed"] == SEATS
            and db["waitlisted"] == MEMBERS - SEATS
            and db["in_order"]
            and joins["errors"] == 0
        )
        return 0 if ok else 1
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        from django.db import connections

        connections.close_all()
        admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
