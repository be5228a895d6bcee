"""SECURITY.md R1, R1b, R1c, R1d and R2: real threads racing for seats on PostgreSQL.

Each thread runs the real service with its own database connection. The threads are released
together by a barrier; at most ``GATE`` of them hold a connection at once, because the shared
PostgreSQL server allows 100 connections across every test run on the machine. Whoever is waiting
for a connection joins the race the moment one frees up, so the cohort row is always contended.

SQLite has no row locks and serialises writers, so it cannot show a race: these tests skip there.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections, transaction
from django.test import Client
from django.utils import timezone

from circlecare.accounts.models import User
from circlecare.enrollment import services
from circlecare.enrollment.models import ConsentDocument, ConsentSignature, Enrollment
from circlecare.enrollment.queries import waiting_positions
from circlecare.errors import AlreadyEnrolled, Busy, DomainError
from circlecare.programs.models import Cohort
from tests.conftest import requires_postgres, someone_waits_for_a_lock
from tests.enrollment.factories import publish_consents
from tests.factories import PASSWORD, CohortFactory

pytestmark = [
    pytest.mark.postgres,
    requires_postgres(),
    pytest.mark.django_db(transaction=True),
]

GATE = 40
SEATS = 12


@pytest.fixture(autouse=True)
def _patient_locks(settings: Any) -> None:
    # These tests are about the seat invariant, not the bound on lock waits (R1d tests that with
    # its own short timeout): on a loaded machine a 3-second wait can run out, and "busy, try
    # again" would hide what the test is for.
    settings.SEAT_LOCK_TIMEOUT_MS = 30_000


MEMBERS = 200
ROUNDS = 20
ROUND_BUDGET_SECONDS = 60.0


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call in its own thread, released together; return results or exceptions."""
    barrier = threading.Barrier(len(calls))
    gate = threading.BoundedSemaphore(GATE)
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        with gate:
            try:
                results[index] = call()
            except Exception as exc:
                results[index] = exc
            finally:
                connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread never finished"
    return results


def members(count: int, prefix: str) -> list[User]:
    """Members who have signed every agreement (fast: bulk inserts)."""
    users = User.objects.bulk_create(
        User(email=f"{prefix}-{i}@example.org", display_name=f"M{i}", home_state="NY")
        for i in range(count)
    )
    now = timezone.now()
    ConsentSignature.objects.bulk_create(
        ConsentSignature(member=u, document=d, signed_at=now, signed_name=u.display_name)
        for u in users
        for d in ConsentDocument.objects.all()
    )
    return users


def enroll_call(member: User, cohort: Cohort) -> Callable[[], Any]:
    return lambda: services.enroll(member=member, cohort=cohort)


def check_round(cohort: Cohort, results: list[Any]) -> None:
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    rows = list(Enrollment.objects.filter(cohort=cohort).order_by("queued_at", "pk"))
    statuses = [e.status for e in rows]
    assert statuses.count("confirmed") == SEATS
    assert statuses.count("offered") == 0
    assert statuses.count("waitlisted") == MEMBERS - SEATS
    # Arrival order is lock order: queued_at is read under the lock, so it is strictly increasing,
    # the first twelve through the lock hold the seats and the rest queue in that same order.
    assert len({e.queued_at for e in rows}) == MEMBERS
    assert statuses[:SEATS] == ["confirmed"] * SEATS
    positions = waiting_positions([cohort.pk])
    assert [positions[e.pk] for e in rows[SEATS:]] == list(range(1, MEMBERS - SEATS + 1))


def test_r1_two_hundred_members_twelve_seats_never_oversold() -> None:
    publish_consents()
    started = time.monotonic()
    rounds = 0
    while rounds < ROUNDS and (rounds < 3 or time.monotonic() - started < ROUND_BUDGET_SECONDS):
        cohort = CohortFactory(capacity=SEATS)
        cohort = Cohort.objects.select_related("program").get(pk=cohort.pk)
        people = members(MEMBERS, f"r1-{rounds}")
        results = race([enroll_call(m, cohort) for m in people])
        check_round(cohort, results)
        rounds += 1
    print(f"R1: {rounds} rounds of {MEMBERS} members for {SEATS} seats, 0 oversells")


def test_r1b_one_member_ten_parallel_requests_one_enrollment() -> None:
    publish_consents()
    cohort = CohortFactory(capacity=SEATS)
    (member,) = members(1, "r1b")
    results = race([enroll_call(member, cohort) for _ in range(10)])
    created = [r for r in results if isinstance(r, Enrollment)]
    refused = [r for r in results if isinstance(r, AlreadyEnrolled)]
    assert (len(created), len(refused)) == (1, 9)
    assert Enrollment.objects.filter(member=member, cohort=cohort).count() == 1


