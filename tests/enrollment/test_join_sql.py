"""The one-round-trip join on PostgreSQL (``enrollment.join_sql``).

It must write exactly what the ORM path in ``services.enroll`` writes, decide only the two plain
outcomes, and leave everything else to that path. The races (SECURITY.md R1–R2) and the state
machine run through it as well, on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from circlecare.audit.models import AuditEvent
from circlecare.enrollment import join_sql, services
from circlecare.enrollment.models import Enrollment, EnrollmentStatus
from circlecare.enrollment.queries import waiting_position
from circlecare.errors import AlreadyEnrolled, EnrollmentClosed
from circlecare.measures.models import ScoreSummary
from circlecare.programs.models import Cohort, CohortStatus, ProgramKind
from tests.conftest import requires_postgres
from tests.enrollment.factories import only_enrollment_steps, publish_consents, ready_member
from tests.factories import CohortFactory, EnrollmentFactory, ProgramFactory
from tests.measures.factories import completed

pytestmark = [pytest.mark.postgres, requires_postgres(), pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _consents() -> None:
    publish_consents()


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What each call of the one-trip join returned (None: left to the ORM path)."""
    answers: list[Any] = []
    real = join_sql.enroll

    def recording(**kwargs: Any) -> Any:
        answers.append(real(**kwargs))
        return answers[-1]

    monkeypatch.setattr(join_sql, "enroll", recording)
    return answers


def orm_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(join_sql, "available", lambda: False)


def fill(cohort: Cohort, confirmed: int, waiting: int = 0, lapsed: int = 0) -> None:
    for _ in range(confirmed):
        EnrollmentFactory(cohort=cohort)
    for passes in [0] * waiting + [1] * lapsed:
        EnrollmentFactory(
            cohort=cohort, status=EnrollmentStatus.WAITLISTED, confirmed_at=None, passes=passes
        )


def written(enrollment: Enrollment) -> dict[str, Any]:
    """The rows a join wrote, without ids and times."""
    row = Enrollment.objects.get(pk=enrollment.pk)
    event = AuditEvent.objects.get(target_type="enrollment.enrollment", target_id=str(row.pk))
    data = dict(event.data)
    assert data.pop("cohort") == row.cohort_id
    return {
        "status": row.status,
        "seated": row.confirmed_at is not None,
        "confirmed_at is queued_at": row.confirmed_at == row.queued_at,
        "offer": (row.offered_at, row.offer_expires_at),
        "ended": (row.ended_at, row.end_reason),
        "passes": row.passes,
        "pairing": row.pairing_id,
        "goodbye": row.goodbye,
        "event": (event.action, event.target_type, data),
        "event actor and subject are the member": (event.actor_id, event.subject_id)
        == (row.member_id, row.member_id),
        "cohort status": Cohort.objects.get(pk=row.cohort_id).status,
        "place": waiting_position(row),
    }


@pytest.mark.parametrize(
    ("capacity", "confirmed", "waiting", "lapsed", "outcome"),
    [
        (3, 0, 0, 0, "confirmed"),  # the first seat
        (3, 2, 0, 0, "confirmed"),  # the last seat: the group is full now
        (3, 3, 2, 1, "waitlisted"),  # behind two, ahead of someone whose offer lapsed
    ],
)
def test_a_plain_join_writes_what_the_orm_path_writes(
    monkeypatch: pytest.MonkeyPatch,
    spy: list[Any],
    capacity: int,
    confirmed: int,
    waiting: int,
    lapsed: int,
    outcome: str,
) -> None:
    quick_cohort, orm_cohort = (CohortFactory(capacity=capacity) for _ in range(2))
    for cohort in (quick_cohort, orm_cohort):
        fill(cohort, confirmed, waiting, lapsed)
    quick_member, orm_member = ready_member(), ready_member()

    with CaptureQueriesContext(connection) as ctx:
        quick = services.enroll(member=quick_member, cohort=quick_cohort)
    assert spy == [quick]
    locking = [i for i, q in enumerate(ctx.captured_queries) if "FOR UPDATE" in q["sql"]]
    # One statement from the lock to the end (the savepoint is the test's transaction).
    assert len(locking) == 1
    after = [q["sql"] for q in ctx.captured_queries[locking[0] + 1 :]]
    assert all(sql.startswith("RELEASE SAVEPOINT") for sql in after), after

    orm_only(monkeypatch)
    orm = services.enroll(member=orm_member, cohort=orm_cohort)

    assert quick.status == orm.status == outcome
    assert written(quick) == written(orm)
    # What the caller gets back matches the database.
    row = Enrollment.objects.get(pk=quick.pk)
    assert (quick.queued_at, quick.confirmed_at) == (row.queued_at, row.confirmed_at)
    assert (quick._state.adding, quick._state.db) == (orm._state.adding, orm._state.db)
    if outcome == "waitlisted":
        assert quick.place == orm.place == waiting_position(row) == waiting + 1  # type: ignore[attr-defined]
    else:
        expected = CohortStatus.FULL if confirmed + 1 == capacity else CohortStatus.OPEN
        assert Cohort.objects.get(pk=quick_cohort.pk).status == expected


