"""Every change to a seat: enrol, withdraw, offer, accept, decline, expire, remove, change capacity.

The invariant: confirmed + offered ≤ capacity for every cohort at every instant. Each change that can
move a seat runs in one durable transaction that first locks the cohort row (``SELECT … FOR UPDATE``);
the seat count is read and written under that lock, so two requests can never both take the last
seat. On PostgreSQL the lock wait is bounded by ``SEAT_LOCK_TIMEOUT_MS``; a timeout becomes
``Busy`` ("busy, please try again"). E-mails and delayed tasks are queued only after commit.
On PostgreSQL a plain join (a free seat and nobody waiting, or a full group) is decided and
committed inside the database in one round trip (``join_sql``), by the same rules, so the lock is
not held while the request's thread waits its turn to run; everything else is decided here.

The waiting list is first come, first served in lock order: ``queued_at`` is read after the lock is
held. Someone whose offer lapsed stays on the list behind everyone who has not had an offer yet.
A couple's two enrollments share a ``Pairing`` and move together; a freed seat goes to the first
entry on the list that fits (a couple needs two seats, so a single person behind them may be offered
one seat while the couple keeps its place for two).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from circlecare.audit.models import AuditAction
from circlecare.audit.services import record
from circlecare.care import services as care
from circlecare.enrollment import join_sql, steps
from circlecare.enrollment.errors import (
    InvalidCapacity,
    InviteInvalid,
    NotAllowed,
    RemovedFromGroup,
    StepRequired,
)
from circlecare.enrollment.models import (
    DECLINED_OFFER,
    GROUP_CANCELLED,
    GROUP_FINISHED,
    LAPSED_OFFERS_LIMIT,
    LIVE,
    OFFERS_LAPSED,
    PARTNER_EMAIL_MAX,
    PARTNER_LEFT,
    PARTNER_REMOVED,
    REMOVED_BY_PRACTICE,
    SEAT_HOLDING,
    SIGNED_NAME_MAX,
    WITHDREW,
    ConsentDocument,
    ConsentSignature,
    Enrollment,
    EnrollmentStatus,
    Pairing,
    PartnerInvite,
    PartnerInviteEnd,
    PartnerInviteStatus,
    removed_by_practice,
)
from circlecare.errors import (
    AlreadyEnrolled,
    Busy,
    CapacityTooLow,
    ConsentRequired,
    DomainError,
    EnrollmentClosed,
    InvalidTransition,
    NotEligible,
    OfferExpired,
)
from circlecare.measures import summaries
from circlecare.practice import eligibility
from circlecare.programs.models import (
    COUPLES_EVEN_CAPACITY,
    ENDED,
    JOINABLE,
    MAX_CAPACITY,
    Cohort,
    CohortStatus,
    Program,
)
from circlecare.programs.services import set_for_couples

#: Exists only for the R1c proof in tests/enrollment/test_concurrency.py, which shows that the race
#: test catches an oversell when the cohort row is not locked. Never switch it off anywhere else.
SEAT_LOCK_ENABLED = True

#: PostgreSQL's SQLSTATE for lock_not_available (raised when lock_timeout elapses).
LOCK_NOT_AVAILABLE = "55P03"

PARTNER_INVITE_DAYS = 14

COUPLES_JOIN_TOGETHER = (
    "This group is for couples: invite your partner, and you'll take your seats together."
)
NOT_FOR_COUPLES = "This group isn't for couples: each person joins on their own."


# --------------------------------------------------------------------------------------------------
# Locking and small helpers (only ever called inside a service's transaction)


def _is_lock_timeout(exc: BaseException) -> bool:
    cause = exc.__cause__ or exc
    return getattr(cause, "sqlstate", None) == LOCK_NOT_AVAILABLE or "lock timeout" in str(exc)


def _lock_cohort(cohort_id: int) -> Cohort:
    """Lock the cohort row for this transaction and read it with its programme; a wait longer
    than the setting raises ``Busy``.

    On PostgreSQL the lock is taken by a statement of its own (sent with the lock timeout, in
    one round trip) and the row is read by the next one. A single ``SELECT … FOR UPDATE`` that
    joined the programme and had to wait would read the cohort as the lock holder left it but
    the programme as it was before: whether the group is for couples, which
    ``change_for_couples`` changes under these locks, would be out of date."""
    assert connection.in_atomic_block, "seat changes run inside a service's transaction"
    queryset = Cohort.objects.select_related("program")
    if not SEAT_LOCK_ENABLED:
        return queryset.get(pk=cohort_id)
    with _lock_wait_bounded():
        if connection.vendor != "postgresql":
            return queryset.select_for_update(of=("self",)).get(pk=cohort_id)
        timeout_ms = int(getattr(settings, "SEAT_LOCK_TIMEOUT_MS", 3000))
        # SET cannot take bind parameters; the value is an int we formatted ourselves.
        timeout = f"SET LOCAL lock_timeout = '{timeout_ms}ms'"
        table = connection.ops.quote_name(Cohort._meta.db_table)
        pk = connection.ops.quote_name(str(Cohort._meta.pk.column))
        lock = f"SELECT 1 FROM {table} WHERE {pk} = %s FOR UPDATE"  # nosec B608  # noqa: S608 - model names
        with connection.cursor() as cursor:
            if join_sql.available():  # several statements in one message
                cursor.execute(f"{timeout}; {lock}", [cohort_id])
            else:
                cursor.execute(timeout)
                cursor.execute(lock, [cohort_id])
        return queryset.get(pk=cohort_id)


@contextmanager
def _lock_wait_bounded() -> Iterator[None]:
    """A lock wait that ran out (``SEAT_LOCK_TIMEOUT_MS``) becomes ``Busy``, never a 500."""
    try:
        yield
    except OperationalError as exc:
        if _is_lock_timeout(exc):
            raise Busy("This group is busy right now. Please try again in a moment.") from exc
        raise


def _now_under_lock() -> datetime:
    """The time a place on the waiting list is taken, read once the cohort lock is held, so the
    list's order (``queued_at``) is the lock's order. On PostgreSQL it is the database's clock,
    as in ``join_sql``, so that every server process stamps places with the same clock."""
    if connection.vendor != "postgresql":
        return timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def _held(cohort: Cohort) -> int:
    return Enrollment.objects.filter(cohort=cohort, status__in=SEAT_HOLDING).count()


def _sync_status(cohort: Cohort, held: int | None = None) -> None:
    """Keep the catalog's open/full label true to what joining would do (other statuses are left
    alone): full once the free seats cannot take one more place, so a group for couples with one
    free seat is full. Every caller has offered the free seats first, so nobody is left waiting
    while a place that fits them is free."""
    if cohort.status not in JOINABLE:
        return
    held = _held(cohort) if held is None else held
    wanted = CohortStatus.FULL if cohort.is_full_with(held) else CohortStatus.OPEN
    if cohort.status != wanted:
        cohort.status = wanted
        cohort.save(update_fields=["status"])


def _require_open(cohort: Cohort) -> None:
    reason = cohort.closed_for_joining
    if reason:
        raise EnrollmentClosed(reason)


def _require_steps(member: Any, cohort: Cohort) -> None:
    """Every registered "before a seat" step must be met (eligibility, consents, …)."""
    requirement = steps.first_unmet(member, cohort)
    if requirement is None:
        return
    if requirement.code == "not_eligible":
        raise NotEligible(requirement.message)
    if requirement.code == "consent":
        raise ConsentRequired(requirement.message, detail={"url": requirement.url})
    raise StepRequired(requirement.message, detail={"url": requirement.url})


def _require_partner_steps(enrollment: Enrollment, pairing_id: int, cohort: Cohort) -> None:
    """A couple's seats are taken together: the partner's steps must be met too, and when they
    are not, the one accepting is told so (the partner finds the step in their own My groups)."""
    partner = (
        Enrollment.objects.filter(pairing_id=pairing_id)
        .exclude(pk=enrollment.pk)
        .select_related("member")
        .defer("member__password")
        .first()
    )
    if partner is None:
        return
    _require_steps_of_partner(partner.member, cohort)


PARTNER_NOT_ELIGIBLE = (
    "Your partner can't join this group from where they live: its clinician may only see people "
    "who live in a state where they're licensed. A couple takes its seats together, so neither "
    "of you can take one. Nothing has changed; you can each look for another group on your own."
)
PARTNER_NO_HOME_STATE = (
    "Your partner hasn't said where they live yet, which a therapy group needs to know. Once "
    "they add it to their profile, you can both take your seats."
)


def _require_steps_of_partner(partner: Any, cohort: Cohort) -> None:
    """The other half of a couple must meet every step too. What is said is for the one who is
    accepting: the step is their partner's (their own words, "where you live", and a link to do
    it, would be about the wrong person)."""
    requirement = steps.first_unmet(partner, cohort)
    if requirement is None:
        return
    if requirement.code == "not_eligible":
        decision = eligibility.check(partner, cohort, with_alternatives=False)
        if decision.reason == eligibility.Reason.NO_HOME_STATE:
            raise NotEligible(PARTNER_NO_HOME_STATE)
        raise NotEligible(PARTNER_NOT_ELIGIBLE)
    raise StepRequired(
        "Your partner has a step to finish before you can both take your seats: "
        f"{requirement.message} They'll find it in their own My groups."
    )


def _waiting_exists(cohort: Cohort) -> bool:
    return Enrollment.objects.filter(cohort=cohort, status=EnrollmentStatus.WAITLISTED).exists()


def _mates(enrollment: Enrollment, statuses: Iterable[str]) -> list[Enrollment]:
    """The enrollment and, for a couple, the partner's — locked, in the given statuses."""
    if enrollment.pairing_id is None:
        return [enrollment]
    return list(
        Enrollment.objects.select_for_update()
        .filter(pairing_id=enrollment.pairing_id, status__in=list(statuses))
        .order_by("pk")
    )