def test_r1c_without_the_lock_the_same_race_oversells(monkeypatch: pytest.MonkeyPatch) -> None:
    """Proof the R1 test can catch a race: switch the cohort lock off and the seats oversell."""
    publish_consents()
    monkeypatch.setattr(services, "SEAT_LOCK_ENABLED", False)
    oversold = 0
    for attempt in range(5):
        cohort = CohortFactory(capacity=SEATS)
        people = members(MEMBERS, f"r1c-{attempt}")
        race([enroll_call(m, cohort) for m in people])
        oversold = Enrollment.objects.filter(cohort=cohort, status="confirmed").count() - SEATS
        if oversold > 0:
            break
    assert oversold > 0


def hold_cohort_lock(cohort: Cohort) -> tuple[threading.Event, threading.Thread]:
    """Another transaction holds the cohort row until the returned event is set."""
    locked = threading.Event()
    release = threading.Event()

    def holder() -> None:
        try:
            with transaction.atomic():
                Cohort.objects.select_for_update().get(pk=cohort.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=holder)
    thread.start()
    assert locked.wait(timeout=10)
    return release, thread


def test_r1d_a_held_lock_is_busy_not_a_server_error(settings: Any) -> None:
    settings.SEAT_LOCK_TIMEOUT_MS = 300
    publish_consents()
    cohort = CohortFactory(capacity=SEATS)
    (member,) = members(1, "r1d")
    member.set_password(PASSWORD)
    member.save()
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=member, email=member.email, verified=True, primary=True)
    release, thread = hold_cohort_lock(cohort)
    try:
        started = time.monotonic()
        with pytest.raises(Busy) as caught:
            services.enroll(member=member, cohort=cohort)
        assert time.monotonic() - started < 2.0
        assert "try again" in caught.value.message

        client = Client(raise_request_exception=False)
        client.force_login(member)
        response = client.post(f"/my/join/{cohort.pk}/")
        assert response.status_code == 503
        assert b"try again" in response.content
    finally:
        release.set()
        thread.join()
    assert not Enrollment.objects.filter(cohort=cohort).exists()
    # Once the lock is free, the same request succeeds.
    assert services.enroll(member=member, cohort=cohort).status == "confirmed"


def full_with_a_seat_freed(cohort: Any, waiting: int, tag: str) -> Enrollment:
    """Fill ``cohort`` with ``waiting`` more on its list; then one seat frees up without its own
    offer being made (as if the process died just after). Returns the seat that freed."""
    for person in members(SEATS + waiting, tag):
        services.enroll(member=person, cohort=cohort)
    freed = Enrollment.objects.filter(cohort=cohort, status="confirmed").first()
    assert freed is not None
    Enrollment.objects.filter(pk=freed.pk).update(status="withdrawn")
    return freed


def test_r2_one_freed_seat_fifty_promotions_one_offer() -> None:
    publish_consents()
    cohort = CohortFactory(capacity=SEATS)
    freed = full_with_a_seat_freed(cohort, 50, "r2")
    results = race([lambda: services.offer_next_seat(cohort=cohort) for _ in range(50)])
    assert [r for r in results if isinstance(r, Exception)] == []
    offers = [o for r in results for o in r]
    assert len(offers) == 1
    first_waiting = min(
        (
            e
            for e in Enrollment.objects.filter(cohort=cohort)
            if e.pk != freed.pk and e.confirmed_at is None
        ),
        key=lambda e: (e.queued_at, e.pk),
    )
    assert offers[0].pk == first_waiting.pk
    assert (
        Enrollment.objects.filter(cohort=cohort, status__in=["confirmed", "offered"]).count()
        == SEATS
    )


def test_r2_in_a_therapy_group_one_offer_to_the_first_who_may_take_it() -> None:
    """R2 where the head of the waiting list now lives outside the group's states: the racing
    promotions still make exactly one offer, to the first person in line who may take it."""
    from circlecare.programs.models import ProgramKind
    from tests.factories import LicenseFactory

    publish_consents()
    lic = LicenseFactory(state="NY")
    cohort = CohortFactory(
        capacity=SEATS, lead=lic.clinician.user, program__kind=ProgramKind.THERAPY
    )
    full_with_a_seat_freed(cohort, 50, "r2t")
    waiting = list(
        Enrollment.objects.filter(cohort=cohort, status="waitlisted").order_by("queued_at", "pk")
    )
    moved = [e.member_id for e in waiting[:3]]
    User.objects.filter(pk__in=moved).update(home_state="TX")
    results = race([lambda: services.offer_next_seat(cohort=cohort) for _ in range(50)])
    assert [r for r in results if isinstance(r, Exception)] == []
    offers = [o for r in results for o in r]
    assert [o.pk for o in offers] == [waiting[3].pk]
    assert not Enrollment.objects.filter(member_id__in=moved, status="offered").exists()
    assert (
        Enrollment.objects.filter(cohort=cohort, status__in=["confirmed", "offered"]).count()
        == SEATS
    )