def test_a_free_seat_while_people_wait_is_offered_on_the_usual_way(spy: list[Any]) -> None:
    cohort = CohortFactory(capacity=2)
    fill(cohort, confirmed=1, waiting=1)  # a seat freed and not yet offered on
    first = Enrollment.objects.get(cohort=cohort, status=EnrollmentStatus.WAITLISTED)
    newcomer = services.enroll(member=ready_member(), cohort=cohort)
    assert spy == [None]
    assert newcomer.status == EnrollmentStatus.WAITLISTED
    assert Enrollment.objects.get(pk=first.pk).status == EnrollmentStatus.OFFERED


def _cancelled(today: date) -> dict[str, Any]:
    return {"status": CohortStatus.CANCELLED}


def _moved_into_the_past(today: date) -> dict[str, Any]:
    started = today - timedelta(days=1)
    return {"first_meeting_date": started, "weekday": started.weekday()}


def _deadline_passed(today: date) -> dict[str, Any]:
    return {"enrollment_deadline": today - timedelta(days=1)}


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (_cancelled, ""),
        (_moved_into_the_past, "already started"),
        (_deadline_passed, "deadline"),
    ],
)
def test_a_group_closed_since_the_page_was_read_is_refused(
    spy: list[Any], change: Callable[[date], dict[str, Any]], said: str
) -> None:
    cohort = CohortFactory(capacity=5)
    stale = Cohort.objects.select_related("program").get(pk=cohort.pk)
    Cohort.objects.filter(pk=cohort.pk).update(**change(cohort.local_today()))
    with pytest.raises(EnrollmentClosed) as caught:
        services.enroll(member=ready_member(), cohort=stale)
    assert said in caught.value.message
    assert spy == [None]
    assert not Enrollment.objects.filter(cohort=cohort).exists()


@pytest.mark.parametrize("zone", ["Pacific/Honolulu", "Pacific/Kiritimati"])
@pytest.mark.parametrize("with_deadline", [True, False])
def test_the_one_trip_join_closes_at_the_instant_the_group_page_and_catalog_go_by(
    zone: str, with_deadline: bool
) -> None:
    """Up to the instant before ``Cohort.joinable_until_for`` the statement seats someone; from
    that instant it writes nothing, in zones half a day or more from UTC."""
    first = timezone.localdate() + timedelta(days=20)
    cohort = CohortFactory(
        capacity=5,
        first_meeting_date=first,
        weekday=first.weekday(),
        enrollment_deadline=first - timedelta(days=3) if with_deadline else None,
        time_zone=zone,
    )
    until = Cohort.joinable_until_for(cohort.first_meeting_date, cohort.enrollment_deadline, zone)
    assert until == cohort.joinable_until  # what the catalog compares with
    late, in_time = ready_member(), ready_member()
    assert join_sql.enroll(member=late, cohort=cohort, actor=late, now=until) is None
    assert not Enrollment.objects.filter(cohort=cohort).exists()
    seated = join_sql.enroll(
        member=in_time, cohort=cohort, actor=in_time, now=until - timedelta(microseconds=1)
    )
    assert seated is not None and seated.status == EnrollmentStatus.CONFIRMED
    assert list(Enrollment.objects.filter(cohort=cohort).values_list("member", flat=True)) == [
        in_time.pk
    ]


