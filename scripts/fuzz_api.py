#!/usr/bin/env python
"""Fuzz the REST API with schemathesis, once for each role, against a real running server.

What it does:

1. makes a throwaway database: an SQLite file in a temporary directory, or, when ``DATABASE_URL``
   points at PostgreSQL, a fresh database on that server (dropped again at the end);
2. migrates it and seeds a small practice: a therapy group and a care circle led by a licensed
   clinician (with a peer co-facilitator), members with seats, a waiting place and an offer,
   meetings with attendance and a group note, care posts and a match, questionnaires (due,
   answered, and a risk answer with its alert), and a coordinator;
3. makes one personal access token per role with the read, write and clinical scopes (staff roles
   switch two-factor authentication on first, as they must);
4. starts the ASGI server (uvicorn) on a free port, with a cache that keeps no throttle history so
   the rate limits do not cut the run short (they are tested in tests/api/test_core.py);
5. runs ``schemathesis run`` against ``/api/v1/openapi.json`` for each role with a bounded number of
   examples per operation, checking for server errors (any 5xx), responses that do not match the
   documented schema and statuses the document does not list. Each id in an address is drawn from
   the ids the seeded practice really has (the role's own objects, other people's, and one that
   does not exist), so operations answer from real objects rather than a 404 for a guessed id.

It prints one summary line per role and exits non-zero if any role found a failure.

    .venv/bin/python scripts/fuzz_api.py                   # every role, 5 examples an operation
    .venv/bin/python scripts/fuzz_api.py -n 5 --role member
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET  # nosec B405  # reads only the report it writes
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
ROLES = ("anonymous", "member", "facilitator", "clinician", "coordinator")
#: Server log lines about ordinary 4xx answers, left out of the failure report.
QUIET_LOG_LINES = (
    "Bad Request:",
    "Unauthorized:",
    "Forbidden:",
    "Not Found:",
    "Method Not Allowed:",
    "Conflict:",
    "Unprocessable Entity:",
    "Too Many Requests:",
)
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance"

SETTINGS_MODULE = textwrap.dedent(
    '''
    """Settings for a fuzzing run: the project's own, with a cache that forgets (no throttling)."""

    from circlecare.settings import *  # noqa: F403

    CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
        # Roles are fuzzed side by side: take SQLite's write lock up front rather than failing
        # to upgrade a read lock ("database is locked"), which PostgreSQL never does.
        DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"  # noqa: F405
    '''
)


#: Loaded by schemathesis (SCHEMATHESIS_HOOKS): path ids come from the seeded practice.
HOOKS_MODULE = textwrap.dedent(
    '''
    """Draw every id in an address from the ids the seeded practice has (fuzz_ids.json)."""

    import json
    from pathlib import Path

    import schemathesis

    IDS = json.loads(Path(__file__).with_name("fuzz_ids.json").read_text())


    @schemathesis.hook
    def before_load_schema(ctx, raw_schema):
        for operations in raw_schema.get("paths", {}).values():
            for operation in operations.values():
                for parameter in operation.get("parameters", []):
                    if parameter.get("in") == "path" and parameter.get("name") in IDS:
                        parameter["schema"] = {**parameter["schema"], "enum": IDS[parameter["name"]]}
    '''
)


@dataclass
class RoleResult:
    role: str
    returncode: int
    tests: int
    failures: int
    seconds: float
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


# --------------------------------------------------------------------------------------------------
# The throwaway database


class Database:
    """An SQLite file in ``workdir``, or a fresh PostgreSQL database next to ``DATABASE_URL``'s."""

    def __init__(self, workdir: Path, base_url: str | None) -> None:
        self.base_url = base_url if base_url and base_url.startswith("postgres") else None
        self.name = f"circlecare_fuzz_{secrets.token_hex(4)}"
        if self.base_url is None:
            self.url = f"sqlite:///{workdir / 'fuzz.sqlite3'}"
        else:
            parts = urlsplit(self.base_url)
            self.url = urlunsplit(parts._replace(path=f"/{self.name}"))

    def _admin(self, statement: str) -> None:
        import psycopg
        from psycopg import sql

        assert self.base_url is not None
        query = sql.SQL(statement).format(sql.Identifier(self.name))
        # The server's maintenance database: DATABASE_URL's own database need not exist yet.
        admin_url = urlunsplit(urlsplit(self.base_url)._replace(path="/postgres"))
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(query)

    def create(self) -> None:
        if self.base_url is not None:
            self._admin("CREATE DATABASE {}")

    def drop(self) -> None:
        if self.base_url is not None:
            self._admin("DROP DATABASE IF EXISTS {} WITH (FORCE)")


# --------------------------------------------------------------------------------------------------
# Seeding (runs in a child process with the fuzzing settings)


SEED = textwrap.dedent(
    """
    import json
    from datetime import timedelta

    import django

    django.setup()

    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0, interactive=False)

    from circlecare.accounts.tokens import create_token
    from circlecare.care.models import CareMatch, PostKind, Support
    from circlecare.enrollment.models import EnrollmentStatus
    from circlecare.programs.models import ProgramKind
    from tests.care.factories import CarePostFactory
    from tests.factories import (
        ClinicianFactory, CohortFactory, EnrollmentFactory, LicenseFactory, ProgramFactory,
        UserFactory,
    )
    from tests.meetings.factories import meeting_at
    from tests.mfa import enable_totp

    clinician = ClinicianFactory(user__display_name="Jordan Lee", user__email="lead@fuzz.example").user
    LicenseFactory(clinician=clinician.clinician, state="NY")
    facilitator = UserFactory(
        is_facilitator=True, display_name="Priya Shah", email="peer@fuzz.example"
    )
    coordinator = UserFactory(is_staff=True, display_name="Coordinator", email="coord@fuzz.example")
    member = UserFactory(display_name="Alex", email="alex@fuzz.example")
    others = [UserFactory(display_name=f"Member {i}") for i in range(3)]

    therapy = CohortFactory(
        program=ProgramFactory(kind=ProgramKind.THERAPY, slug="fuzz-therapy"),
        lead=clinician, co_facilitator=facilitator, name="Tuesday group", capacity=4,
    )
    circle = CohortFactory(
        program=ProgramFactory(kind=ProgramKind.CARE_CIRCLE, slug="fuzz-circle"),
        lead=clinician, co_facilitator=facilitator, name="Thursday circle",
    )
    CohortFactory(program=ProgramFactory(slug="fuzz-skills"), name="Open skills group")
    for person in [member, *others[:2]]:
        EnrollmentFactory(member=person, cohort=therapy)
        EnrollmentFactory(member=person, cohort=circle)
    EnrollmentFactory(
        member=others[2], cohort=therapy, status=EnrollmentStatus.OFFERED, confirmed_at=None,
        offered_at=timezone.now(), offer_expires_at=timezone.now() + timedelta(days=1),
    )
    now = timezone.now()
    for cohort in (therapy, circle):
        meeting_at(cohort, now - timedelta(days=7), number=1)
        meeting_at(cohort, now - timedelta(minutes=5), number=2)
        meeting_at(cohort, now + timedelta(days=7), number=3)
    request = CarePostFactory(cohort=circle, author=others[0], kind=PostKind.REQUEST)
    CarePostFactory(cohort=circle, author=member, kind=PostKind.OFFER, support=Support.MEAL)
    CareMatch.objects.create(
        post=request, cohort=circle, responder=member, giver=member, receiver=others[0]
    )

    # Questionnaires (due, answered, and one with a risk answer that raised an alert), attendance
    # and notes, so the measures and clinic operations reach real objects.
    from circlecare.clinic.models import GroupNote
    from circlecare.measures.services import submit_assessment
    from circlecare.meetings.models import Attendance, AttendanceStatus, Meeting
    from tests.measures.factories import AssessmentFactory, answers_for, completed

    for week, code in ((2, "PHQ9"), (3, "GAD7"), (4, "PHQ9")):
        AssessmentFactory(member=member, cohort=therapy, instrument=code, meeting_week=week)
    completed(member=member, cohort=therapy, code="PHQ9", total=14, week=0)
    risky = AssessmentFactory(member=member, cohort=therapy, meeting_week=5)
    submit_assessment(assessment=risky, answers=answers_for("PHQ9", 12, risk=1), actor=member)
    current = Meeting.objects.get(cohort=therapy, number=2)
    for person in [member, *others[:2]]:
        Attendance.objects.create(
            meeting=current, member=person, status=AttendanceStatus.ATTENDED, at=now
        )
    GroupNote.objects.create(meeting=current, author=clinician, text="We practised listening.")

    tokens = {}
    for role, user in (
        ("member", member), ("facilitator", facilitator), ("clinician", clinician),
        ("coordinator", coordinator),
    ):
        if role != "member":
            enable_totp(user)
        _token, raw = create_token(
            user=user, name=f"fuzz {role}", scopes=["read", "write", "clinical"],
            lifetime=timedelta(days=1), mfa_verified=True,
        )
        tokens[role] = raw
    print("TOKENS " + json.dumps(tokens))

    # The ids an address may hold: every role's own objects and other people's, and one more
    # than any of them (a missing object, which must answer as another person's does).
    from circlecare.clinic.models import IndividualNote
    from circlecare.enrollment.models import Enrollment
    from circlecare.measures.models import Assessment, RiskAlert
    from circlecare.care.models import CarePost
    from circlecare.programs.models import Cohort, Program

    AssessmentFactory(member=others[0], cohort=therapy, instrument="GAD7", meeting_week=2)
    IndividualNote.objects.create(
        meeting=current, member=member, author=clinician, text="Spoke about the week."
    )

    def pks(model, missing=True):
        found = sorted(model.objects.values_list("pk", flat=True))
        return found + ([max(found, default=0) + 1000] if missing else [])

    cohorts = pks(Cohort)
    print("IDS " + json.dumps({
        "slug": sorted(Program.objects.values_list("slug", flat=True)) + ["no-such-program"],
        "cohort_id": cohorts,
        "group_id": cohorts,
        "enrollment_id": pks(Enrollment),
        "meeting_id": pks(Meeting),
        "assessment_id": pks(Assessment),
        "alert_id": pks(RiskAlert),
        "post_id": pks(CarePost),
        "match_id": pks(CareMatch),
        "note_id": sorted(set(pks(GroupNote) + pks(IndividualNote))),
    }))
    """
)


def _env(workdir: Path, database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "fuzz_settings",
            "DATABASE_URL": database_url,
            "PYTHONPATH": os.pathsep.join([str(workdir), str(REPO)]),
            "DEBUG": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("REDIS_URL", None)
    return env


def seed(env: dict[str, str], workdir: Path) -> dict[str, str]:
    """Seed the practice; write the ids it holds for the hooks, and return a token per role."""
    import json

    done = subprocess.run(  # nosec B603
        [sys.executable, "-c", SEED],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"Seeding failed:\n{done.stdout}\n{done.stderr}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("TOKENS "))
    tokens: dict[str, str] = json.loads(line.removeprefix("TOKENS "))
    ids = next(x for x in done.stdout.splitlines() if x.startswith("IDS "))
    (workdir / "fuzz_ids.json").write_text(ids.removeprefix("IDS "))
    return tokens


# --------------------------------------------------------------------------------------------------
# The server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    server = subprocess.Popen(  # nosec B603
        [
            sys.executable,
            "-m",
            "uvicorn",
            "circlecare.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    url = f"http://127.0.0.1:{port}/api/v1/openapi.json"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"The server stopped:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # nosec B310  # http://127.0.0.1 only
                if response.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("The server did not start within 60 seconds.")


# --------------------------------------------------------------------------------------------------
# Fuzzing


def _junit_counts(path: Path) -> tuple[int, int]:
    if not path.exists():
        return 0, 0
    root = ET.parse(path).getroot()  # nosec B314  # noqa: S314 - a report we just wrote
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tests = sum(int(s.get("tests", 0)) for s in suites)
    failures = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    return tests, failures


def fuzz_role(
    role: str,
    token: str | None,
    *,
    port: int,
    max_examples: int,
    seed_value: int | None,
    workdir: Path,
    env: dict[str, str],
) -> RoleResult:
    junit = workdir / f"junit-{role}.xml"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"http://127.0.0.1:{port}/api/v1/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        str(max_examples),
        "--phases",
        "examples,coverage,fuzzing",
        "--workers",
        "1",
        "--no-shrink",
        "--request-timeout",
        "20",
        "--report",
        "junit",
        "--report-junit-path",
        str(junit),
        "--report-dir",
        str(workdir / f"report-{role}"),
        "--warnings",
        "off",
    ]
    if seed_value is not None:
        command += ["--seed", str(seed_value)]
    if token:
        command += ["--header", f"Authorization: Bearer {token}"]
    started = time.monotonic()
    done = subprocess.run(  # nosec B603
        command,
        cwd=workdir,
        env={**env, "NO_COLOR": "1", "COLUMNS": "120", "SCHEMATHESIS_HOOKS": "fuzz_hooks"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    tests, failures = _junit_counts(junit)
    return RoleResult(
        role=role,
        returncode=done.returncode,
        tests=tests,
        failures=failures,
        seconds=time.monotonic() - started,
        output=(done.stdout + done.stderr).replace(token or "\0", "cc_…"),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "-n", "--max-examples", type=int, default=5, help="examples per operation (default 5)"
    )
    parser.add_argument(
        "--role", action="append", choices=ROLES, help="fuzz only this role (repeatable)"
    )
    parser.add_argument(
        "-j", "--jobs", type=int, default=2, help="roles fuzzed side by side (default 2)"
    )
    parser.add_argument("--seed", type=int, default=None, help="schemathesis random seed")
    parser.add_argument(
        "--port", type=int, default=None, help="serve on this port (default: any free one)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary directory (database, logs)"
    )
    args = parser.parse_args(argv)
    roles = args.role or list(ROLES)

    workdir = Path(tempfile.mkdtemp(prefix="circlecare-fuzz-"))
    database = Database(workdir, os.environ.get("DATABASE_URL"))
    server: subprocess.Popen[bytes] | None = None
    results: list[RoleResult] = []
    try:
        (workdir / "fuzz_settings.py").write_text(SETTINGS_MODULE)
        (workdir / "fuzz_hooks.py").write_text(HOOKS_MODULE)
        database.create()
        env = _env(workdir, database.url)
        print(f"Seeding a throwaway database ({database.url.split(':', 1)[0]}) …", flush=True)
        tokens = seed(env, workdir)
        port = args.port or free_port()
        server = start_server(env, port, workdir / "server.log")
        print(f"Server on 127.0.0.1:{port}; {args.max_examples} examples an operation.", flush=True)
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = [
                pool.submit(
                    fuzz_role,
                    role,
                    tokens.get(role),
                    port=port,
                    max_examples=args.max_examples,
                    seed_value=args.seed,
                    workdir=workdir,
                    env=env,
                )
                for role in roles
            ]
            results = [f.result() for f in futures]
        for result in results:
            role = result.role
            verdict = "ok" if result.ok else "FAILED"
            print(
                f"  {role:<12} {verdict:<7} {result.tests:>3} operations, "
                f"{result.failures} failing, {result.seconds:.0f}s",
                flush=True,
            )
            if not result.ok:
                print(textwrap.indent(result.output[-8000:], "    | "), flush=True)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        if server is not None and any(not r.ok for r in results):
            log = "\n".join(
                line
                for line in (workdir / "server.log").read_text(errors="replace").splitlines()
                if not line.startswith(QUIET_LOG_LINES)
            )
            if log.strip():
                print("Server log (last part):\n" + textwrap.indent(log[-6000:], "    | "))
        database.drop()
        if args.keep:
            print(f"Kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    failed = [r.role for r in results if not r.ok]
    if failed:
        print(f"Fuzzing found problems for: {', '.join(failed)}")
        return 1
    print(f"Fuzzing passed for: {', '.join(r.role for r in results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
