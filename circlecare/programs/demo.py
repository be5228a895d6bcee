"""The demo practice: believable, clearly labelled as made up, and safe to seed twice."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils import timezone

from circlecare.accounts.models import User
from circlecare.enrollment.models import Enrollment, EnrollmentStatus
from circlecare.practice.models import Clinician, CompactPrivilege, License
from circlecare.programs.demo_content import PROGRAMS
from circlecare.programs.models import Cohort, CohortStatus, Program, ProgramWeek
from circlecare.states import where

DEMO_PASSWORD = "demo-practice-password"  # nosec B105  # noqa: S105 - printed on the console on purpose
DOMAIN = "demo.circlecare.example"


@dataclass
class Seeded:
    accounts: list[tuple[str, str]] = field(default_factory=list)
    created: int = 0


def _user(seeded: Seeded, local: str, name: str, role: str, **fields: Any) -> User:
    email = f"{local}@{DOMAIN}"
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User(email=email, display_name=name, **fields)
        user.set_password(DEMO_PASSWORD)
        user.save()
        seeded.created += 1
    EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    seeded.accounts.append((role, email))
    return user


def _clinician(
    seeded: Seeded,
    local: str,
    name: str,
    credentials: str,
    bio: str,
    licenses: list[tuple[str, str, str]],
) -> Clinician:
    user = _user(
        seeded,
        local,
        name,
        f"clinician ({credentials})",
        home_state=licenses[0][0],
        is_facilitator=True,
    )
    clinician, _ = Clinician.objects.get_or_create(
        user=user, defaults={"credentials": credentials, "bio": bio}
    )
    for state, kind, number in licenses:
        License.objects.get_or_create(
            state=state,
            kind=kind,
            number=number,
            defaults={
                "clinician": clinician,
                "valid_from": date(2019, 1, 1),
                "valid_to": date(2031, 6, 30),
            },
        )
    return clinician


def _programs() -> dict[str, Program]:
    programs: dict[str, Program] = {}
    for spec in PROGRAMS:
        values = {k: v for k, v in spec.items() if k not in {"slug", "curriculum"}}
        program, created = Program.objects.get_or_create(slug=spec["slug"], defaults=values)
        if created:
            ProgramWeek.objects.bulk_create(
                ProgramWeek(program=program, **week) for week in spec["curriculum"]
            )
        programs[spec["slug"]] = program
    return programs


def _next(weekday: int, days_ahead: int) -> date:
    start = timezone.localdate() + timedelta(days=days_ahead)
    return start + timedelta(days=(weekday - start.weekday()) % 7)


def _cohort(program: Program, name: str, **fields: Any) -> Cohort:
    cohort = Cohort.objects.filter(program=program, name=name).first()
    if cohort is None:
        first = _next(fields.pop("weekday"), fields.pop("days_ahead"))
        cohort = Cohort.objects.create(
            program=program, name=name, first_meeting_date=first, weekday=first.weekday(), **fields
        )
    return cohort


def _fill(cohort: Cohort, members: list[User], confirmed: int) -> None:
    now = timezone.now()
    for index, member in enumerate(members[:confirmed]):
        Enrollment.objects.get_or_create(
            member=member,
            cohort=cohort,
            defaults={
                "status": EnrollmentStatus.CONFIRMED,
                "queued_at": now - timedelta(days=30 - index),
                "confirmed_at": now - timedelta(days=30 - index),
            },
        )


@transaction.atomic
def seed() -> Seeded:
    seeded = Seeded()
    coordinator = _user(
        seeded, "coordinator", "Robin (coordinator)", "coordinator", is_staff=True, home_state="NY"
    )
    jordan = _clinician(
        seeded,
        "jordan.lee",
        "Jordan Lee",
        "LCSW",
        "Jordan has led relationship groups for twelve years and believes most of us heal in "
        "company. Licensed in New York and New Jersey.",
        [("NY", "LCSW", "DEMO-NY-0481"), ("NJ", "LCSW", "DEMO-NJ-7720")],
    )
    maya = _clinician(
        seeded,
        "maya.alvarez",
        "Dr. Maya Alvarez",
        "PsyD",
        "Maya is a psychologist who works with anxiety, attachment and big life changes. "
        "Licensed in Florida and New Jersey, with a PSYPACT privilege for Pennsylvania.",
        [("FL", "PSY", "DEMO-FL-PY1193"), ("NJ", "PSY", "DEMO-NJ-35SI0042")],
    )
    nj_license = License.objects.get(number="DEMO-NJ-35SI0042")
    CompactPrivilege.objects.get_or_create(
        clinician=maya,
        compact="PSYPACT",
        state="PA",
        defaults={
            "home_license": nj_license,
            "identifier": "DEMO-APIT-2210",
            "valid_from": date(2022, 1, 1),
            "valid_to": date(2031, 6, 30),
        },
    )
    sam = _clinician(
        seeded,
        "sam.rivera",
        "Sam Rivera",
        "LMHC",
        "Sam teaches DBT skills with warmth and a lot of practical examples. Licensed in Florida.",
        [("FL", "LMHC", "DEMO-FL-MH20817")],
    )
    priya = _user(
        seeded,
        "priya.shah",
        "Priya Shah",
        "peer facilitator",
        is_facilitator=True,
        home_state="CA",
        time_zone="America/Los_Angeles",
    )

    people = [
        ("alex", "Alex", "NJ", "America/New_York"),
        ("taylor", "Taylor", "TX", "America/Chicago"),
        ("morgan", "Morgan", "NY", "America/New_York"),
        ("casey", "Casey", "FL", "America/New_York"),
        ("jamie", "Jamie", "CA", "America/Los_Angeles"),
        ("riley", "Riley", "NY", "America/New_York"),
        ("quinn", "Quinn", "NJ", "America/New_York"),
        ("avery", "Avery", "PA", "America/New_York"),
        ("charlie", "Charlie", "XX", "Europe/London"),
        ("devon", "Devon", "AZ", "America/Phoenix"),
        ("emerson", "Emerson", "NY", "America/New_York"),
        ("finley", "Finley", "FL", "America/New_York"),
        ("harper", "Harper", "WA", "America/Los_Angeles"),
        ("kai", "Kai", "IL", "America/Chicago"),
        ("logan", "Logan", "NJ", "America/New_York"),
        ("nico", "Nico", "CO", "America/Denver"),
    ]
    members = [
        _user(
            seeded, local, name, f"member (lives {where(state)})", home_state=state, time_zone=zone
        )
        for local, name, state, zone in people
    ]

    programs = _programs()
    closer = programs["closer-relationships-therapy"]
    dbt = programs["dbt-skills"]
    circle = programs["circle-of-connection"]

    evenings = _cohort(
        closer,
        "Tuesday evenings",
        lead=jordan.user,
        weekday=1,
        days_ahead=9,
        start_time=time(19, 0),
        time_zone="America/New_York",
        capacity=8,
        min_size=4,
        status=CohortStatus.OPEN,
    )
    lunchtime = _cohort(
        closer,
        "Thursday lunchtimes",
        lead=maya.user,
        co_facilitator=jordan.user,
        weekday=3,
        days_ahead=16,
        start_time=time(12, 0),
        time_zone="America/New_York",
        capacity=8,
        min_size=4,
        status=CohortStatus.OPEN,
    )
    dbt_central = _cohort(
        dbt,
        "Wednesday evenings (Central)",
        lead=sam.user,
        weekday=2,
        days_ahead=12,
        start_time=time(18, 0),
        time_zone="America/Chicago",
        capacity=12,
        min_size=5,
        status=CohortStatus.OPEN,
    )
    dbt_pacific = _cohort(
        dbt,
        "Saturday mornings (Pacific)",
        lead=sam.user,
        weekday=5,
        days_ahead=20,
        start_time=time(10, 0),
        time_zone="America/Los_Angeles",
        capacity=12,
        min_size=5,
        status=CohortStatus.OPEN,
    )
    circle_west = _cohort(
        circle,
        "Monday evenings",
        lead=priya,
        weekday=0,
        days_ahead=7,
        start_time=time(18, 30),
        time_zone="America/Los_Angeles",
        capacity=10,
        min_size=4,
        status=CohortStatus.OPEN,
    )
    circle_europe = _cohort(
        circle,
        "Sunday afternoons (London)",
        lead=priya,
        weekday=6,
        days_ahead=14,
        start_time=time(16, 0),
        time_zone="Europe/London",
        capacity=10,
        min_size=4,
        status=CohortStatus.OPEN,
    )

    ny_nj = [m for m in members if m.home_state in {"NY", "NJ"}]
    _fill(evenings, ny_nj, 6)  # nearly full: 2 of 8 seats left
    _fill(lunchtime, [m for m in members if m.home_state in {"FL", "NJ", "PA"}], 3)
    _fill(dbt_central, members[1:], 9)
    _fill(dbt_pacific, members[4:], 2)
    _fill(circle_west, members[2:], 9)  # one seat left
    _fill(circle_europe, members[8:], 3)
    del coordinator
    return seeded