def test_a_deadline_set_since_the_page_was_read_is_left_to_the_usual_way(
    spy: list[Any],
) -> None:
    """The statement goes by the instant worked out from the dates the caller read: when the
    row's deadline is no longer that one, it decides nothing and ``enroll`` decides under the
    lock with the dates as they are (here still open)."""
    cohort = CohortFactory(capacity=5)
    stale = Cohort.objects.select_related("program").get(pk=cohort.pk)
    cohort.enrollment_deadline = cohort.first_meeting_date - timedelta(days=2)
    cohort.save(update_fields=["enrollment_deadline"])
    seated = services.enroll(member=ready_member(), cohort=stale)
    assert spy == [None]
    assert seated.status == EnrollmentStatus.CONFIRMED


def test_a_second_place_is_refused_and_nothing_is_written(spy: list[Any]) -> None:
    cohort = CohortFactory(capacity=5)
    member = ready_member()
    services.enroll(member=member, cohort=cohort)
    events = AuditEvent.objects.count()
    with pytest.raises(AlreadyEnrolled):
        services.enroll(member=member, cohort=cohort)
    assert Enrollment.objects.filter(cohort=cohort).count() == 1
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("full", [False, True])
def test_a_member_the_practice_removed_is_refused_in_one_trip_too(
    spy: list[Any], full: bool
) -> None:
    """The one-trip statement commits nothing for someone whose place the practice ended, with a
    seat free or not, and the usual way refuses them."""
    from circlecare.enrollment.errors import RemovedFromGroup
    from tests.factories import UserFactory

    cohort = CohortFactory(capacity=2)
    member = ready_member()
    removed = services.enroll(member=member, cohort=cohort)
    services.remove(enrollment=removed, actor=UserFactory(is_staff=True), reason="Asked to")
    if full:
        fill(cohort, confirmed=2)
    events = AuditEvent.objects.count()
    spy.clear()
    with pytest.raises(RemovedFromGroup):
        services.enroll(member=member, cohort=cohort)
    assert spy == [None]
    assert Enrollment.objects.filter(member=member).count() == 1
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("full", [False, True])
def test_a_member_let_back_in_joins_in_one_trip(spy: list[Any], full: bool) -> None:
    """Once staff let them join again, the one-trip statement no longer counts the removed
    place against them: it seats them, or puts them on the waiting list, itself."""
    from tests.factories import UserFactory

    cohort = CohortFactory(capacity=2)
    member = ready_member()
    removed = services.enroll(member=member, cohort=cohort)
    coordinator = UserFactory(is_staff=True)
    services.remove(enrollment=removed, actor=coordinator, reason="Asked to")
    services.readmit(enrollment=removed, actor=coordinator)
    if full:
        fill(cohort, confirmed=2)
    spy.clear()
    again = services.enroll(member=member, cohort=cohort)
    assert spy == [again]
    assert again.status == (EnrollmentStatus.WAITLISTED if full else EnrollmentStatus.CONFIRMED)
    assert Enrollment.objects.filter(member=member, cohort=cohort).count() == 2


def test_a_seat_sets_the_flags_and_a_waiting_place_leaves_the_summary_unwritten() -> None:
    program = ProgramFactory(kind=ProgramKind.SKILLS, weeks=4)
    cohort = CohortFactory(program=program, capacity=1)
    seated, waiting = ready_member(), ready_member()
    for person in (seated, waiting):
        completed(member=person, cohort=cohort, code="WHO5", total=10, week=0)

    def version(person: Any) -> Any:
        row = ScoreSummary.objects.extra(select={"version": "xmin"}).get(
            member=person, cohort=cohort
        )
        return row.version, row.seated, row.left_early

    before = version(waiting)
    with only_enrollment_steps():
        services.enroll(member=seated, cohort=cohort)
        services.enroll(member=waiting, cohort=cohort)
    assert version(seated)[1:] == (True, False)
    assert version(waiting) == before  # same flags, and the row was not rewritten


@pytest.mark.django_db(transaction=True)
def test_a_join_inside_someone_elses_transaction_is_refused() -> None:
    cohort = CohortFactory(capacity=5)
    member = ready_member()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.enroll(member=member, cohort=cohort)
    assert not Enrollment.objects.filter(cohort=cohort).exists()