def _notify(kind: str, enrollments: Iterable[Enrollment]) -> None:
    from circlecare.enrollment import tasks

    ids = [e.pk for e in enrollments]
    transaction.on_commit(lambda: [tasks.send_enrollment_email.enqueue(i, kind) for i in ids])


def _schedule_expiry(enrollments: Iterable[Enrollment]) -> None:
    from circlecare.enrollment import tasks

    due = [(e.pk, e.offer_expires_at) for e in enrollments]

    def enqueue() -> None:
        for pk, when in due:
            tasks.expire_offer.using(run_after=when).enqueue(pk)

    transaction.on_commit(enqueue)


def _offer_free_seats(cohort: Cohort, *, now: datetime | None = None) -> list[Enrollment]:
    """Offer every free seat to the first fitting entries on the waiting list (lock already held).

    In a therapy group, someone who now lives where its clinician may not see them (they moved,
    or a licence ends before the group does) keeps their place but is passed over: a seat they
    could not accept would be held from the next person for the whole hold, and its lapse
    counted against them."""
    assert connection.in_atomic_block
    if cohort.status not in JOINABLE:
        return []
    held = _held(cohort)
    free = cohort.capacity - held
    if free <= 0:
        _sync_status(cohort, held)
        return []
    now = now or timezone.now()
    # The hold, rounded up to a whole minute: the deadline the member reads ("2:48 pm") is then
    # the exact one, never a few seconds earlier than it says.
    expires = (now + settings.OFFER_HOLD + timedelta(seconds=59, microseconds=999_999)).replace(
        second=0, microsecond=0
    )
    waiting = list(
        Enrollment.objects.filter(cohort=cohort, status=EnrollmentStatus.WAITLISTED)
        .annotate(home=F("member__home_state"))
        .order_by(*Enrollment.WAITING_ORDER)
    )
    if waiting and _has_begun(cohort, now):
        # Its first meeting began before the hourly sweep moved it on: it is running now, and a
        # running group offers no seats.
        cohort.status = CohortStatus.RUNNING
        cohort.save(update_fields=["status"])
        return []
    # The home states someone may take a seat from today, as eligibility decides at acceptance;
    # a group of another kind takes people wherever they live.
    served = eligibility.served_states(cohort) if waiting and cohort.program.is_therapy else None
    offered: list[Enrollment] = []
    seen_pairs: set[int] = set()
    for entry in waiting:
        if free <= 0:
            break
        if entry.pairing_id is not None:
            if entry.pairing_id in seen_pairs:
                continue
            seen_pairs.add(entry.pairing_id)
            unit = [w for w in waiting if w.pairing_id == entry.pairing_id]
        else:
            unit = [entry]
        if len(unit) > free:
            continue
        if served is not None and any(e.home not in served for e in unit):
            continue
        for e in unit:
            e.status = EnrollmentStatus.OFFERED
            e.offered_at = now
            e.offer_expires_at = expires
            e.save(update_fields=["status", "offered_at", "offer_expires_at", "updated_at"])
            record(
                actor=None,
                action=AuditAction.ENROLLMENT_CHANGED,
                target=e,
                subject=e.member,
                data={"status": "offered"},
            )
        free -= len(unit)
        offered.extend(unit)
    _sync_status(cohort, cohort.capacity - free)
    if offered:
        _notify("offered", offered)
        _schedule_expiry(offered)
    return offered


def _seat_changed(enrollment: Enrollment) -> None:
    """Keep the outcome summaries' seat flags true to a seat that is or was confirmed (see
    ``measures.summaries``); in the transaction of the change."""
    if enrollment.confirmed_at is not None:
        summaries.seats_changed(enrollment.member_id, enrollment.cohort_id)