def test_r2_sweeps_racing_seat_changes_make_one_offer() -> None:
    """The sweep's offers take the same lock: sweeps and promotions racing over one freed seat
    make exactly one offer."""
    publish_consents()
    cohort = CohortFactory(capacity=SEATS)
    full_with_a_seat_freed(cohort, 20, "r2s")
    calls: list[Callable[[], Any]] = [services.offer_waiting_seats for _ in range(25)]
    calls += [lambda: len(services.offer_next_seat(cohort=cohort)) for _ in range(25)]
    results = race(calls)
    assert [r for r in results if isinstance(r, Exception)] == []
    assert sum(results) == 1
    assert Enrollment.objects.filter(cohort=cohort, status="offered").count() == 1
    assert (
        Enrollment.objects.filter(cohort=cohort, status__in=["confirmed", "offered"]).count()
        == SEATS
    )


def test_an_unrelated_error_is_not_swallowed() -> None:
    """The race helper reports real failures (a guard against a test that cannot fail)."""
    results = race([lambda: (_ for _ in ()).throw(DomainError("boom")) for _ in range(3)])
    assert all(isinstance(r, DomainError) for r in results)


def test_staff_sees_no_oversell_after_concurrent_withdraw_and_enrol() -> None:
    """Withdrawals and new members racing: confirmed + offered never passes capacity."""
    publish_consents()
    cohort = CohortFactory(capacity=SEATS)
    seated = members(SEATS, "mix-a")
    for person in seated:
        services.enroll(member=person, cohort=cohort)
    newcomers = members(60, "mix-b")
    calls: list[Callable[[], Any]] = [enroll_call(m, cohort) for m in newcomers]
    calls += [
        (lambda e=e: services.withdraw(enrollment=e))
        for e in Enrollment.objects.filter(cohort=cohort)[:6]
    ]
    results = race(calls)
    assert [r for r in results if isinstance(r, Exception)] == []
    held = Enrollment.objects.filter(cohort=cohort, status__in=["confirmed", "offered"]).count()
    assert held == SEATS


@pytest.mark.parametrize("one_trip", [True, False])
def test_a_join_waiting_for_the_lock_sees_the_group_made_for_couples(
    monkeypatch: pytest.MonkeyPatch, one_trip: bool
) -> None:
    """The programme is made for couples under the cohort's lock while a member's join waits for
    that lock: once it has it, the join goes by what the programme is now, and takes no seat
    on its own in a group for couples."""
    from circlecare.enrollment import join_sql
    from circlecare.errors import InvalidTransition
    from circlecare.programs.services import set_for_couples

    if not one_trip:
        monkeypatch.setattr(join_sql, "available", lambda: False)
    publish_consents()
    cohort = CohortFactory(capacity=SEATS)
    stale = Cohort.objects.select_related("program").get(pk=cohort.pk)
    (member,) = members(1, f"couples-{one_trip}")
    locked, release = threading.Event(), threading.Event()

    def switch() -> None:
        try:
            with transaction.atomic():
                Cohort.objects.select_for_update().get(pk=cohort.pk)
                set_for_couples(program=cohort.program, for_couples=True)
                locked.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    switcher = threading.Thread(target=switch)
    switcher.start()
    assert locked.wait(timeout=10)
    joined: list[Any] = []

    def join() -> None:
        try:
            joined.append(services.enroll(member=member, cohort=stale))
        except Exception as exc:
            joined.append(exc)
        finally:
            connections.close_all()

    joiner = threading.Thread(target=join)
    joiner.start()
    try:
        assert someone_waits_for_a_lock(joiner.is_alive)  # the join waits for the cohort's lock
    finally:
        release.set()
        switcher.join()
        joiner.join(timeout=30)
    assert len(joined) == 1 and isinstance(joined[0], InvalidTransition), joined
    assert "for couples" in joined[0].message
    assert not Enrollment.objects.filter(cohort=cohort).exists()