def _audit(enrollment: Enrollment, actor: Any, action: AuditAction, **data: Any) -> None:
    record(
        actor=actor,
        action=action,
        target=enrollment,
        subject=enrollment.member,
        data={"status": enrollment.status, "cohort": enrollment.cohort_id, **data},
    )


# --------------------------------------------------------------------------------------------------
# Joining


def enroll(member: Any, cohort: Cohort, *, actor: Any = None) -> Enrollment:
    """Take a seat, or a place on the waiting list when the cohort is full.

    Refused (``NotEligible``, ``ConsentRequired``, ``StepRequired``) while a "before a seat" step is
    unmet; ``EnrollmentClosed`` after the deadline; ``AlreadyEnrolled`` for a second live place.
    A place on the waiting list comes back with ``place`` set (1 = next) when it is known without
    another query.
    """
    actor = actor or member
    if cohort.program.for_couples:
        raise InvalidTransition(COUPLES_JOIN_TOGETHER)
    # Closed to new members: said first, before any step asks for agreements or answers.
    _require_open(cohort)
    try:
        _require_steps(member, cohort)
    except DomainError:
        # Someone who already has a place here (pressing Join again, a second tab) is told so,
        # not asked for a step; looked up only on this refusal, so a join costs nothing more.
        if Enrollment.objects.filter(member=member, cohort=cohort, status__in=LIVE).exists():
            raise AlreadyEnrolled() from None
        raise
    if SEAT_LOCK_ENABLED and join_sql.available():
        quick = _enroll_in_one_trip(member, cohort, actor)
        if quick is not None:
            return quick
    try:
        with transaction.atomic(durable=True):
            locked = _lock_cohort(cohort.pk)
            _require_open(locked)
            if locked.program.for_couples:  # made for couples since the caller read it
                raise InvalidTransition(COUPLES_JOIN_TOGETHER)
            # One query for everything the decision needs, read under the lock.
            counts = Enrollment.objects.filter(cohort=locked).aggregate(
                held=Count("pk", filter=Q(status__in=SEAT_HOLDING)),
                waiting=Count("pk", filter=Q(status=EnrollmentStatus.WAITLISTED)),
                # A newcomer waits behind everyone who has not let an offer lapse (WAITING_ORDER),
                # a couple waiting together counted as the one place they are.
                ahead=Count(
                    "pk",
                    filter=Q(status=EnrollmentStatus.WAITLISTED, passes=0, pairing__isnull=True),
                )
                + Count(
                    "pairing",
                    distinct=True,
                    filter=Q(status=EnrollmentStatus.WAITLISTED, passes=0),
                ),
                mine=Count("pk", filter=Q(member=member, status__in=LIVE)),
                barred=Count("pk", filter=Q(member=member) & removed_by_practice()),
            )
            if counts["mine"]:
                raise AlreadyEnrolled()
            if counts["barred"]:
                raise RemovedFromGroup()
            now = _now_under_lock()  # queued_at follows lock order
            held = counts["held"]
            free = locked.capacity - held
            seat = free > 0 and not counts["waiting"]
            enrollment = Enrollment.objects.create(
                member=member,
                cohort=locked,
                status=EnrollmentStatus.CONFIRMED if seat else EnrollmentStatus.WAITLISTED,
                queued_at=now,
                confirmed_at=now if seat else None,
            )
            _audit(enrollment, actor, AuditAction.ENROLLMENT_CREATED)
            _seat_changed(enrollment)
            if seat:
                _sync_status(locked, held + 1)
            elif free > 0 and _offer_free_seats(locked, now=now):
                enrollment.refresh_from_db()
            else:
                # The waiting place, known from the counts read under the lock.
                enrollment.place = counts["ahead"] + 1  # type: ignore[attr-defined]
            if enrollment.status != EnrollmentStatus.OFFERED:
                _notify(
                    "confirmed"
                    if enrollment.status == EnrollmentStatus.CONFIRMED
                    else "waitlisted",
                    [enrollment],
                )
            if held == 0:
                # The first seat taken: check the size a set number of days before the start.
                transaction.on_commit(lambda: _schedule_minimum_check(locked))
    except IntegrityError:
        # The partial unique constraint is the backstop behind the check above.
        raise AlreadyEnrolled() from None
    return enrollment


def _enroll_in_one_trip(member: Any, cohort: Cohort, actor: Any) -> Enrollment | None:
    """The two plain outcomes of a join, decided and committed inside PostgreSQL
    (``join_sql``); ``None`` when ``enroll`` must decide under the lock itself."""
    try:
        _require_open(cohort)
    except EnrollmentClosed:
        return None
    # Outside any transaction the query string is its own transaction. Inside one, only a test's
    # may wrap a seat change (durable=True says so), and a savepoint keeps a failure contained.
    wrapper = transaction.atomic(durable=True) if connection.in_atomic_block else nullcontext()
    assert connection.in_atomic_block or connection.get_autocommit()
    try:
        with _lock_wait_bounded(), wrapper:
            enrollment = join_sql.enroll(
                member=member, cohort=cohort, actor=actor, now=timezone.now()
            )
    except IntegrityError:
        # The partial unique constraint: a second live place for the same member.
        raise AlreadyEnrolled() from None
    if enrollment is None:
        return None
    # Committed (or, in a test, inside the test's transaction): these run after commit.
    _notify(
        "confirmed" if enrollment.status == EnrollmentStatus.CONFIRMED else "waitlisted",
        [enrollment],
    )
    if enrollment.held_before == 0:  # type: ignore[attr-defined]
        transaction.on_commit(lambda: _schedule_minimum_check(cohort))
    return enrollment


def _schedule_minimum_check(cohort: Cohort) -> None:
    from circlecare.enrollment import tasks

    days = getattr(settings, "COHORT_MIN_SIZE_ALERT_DAYS", 7)
    alert_day = cohort.first_meeting_date - timedelta(days=days)
    when = datetime.combine(alert_day, datetime.min.time(), tzinfo=ZoneInfo(cohort.time_zone))
    if when > timezone.now():
        tasks.check_minimum_size.using(run_after=when).enqueue(cohort.pk)


def _end(
    e: Enrollment,
    status: str,
    reason: str,
    *,
    now: datetime,
    actor: Any,
    extra: tuple[str, ...] = (),
    group_ended: bool = False,
    **audit: Any,
) -> None:
    """End a locked enrollment's place (left, declined, removed, completed…): saved, audited,
    and the outcome summaries' seat flags kept true, in the caller's transaction. A member who
    had a seat leaves the group's care board: what they agreed there is called off and their
    open posts close (``group_ended`` when the whole group finished or was cancelled)."""
    had_seat = e.status == EnrollmentStatus.CONFIRMED
    e.status = status
    e.ended_at = now
    e.end_reason = reason
    e.offer_expires_at = None
    e.save(
        update_fields=["status", "ended_at", "end_reason", "offer_expires_at", "updated_at", *extra]
    )
    _audit(e, actor, AuditAction.ENROLLMENT_CHANGED, **audit)
    _seat_changed(e)
    if had_seat:
        care.member_left(
            member_id=e.member_id, cohort_id=e.cohort_id, now=now, group_ended=group_ended
        )
    if had_seat and not group_ended:
        from circlecare.measures.services import member_left as questionnaires_end

        questionnaires_end(member_id=e.member_id, cohort_id=e.cohort_id)


def withdraw(enrollment: Enrollment, *, actor: Any = None, goodbye: str = "") -> Enrollment:
    """Leave a cohort or its waiting list (a couple leaves together). A freed seat is offered on."""
    actor = actor or enrollment.member
    goodbye = (goodbye or "").strip()[:1000]
    with transaction.atomic(durable=True):
        cohort = _lock_cohort(enrollment.cohort_id)
        current = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
        if current.status not in LIVE:
            raise InvalidTransition("Your place in this group has already ended.")
        now = timezone.now()
        for e in _mates(current, LIVE):
            says_goodbye = e.pk == current.pk and bool(goodbye)
            if says_goodbye:
                e.goodbye = goodbye
            _end(
                e,
                EnrollmentStatus.WITHDRAWN,
                WITHDREW if e.pk == current.pk else PARTNER_LEFT,
                now=now,
                actor=actor,
                extra=("goodbye",) if says_goodbye else (),
            )
            if e.pk == current.pk:
                current = e
            else:
                _notify("partner_left", [e])  # they did not choose it: they are told
        _offer_free_seats(cohort, now=now)
    return current


# --------------------------------------------------------------------------------------------------
# Offers


def offer_next_seat(*, cohort: Cohort, actor: Any = None) -> list[Enrollment]:
    """Offer any free seats to the waiting list; returns the new offers (usually none or one)."""
    with transaction.atomic(durable=True):
        locked = _lock_cohort(cohort.pk)
        return _offer_free_seats(locked)


def accept_offer(*, enrollment: Enrollment, actor: Any = None) -> Enrollment:
    """Take an offered seat before its deadline (a couple's offer is accepted for both)."""
    actor = actor or enrollment.member
    cohort = Cohort.objects.select_related("program").get(pk=enrollment.cohort_id)
    fresh = (
        Enrollment.objects.filter(pk=enrollment.pk)
        .values("status", "offer_expires_at", "pairing_id")
        .first()
    )
    if fresh is None or fresh["status"] != EnrollmentStatus.OFFERED:
        # Said before any step: no agreement or questions for an offer that is not there.
        raise InvalidTransition("There's no open seat offer for you in this group.")
    deadline = fresh["offer_expires_at"]
    if deadline is None or deadline > timezone.now():
        _require_steps(enrollment.member, cohort)
        if fresh["pairing_id"] is not None:
            _require_partner_steps(enrollment, fresh["pairing_id"], cohort)
    expired = False
    with transaction.atomic(durable=True):
        locked = _lock_cohort(enrollment.cohort_id)
        current = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
        if current.status != EnrollmentStatus.OFFERED:
            raise InvalidTransition("There's no open seat offer for you in this group.")
        now = timezone.now()
        if current.offer_expires_at is not None and current.offer_expires_at <= now:
            _expire_locked(locked, [current], now=now)
            # Where the lapse left them: still waiting, off the list, or offered the seat again.
            current.refresh_from_db(fields=["status", "end_reason"])
            expired = True
        else:
            for e in _mates(current, [EnrollmentStatus.OFFERED]):
                e.status = EnrollmentStatus.CONFIRMED
                e.confirmed_at = now
                e.offer_expires_at = None
                e.save(update_fields=["status", "confirmed_at", "offer_expires_at", "updated_at"])
                _audit(e, actor, AuditAction.ENROLLMENT_CHANGED)
                _seat_changed(e)
                _notify("confirmed", [e])
                if e.pk == current.pk:
                    current = e
    if expired:
        raise OfferExpired(_lapsed_offer_message(current, locked))
    return current


def _lapsed_offer_message(enrollment: Enrollment, cohort: Cohort) -> str:
    """What someone who answers an offer after its deadline is told, by where the lapse left
    them (``_expire_locked``)."""
    if enrollment.status == EnrollmentStatus.OFFERED:
        return (
            "This seat offer had expired, but the seat is still free and nobody else is waiting "
            "for it, so it's offered to you again: you can accept it now."
        )
    if enrollment.status == EnrollmentStatus.WITHDRAWN:
        again = (
            ""
            if cohort.closed_for_joining
            else " If the group still suits you, you're welcome to join it again."
        )
        return (
            f"This seat offer has expired. It was the {_ordinal(LAPSED_OFFERS_LIMIT)} offer that "
            f"wasn't taken up in time, so you're no longer on the waiting list.{again}"
        )
    if cohort.status not in JOINABLE:
        return (
            "This seat offer has expired. The group has started meeting, so no more seats will "
            "be offered from its waiting list."
        )
    return (
        "This seat offer has expired. You're still on the waiting list, "
        "after the people who haven't had an offer yet."
    )


def _ordinal(n: int) -> str:
    return {1: "first", 2: "second", 3: "third"}.get(n, f"{n}th")


def decline_offer(*, enrollment: Enrollment, actor: Any = None) -> Enrollment:
    """Say no to an offered seat: the member leaves the waiting list and the seat is offered on."""
    actor = actor or enrollment.member
    with transaction.atomic(durable=True):
        cohort = _lock_cohort(enrollment.cohort_id)
        current = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
        if current.status != EnrollmentStatus.OFFERED:
            raise InvalidTransition("There's no open seat offer for you in this group.")
        now = timezone.now()
        for e in _mates(current, [EnrollmentStatus.OFFERED]):
            _end(e, EnrollmentStatus.WITHDRAWN, DECLINED_OFFER, now=now, actor=actor)
            if e.pk == current.pk:
                current = e
            else:
                _notify("partner_declined", [e])  # they did not press it: they are told
        _offer_free_seats(cohort, now=now)
    return current


def _expire_locked(cohort: Cohort, offers: list[Enrollment], *, now: datetime) -> int:
    """Return lapsed offers to the waiting list (behind those not yet offered) and offer on. A
    place whose offers lapsed ``LAPSED_OFFERS_LIMIT`` times leaves the list instead (a couple
    together), and the member is told they can join again."""
    expired: list[Enrollment] = []
    ended: list[Enrollment] = []
    seen: set[int] = set()
    for offer in offers:
        for e in _mates(offer, [EnrollmentStatus.OFFERED]):
            if e.pk in seen:
                continue
            seen.add(e.pk)
            e.passes += 1
            if e.passes >= LAPSED_OFFERS_LIMIT:
                _end(
                    e,
                    EnrollmentStatus.WITHDRAWN,
                    OFFERS_LAPSED,
                    now=now,
                    actor=None,
                    extra=("passes",),
                    expired=True,
                )
                ended.append(e)
                continue
            e.status = EnrollmentStatus.WAITLISTED
            e.offered_at = None
            e.offer_expires_at = None
            e.save(
                update_fields=["status", "passes", "offered_at", "offer_expires_at", "updated_at"]
            )
            _audit(e, None, AuditAction.ENROLLMENT_CHANGED, expired=True)
            _seat_changed(e)
            expired.append(e)
    _notify("offer_expired", expired)
    _notify("offers_lapsed", ended)
    _offer_free_seats(cohort, now=now)
    return len(expired) + len(ended)


def expire_offers(*, now: datetime | None = None, cohort_id: int | None = None) -> int:
    """Expire every lapsed offer (one transaction per cohort); idempotent, safe to run twice."""
    now = now or timezone.now()
    due = Enrollment.objects.filter(status=EnrollmentStatus.OFFERED, offer_expires_at__lte=now)
    if cohort_id is not None:
        due = due.filter(cohort_id=cohort_id)
    total = 0
    for cid in sorted(set(due.values_list("cohort_id", flat=True))):
        try:
            with transaction.atomic(durable=True):
                cohort = _lock_cohort(cid)
                lapsed = list(
                    Enrollment.objects.select_for_update()
                    .filter(
                        cohort_id=cid,
                        status=EnrollmentStatus.OFFERED,
                        offer_expires_at__lte=now,
                    )
                    .order_by("pk")
                )
                if lapsed:
                    total += _expire_locked(cohort, lapsed, now=now)
        except Busy:
            # Someone else holds this cohort right now; the next run (or its own task) catches up.
            continue
    return total


def offer_waiting_seats() -> int:
    """Offer the free seats of every group taking members while people wait for them: the
    safety net behind each seat change's own offers. Someone passed over because they could not
    take a seat then (a therapy group's licence since renewed, a move back) is offered one here
    at the latest. One transaction per group; idempotent. Returns how many offers were made."""
    due = (
        Cohort.objects.filter(status__in=JOINABLE)
        .annotate(
            held=Count("enrollments", filter=Q(enrollments__status__in=SEAT_HOLDING)),
            waiting=Count("enrollments", filter=Q(enrollments__status=EnrollmentStatus.WAITLISTED)),
        )
        .filter(waiting__gt=0, held__lt=F("capacity"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    total = 0
    for cid in list(due):
        try:
            with transaction.atomic(durable=True):
                total += len(_offer_free_seats(_lock_cohort(cid)))
        except Busy:
            continue  # someone else is changing its seats right now, and offers on with them
    return total


# --------------------------------------------------------------------------------------------------
# A group's life: open → running at its first meeting → finished after its last


def _held_meetings() -> Any:
    from circlecare.meetings.models import Meeting, MeetingStatus

    return Meeting.objects.exclude(status=MeetingStatus.CANCELLED)


def _has_begun(cohort: Cohort, now: datetime) -> bool:
    """Whether a meeting of the group (not cancelled) has begun by ``now``: ``advance_cohorts``'
    rule for a running group."""
    return _held_meetings().filter(cohort=cohort, starts_at__lte=now).exists()


def advance_cohorts(*, now: datetime | None = None) -> int:
    """Move groups on by their meetings: an open or full group is running once its first meeting
    has begun (no new offers then), and a group is finished once its last meeting is over (its
    time is up, or its leader ended it early). At the finish, seats become completed, and
    waiting-list places and open offers end. One transaction per group; idempotent, safe to run
    twice. Returns how many groups moved."""
    from circlecare.meetings.models import over_by

    now = now or timezone.now()
    held = _held_meetings()
    started = Cohort.objects.filter(
        status__in=JOINABLE, meetings__in=held.filter(starts_at__lte=now)
    )
    not_over = held.exclude(over_by(now))
    ongoing = (
        Cohort.objects.filter(status__in=(*JOINABLE, CohortStatus.RUNNING))
        .exclude(meetings__in=not_over)
        .filter(meetings__in=held)
    )
    moved = 0
    for cid in sorted(set(started.values_list("pk", flat=True))):
        with transaction.atomic(durable=True):
            cohort = _lock_cohort(cid)
            if cohort.status in JOINABLE:
                cohort.status = CohortStatus.RUNNING
                cohort.save(update_fields=["status"])
                moved += 1
    for cid in sorted(set(ongoing.values_list("pk", flat=True))):
        with transaction.atomic(durable=True):
            cohort = _lock_cohort(cid)
            if cohort.status not in (*JOINABLE, CohortStatus.RUNNING):
                continue
            cohort.status = CohortStatus.FINISHED
            cohort.save(update_fields=["status"])
            for e in Enrollment.objects.select_for_update().filter(cohort=cohort, status__in=LIVE):
                if e.status == EnrollmentStatus.CONFIRMED:
                    _end(
                        e,
                        EnrollmentStatus.COMPLETED,
                        "",
                        now=now,
                        actor=None,
                        group_ended=True,
                        finished=True,
                    )
                else:
                    _end(
                        e,
                        EnrollmentStatus.WITHDRAWN,
                        GROUP_FINISHED,
                        now=now,
                        actor=None,
                        finished=True,
                    )
            moved += 1
    return moved


# --------------------------------------------------------------------------------------------------
# Staff


def _is_cohort_staff(actor: Any, cohort: Cohort) -> bool:
    return bool(getattr(actor, "is_staff", False)) or cohort.is_led_by(actor)


def remove(*, enrollment: Enrollment, actor: Any, reason: str) -> Enrollment:
    """A coordinator or the cohort's facilitator removes a member, with a reason for the record."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidTransition("Please give a reason for removing this member.")
    if len(reason) > 500:
        raise InvalidTransition("Please keep the reason under 500 characters.")
    with transaction.atomic(durable=True):
        cohort = _lock_cohort(enrollment.cohort_id)
        if not _is_cohort_staff(actor, cohort):
            raise NotAllowed()
        current = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
        if current.status not in LIVE:
            raise InvalidTransition("This member has already left the group.")
        now = timezone.now()
        # A couple's places are kept and given up together: the partner's place ends too, for
        # that reason and not this one, and they are told so (not why).
        for e in _mates(current, LIVE):
            if e.pk == current.pk:
                e.removal_reason = reason
                _end(
                    e,
                    EnrollmentStatus.REMOVED,
                    REMOVED_BY_PRACTICE,
                    now=now,
                    actor=actor,
                    extra=("removal_reason",),
                )
                _notify("removed", [e])
                current = e
            else:
                _end(e, EnrollmentStatus.REMOVED, PARTNER_REMOVED, now=now, actor=actor)
                _notify("partner_removed", [e])
        _offer_free_seats(cohort, now=now)
    return current


#: Why a member whose account is closed is not let back in to a group.
ACCOUNT_CLOSED_NO_READMIT = "Their account is closed, so they can't join the group again."


def readmit(*, enrollment: Enrollment, actor: Any, now: datetime | None = None) -> Enrollment:
    """A coordinator or the cohort's facilitator lets a member the practice removed join the
    group again. It gives them no seat: they join again in the usual way (every step before a
    seat, then a free seat or the end of the waiting list), and are told by e-mail that they may.
    Only while the group takes new members, and only once for each removal."""
    with transaction.atomic(durable=True):
        cohort = _lock_cohort(enrollment.cohort_id)
        if not _is_cohort_staff(actor, cohort):
            raise NotAllowed()
        # Locked with the cohort, so a join deciding under the same lock reads it once settled.
        current = (
            Enrollment.objects.select_for_update(of=("self",))
            .select_related("member")
            .get(pk=enrollment.pk)
        )
        if not current.member.is_active:
            # A closed account can't sign in to join, and its address reaches nobody.
            raise InvalidTransition(ACCOUNT_CLOSED_NO_READMIT)
        if current.readmitted_at is not None:
            raise InvalidTransition(
                "This member has already been let back in: they can join the group again "
                "in the usual way."
            )
        if current.is_live:
            raise InvalidTransition("This member still has a place in this group.")
        if not current.bars_joining:
            raise InvalidTransition(
                "The practice didn't end this place for anything the member did, so nothing "
                "keeps them from joining the group again themselves."
            )
        closed = cohort.closed_for_joining
        if closed:
            raise InvalidTransition(
                f"{closed} A member can be let back in only while the group takes new members."
            )
        current.readmitted_at = now or timezone.now()
        current.readmitted_by = actor
        current.save(update_fields=["readmitted_at", "readmitted_by", "updated_at"])
        _audit(current, actor, AuditAction.ENROLLMENT_CHANGED, change="readmitted")
        _notify("readmitted", [current])
    return current


def cancel_cohort(*, cohort: Cohort, actor: Any, now: datetime | None = None) -> int:
    """A coordinator cancels a group that has not finished: it takes nobody new, its meetings
    still ahead are cancelled (calendars pick that up), and every seat, offer and waiting-list
    place in it ends; each member is told by e-mail. A meeting its leader already ended stays as
    it was held. Returns how many places ended."""
    from circlecare.meetings.models import Meeting, MeetingStatus

    if not getattr(actor, "is_staff", False):
        raise NotAllowed()
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        locked = _lock_cohort(cohort.pk)
        if locked.status in ENDED:
            raise InvalidTransition("This group has already finished or been cancelled.")
        locked.status = CohortStatus.CANCELLED
        locked.save(update_fields=["status"])
        Meeting.objects.filter(
            cohort=locked, status=MeetingStatus.SCHEDULED, ends_at__gt=now, ended_at__isnull=True
        ).update(
            status=MeetingStatus.CANCELLED,
            ics_sequence=F("ics_sequence") + 1,
            updated_at=now,  # calendars' LAST-MODIFIED (update() skips auto_now)
        )
        ended = list(Enrollment.objects.select_for_update().filter(cohort=locked, status__in=LIVE))
        for e in ended:
            _end(
                e,
                EnrollmentStatus.REMOVED,
                GROUP_CANCELLED,
                now=now,
                actor=actor,
                group_ended=True,
                cancelled=True,
            )
        _notify("group_cancelled", ended)
        record(
            actor=actor,
            action=AuditAction.ENROLLMENT_CHANGED,
            target=locked,
            data={"change": "group_cancelled", "places": len(ended)},
        )
    return len(ended)


def change_capacity(*, cohort: Cohort, capacity: Any, actor: Any) -> Cohort:
    """Set a cohort's capacity. Raising it offers seats; it never goes below the seats held."""
    try:
        value = int(capacity)
    except (TypeError, ValueError):
        raise InvalidCapacity() from None
    if not 1 <= value <= MAX_CAPACITY:
        raise InvalidCapacity(f"Please enter a capacity between 1 and {MAX_CAPACITY}.")
    with transaction.atomic(durable=True):
        locked = _lock_cohort(cohort.pk)
        if not _is_cohort_staff(actor, locked):
            raise NotAllowed()
        if locked.has_ended:
            # Nobody can take a seat in it any more: a new number would only say otherwise.
            raise InvalidTransition(
                "This group has finished or been cancelled, so its capacity no longer changes."
            )
        held = _held(locked)
        if value < held:
            confirmed = Enrollment.objects.filter(
                cohort=locked, status=EnrollmentStatus.CONFIRMED
            ).count()
            raise CapacityTooLow(
                f"{held} people hold a seat ({confirmed} confirmed, {held - confirmed} with an "
                f"open offer), so the capacity can't go below {held}."
            )
        if value < locked.min_size:
            raise InvalidCapacity(
                f"The capacity can't be below the minimum group size ({locked.min_size})."
            )
        if locked.program.for_couples and value % 2:
            raise InvalidCapacity(COUPLES_EVEN_CAPACITY)
        old = locked.capacity
        locked.capacity = value
        locked.save(update_fields=["capacity"])
        record(
            actor=actor,
            action=AuditAction.COHORT_CHANGED,
            target=locked,
            data={"capacity": value, "was": old},
        )
        _offer_free_seats(locked)
        _sync_status(locked)
    return locked


@dataclass(frozen=True)
class CouplesChange:
    """What ``change_for_couples`` did: the groups whose open/full status changed with it, and
    how many invitations to a partner were called off."""

    now_full: list[Cohort] = field(default_factory=list)
    now_open: list[Cohort] = field(default_factory=list)
    invitations_called_off: int = 0


def change_for_couples(*, program: Program, for_couples: bool, actor: Any) -> CouplesChange:
    """A coordinator makes a programme for couples, or no longer for couples.

    How many seats a new place takes changes with it (``Cohort.seats_per_place``), and so
    whether each of its open groups is full: under the locks every seat change takes (its
    groups' rows, in key order), the change is made and each group's status worked out again,
    so the catalog, the group page and the API say what joining would do.

    Turning it on is refused while anyone holds a place in one of its groups on their own: a
    group for couples seats couples together, and nobody is moved out of a seat they were given.
    Turning it off keeps every couple already in a group together (they keep, and give up,
    their seats as a pair); invitations to a partner still waiting are called off, as they
    would take two seats for one place, and whoever sent one is told by e-mail.
    """
    if not getattr(actor, "is_staff", False):
        raise NotAllowed()
    with transaction.atomic(durable=True):
        ids = (
            Cohort.objects.filter(program_id=program.pk)
            .exclude(status__in=ENDED)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        groups = [_lock_cohort(pk) for pk in ids]
        # Read under the locks: what the programme is now, and who holds places.
        current = Program.objects.select_for_update().get(pk=program.pk)
        if current.for_couples == for_couples:
            program.for_couples = for_couples
            return CouplesChange()
        if for_couples:
            _require_no_one_on_their_own(groups)
        called_off: list[int] = []
        if not for_couples:
            called_off = list(
                PartnerInvite.objects.select_for_update()
                .filter(cohort__in=groups, status=PartnerInviteStatus.PENDING)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            PartnerInvite.objects.filter(pk__in=called_off).update(
                status=PartnerInviteStatus.CANCELLED, end_reason=PartnerInviteEnd.NOT_FOR_COUPLES
            )
        set_for_couples(program=current, for_couples=for_couples)
        program.for_couples = for_couples
        now_full: list[Cohort] = []
        now_open: list[Cohort] = []
        for cohort in groups:
            cohort.program = current
            before = cohort.status
            _offer_free_seats(cohort)
            if cohort.status != before:
                (now_full if cohort.status == CohortStatus.FULL else now_open).append(cohort)
            record(
                actor=actor,
                action=AuditAction.COHORT_CHANGED,
                target=cohort,
                data={"for_couples": for_couples, "status": cohort.status, "was": before},
            )
        if called_off:
            from circlecare.enrollment import tasks

            transaction.on_commit(
                lambda: [tasks.send_partner_invite_called_off.enqueue(i) for i in called_off]
            )
    return CouplesChange(now_full, now_open, len(called_off))


def _require_no_one_on_their_own(groups: list[Cohort]) -> None:
    alone = dict(
        Enrollment.objects.filter(cohort__in=groups, status__in=LIVE, pairing__isnull=True)
        .values_list("cohort_id")
        .annotate(n=Count("pk"))
        .order_by("cohort_id")
    )
    if not alone:
        return
    counts = [f"{alone[c.pk]} in {c.title}" for c in groups if c.pk in alone]
    where = counts[0] if len(counts) == 1 else f"{', '.join(counts[:-1])} and {counts[-1]}"
    raise InvalidTransition(
        f"People have places of their own in this programme's groups ({where}). A group for "
        "couples seats couples together, so it can't become one while they're in it. Offer "
        "couples a new programme, or make this one for couples once those groups have finished."
    )


# --------------------------------------------------------------------------------------------------
# Consents


def sign_consents(
    *, member: Any, documents: list[ConsentDocument], signed_name: str
) -> list[ConsentSignature]:
    """Record that the member signed these versions (signing twice keeps the first signature)."""
    signed_name = (signed_name or "").strip()
    if not signed_name:
        raise InvalidTransition("Please type your name to sign.")
    now = timezone.now()
    signatures = []
    with transaction.atomic(durable=True):
        for document in documents:
            signature, _ = ConsentSignature.objects.get_or_create(
                member=member,
                document=document,
                defaults={"signed_at": now, "signed_name": signed_name[:SIGNED_NAME_MAX]},
            )
            signatures.append(signature)
    return signatures


# --------------------------------------------------------------------------------------------------
# Couples


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite_partner(*, member: Any, cohort: Cohort, email: str, actor: Any = None) -> PartnerInvite:
    """Invite a partner by e-mail to join a couples group together.

    The secret in the invitation's link is not made here: the e-mail task mints it
    (``issue_partner_invite_link``), so it never passes through the task queue, whose stored
    arguments are kept in the database in clear. Until the e-mail goes out the invitation holds
    the hash of a secret nobody has, and no link opens it."""
    email = (email or "").strip().lower()
    if not cohort.program.for_couples:
        raise InvalidTransition(NOT_FOR_COUPLES)
    if not email or email == member.email.lower():
        raise InvalidTransition("Please enter your partner's e-mail address.")
    # The address is stored as encrypted text, which holds neither its length nor its form.
    if len(email) > PARTNER_EMAIL_MAX:
        raise InvalidTransition(
            f"That address is too long: an e-mail address has at most {PARTNER_EMAIL_MAX} "
            "characters."
        )
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidTransition(
            "Please check your partner's e-mail address: it should look like name@example.org."
        ) from None
    _require_steps(member, cohort)
    with transaction.atomic(durable=True):
        locked = _lock_cohort(cohort.pk)
        _require_open(locked)
        if not locked.program.for_couples:
            raise InvalidTransition(NOT_FOR_COUPLES)
        if Enrollment.objects.filter(member=member, cohort=locked, status__in=LIVE).exists():
            raise AlreadyEnrolled()
        if Enrollment.objects.filter(removed_by_practice(), member=member, cohort=locked).exists():
            raise RemovedFromGroup()
        # Sent again to the same address, the old link says a newer one replaced it; to
        # another address, that it was called off. The addresses are encrypted, so they are
        # compared here, not in the database: the inviter has at most one waiting for the group.
        waiting = list(
            PartnerInvite.objects.select_for_update()
            .filter(cohort=locked, inviter=member, status=PartnerInviteStatus.PENDING)
            .order_by("pk")
            .values_list("pk", "email")
        )
        same = [pk for pk, address in waiting if address.strip().lower() == email]
        for end_reason, ended in (
            (PartnerInviteEnd.REPLACED, same),
            (PartnerInviteEnd.WITHDRAWN, [pk for pk, _address in waiting if pk not in same]),
        ):
            if ended:
                PartnerInvite.objects.filter(pk__in=ended).update(
                    status=PartnerInviteStatus.CANCELLED, end_reason=end_reason
                )
        invite = PartnerInvite.objects.create(
            cohort=locked,
            inviter=member,
            email=email,
            # Unique like every hash, and opened by no link: the secret is dropped here.
            token_hash=_token_hash(secrets.token_urlsafe(32)),
            expires_at=timezone.now() + timedelta(days=PARTNER_INVITE_DAYS),
        )
        from circlecare.enrollment import tasks

        invite_id = invite.pk
        transaction.on_commit(lambda: tasks.send_partner_invite.enqueue(invite_id))
    return invite


def issue_partner_invite_link(*, invite_id: int) -> str | None:
    """Mint the secret for a waiting invitation's link and keep only its hash; the secret is
    returned for the e-mail and kept nowhere else. ``None`` once the invitation no longer waits
    (sent again, called off or accepted): it gets no link.

    Each call replaces the secret, so an invitation has at most one link that opens it: the
    one most recently minted. A second run of the e-mail task (queued again by hand, say) sends
    a fresh link and the earlier e-mail's link stops opening it; a run that failed before its
    e-mail went out leaves only a hash whose secret nobody holds."""
    token = secrets.token_urlsafe(32)
    with transaction.atomic(durable=True):
        issued = PartnerInvite.objects.filter(
            pk=invite_id, status=PartnerInviteStatus.PENDING
        ).update(token_hash=_token_hash(token))
    return token if issued else None


def cancel_partner_invite(*, invite_id: int, member: Any) -> PartnerInvite:
    """The inviter calls off an invitation their partner has not answered: its link stops
    working. Only the inviter can, and only while it is waiting."""
    with transaction.atomic(durable=True):
        invite = (
            PartnerInvite.objects.select_for_update().filter(pk=invite_id, inviter=member).first()
        )
        if invite is None:
            raise InviteInvalid("There's no such invitation.")
        if invite.status != PartnerInviteStatus.PENDING:
            raise InvalidTransition(
                "Your partner has already accepted this invitation."
                if invite.status == PartnerInviteStatus.ACCEPTED
                else "This invitation is already cancelled."
            )
        invite.status = PartnerInviteStatus.CANCELLED
        invite.end_reason = PartnerInviteEnd.WITHDRAWN
        invite.save(update_fields=["status", "end_reason"])
    return invite


def find_invite(token: str) -> PartnerInvite:
    invite = (
        PartnerInvite.objects.select_related("cohort", "cohort__program", "inviter")
        .defer("inviter__password")
        .filter(token_hash=_token_hash(token or ""), status=PartnerInviteStatus.PENDING)
        .first()
    )
    if invite is None or invite.expires_at <= timezone.now():
        raise InviteInvalid()
    return invite


#: What opening an invitation's link finds: it can be accepted, or why it cannot.
INVITE_OPEN = "open"
INVITE_ACCEPTED = "accepted"
INVITE_EXPIRED = "expired"
INVITE_GROUP_CLOSED = "group_closed"
#: Called off before the reason was kept.
INVITE_CALLED_OFF = "called_off"


def invitation_by_link(token: str) -> PartnerInvite | None:
    """The invitation whose link holds ``token``, whatever has become of it since."""
    return (
        PartnerInvite.objects.select_related("cohort", "cohort__program", "inviter")
        .defer("inviter__password")
        .filter(token_hash=_token_hash(token or ""))
        .first()
    )


def invitation_state(invite: PartnerInvite, now: datetime | None = None) -> str:
    """``INVITE_OPEN`` while the partner can accept it; otherwise what happened to it: accepted,
    one of ``PartnerInviteEnd`` (called off, and why), expired, or its group is no longer one
    that can be joined together."""
    if invite.status == PartnerInviteStatus.ACCEPTED:
        return INVITE_ACCEPTED
    if invite.status == PartnerInviteStatus.CANCELLED:
        return invite.end_reason or INVITE_CALLED_OFF
    if not invite.cohort.program.for_couples:
        return PartnerInviteEnd.NOT_FOR_COUPLES
    if invite.expires_at <= (now or timezone.now()):
        return INVITE_EXPIRED
    if invite.cohort.closed_for_joining:
        return INVITE_GROUP_CLOSED
    return INVITE_OPEN


def _note_partner_could_not_join(invite: PartnerInvite) -> None:
    """The invited partner tried to accept and can't join yet. The invitation still waits (they
    may add where they live, say, before it expires); the inviter is told once, by e-mail and on
    My groups, that their partner couldn't join yet, and nothing of why."""
    from circlecare.enrollment import tasks

    with transaction.atomic(durable=True):
        noted = PartnerInvite.objects.filter(
            pk=invite.pk, status=PartnerInviteStatus.PENDING, could_not_join_at__isnull=True
        ).update(could_not_join_at=timezone.now())
        if noted:
            transaction.on_commit(lambda: tasks.send_partner_could_not_join.enqueue(invite.pk))


def accept_partner_invite(*, token: str, member: Any) -> list[Enrollment]:
    """The invited partner accepts: both take seats together, or both join the waiting list."""
    invite = find_invite(token)
    if member.pk == invite.inviter_id or member.email.lower() != invite.email.lower():
        raise InviteInvalid(
            "This invitation was sent to a different e-mail address. "
            "Log in with the address it was sent to."
        )
    cohort = invite.cohort
    try:
        _require_steps(member, cohort)
    except (NotEligible, StepRequired) as refused:
        if isinstance(refused, NotEligible) or not (refused.detail or {}).get("url"):
            # Nothing on the way to a seat puts it right (a step with a page to do it is only
            # a step): the inviter is told their partner couldn't join yet, not why.
            _note_partner_could_not_join(invite)
        raise
    _require_steps_of_partner(invite.inviter, cohort)
    with transaction.atomic(durable=True):
        locked = _lock_cohort(cohort.pk)
        _require_open(locked)
        if not locked.program.for_couples:
            # Two seats taken as one place would overfill a group whose places are one seat.
            raise InvalidTransition(
                "This group isn't for couples any more: each of you can join it on your own."
            )
        fresh = PartnerInvite.objects.select_for_update().get(pk=invite.pk)
        if fresh.status != PartnerInviteStatus.PENDING:
            raise InviteInvalid()
        people = [invite.inviter, member]
        if Enrollment.objects.filter(member__in=people, cohort=locked, status__in=LIVE).exists():
            raise AlreadyEnrolled("One of you already has a place in this group.")
        barred = set(
            Enrollment.objects.filter(removed_by_practice(), member__in=people, cohort=locked)
            .order_by()
            .values_list("member_id", flat=True)
        )
        if member.pk in barred:
            raise RemovedFromGroup()
        if barred:
            # Nothing about the inviter's place is told to their partner.
            raise InviteInvalid("This invitation can't be accepted. Please contact the practice.")
        now = _now_under_lock()
        held = _held(locked)
        seats = not locked.is_full_with(held) and not _waiting_exists(locked)
        pairing = Pairing.objects.create(cohort=locked)
        created = [
            Enrollment.objects.create(
                member=person,
                cohort=locked,
                pairing=pairing,
                status=EnrollmentStatus.CONFIRMED if seats else EnrollmentStatus.WAITLISTED,
                queued_at=now,
                confirmed_at=now if seats else None,
            )
            for person in people
        ]
        fresh.status = PartnerInviteStatus.ACCEPTED
        fresh.accepted_by = member
        fresh.save(update_fields=["status", "accepted_by"])
        # An invitation either of them sent to someone else for this group is over: they have
        # their places now, and nobody else may join them in it.
        PartnerInvite.objects.filter(
            cohort=locked, inviter__in=people, status=PartnerInviteStatus.PENDING
        ).update(status=PartnerInviteStatus.CANCELLED, end_reason=PartnerInviteEnd.WITHDRAWN)
        for e in created:
            _audit(e, member, AuditAction.ENROLLMENT_CREATED, couple=True)
            _seat_changed(e)
        if seats:
            _sync_status(locked, held + 2)
            _notify("confirmed", created)
        else:
            offered = _offer_free_seats(locked, now=now)
            if not offered:
                _notify("waitlisted", created)
        for e in created:
            e.refresh_from_db()
    return created
