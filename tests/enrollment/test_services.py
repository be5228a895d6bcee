"""Every seat transition, as a member or coordinator would notice it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from circlecare.audit.models import AuditEvent
from circlecare.enrollment import services, tasks
from circlecare.enrollment.consents import consents_missing
from circlecare.enrollment.errors import InvalidCapacity, InviteInvalid, NotAllowed, StepRequired
from circlecare.enrollment.models import ConsentDocument, ConsentKind, Enrollment, EnrollmentStatus
from circlecare.enrollment.queries import waiting_position
from circlecare.errors import (
    AlreadyEnrolled,
    CapacityTooLow,
    ConsentRequired,
    EnrollmentClosed,
    InvalidTransition,
    NotEligible,
    OfferExpired,
)
from circlecare.programs.models import Cohort, CohortStatus, Program, ProgramKind
from circlecare.programs.services import set_for_couples
from tests.enrollment.factories import (
    ConsentDocumentFactory,
    invite_partner,
    publish_consents,
    ready_member,
    sign_all,
)
from tests.factories import (
    CohortFactory,
    EnrollmentFactory,
    LicenseFactory,
    ProgramFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

Status = EnrollmentStatus


@pytest.fixture(autouse=True)
def _consents() -> None:
    publish_consents()


def full_cohort(capacity: int = 2, **fields: Any) -> tuple[Any, list[Enrollment]]:
    cohort = CohortFactory(capacity=capacity, **fields)
    seats = [services.enroll(member=ready_member(), cohort=cohort) for _ in range(capacity)]
    return cohort, seats


def status_of(enrollment: Enrollment) -> str:
    enrollment.refresh_from_db()
    return enrollment.status


def held(cohort: Any) -> int:
    return Enrollment.objects.filter(cohort=cohort, status__in=["confirmed", "offered"]).count()


# ---------------------------------------------------------------------------------------- enroll


def test_enroll_takes_a_seat_then_the_waiting_list_in_order() -> None:
    cohort, seats = full_cohort(capacity=2)
    assert [s.status for s in seats] == [Status.CONFIRMED, Status.CONFIRMED]
    cohort.refresh_from_db()
    assert cohort.status == CohortStatus.FULL
    first = services.enroll(member=ready_member(), cohort=cohort)
    second = services.enroll(member=ready_member(), cohort=cohort)
    assert (first.status, second.status) == (Status.WAITLISTED, Status.WAITLISTED)
    assert (waiting_position(first), waiting_position(second)) == (1, 2)


def test_enroll_tells_the_waiting_place_it_read_under_the_lock() -> None:
    """The place ``enroll`` returns is the one the list gives, behind everyone who has not let an
    offer lapse and ahead of those who have."""
    cohort, _seats = full_cohort(capacity=1)
    waiting = [services.enroll(member=ready_member(), cohort=cohort) for _ in range(3)]
    assert [e.place for e in waiting] == [1, 2, 3]  # type: ignore[attr-defined]
    Enrollment.objects.filter(pk=waiting[0].pk).update(passes=1)  # the first let an offer lapse
    newcomer = services.enroll(member=ready_member(), cohort=cohort)
    assert newcomer.place == waiting_position(newcomer) == 3  # type: ignore[attr-defined]
    assert waiting_position(waiting[0]) == 4


def test_enroll_and_withdraw_take_their_arguments_in_order_as_well() -> None:
    """``enroll(member, cohort)`` and ``withdraw(enrollment)``, the calls the design names, work as
    the keyword forms do."""
    cohort = CohortFactory(capacity=1)
    member = ready_member()
    seat = services.enroll(member, cohort)
    assert (seat.member, seat.cohort, seat.status) == (member, cohort, Status.CONFIRMED)
    left = services.withdraw(seat)
    assert left.status == Status.WITHDRAWN
    assert status_of(seat) == Status.WITHDRAWN


def test_enroll_twice_is_refused() -> None:
    cohort = CohortFactory()
    member = ready_member()
    services.enroll(member=member, cohort=cohort)
    with pytest.raises(AlreadyEnrolled):
        services.enroll(member=member, cohort=cohort)
    assert Enrollment.objects.filter(member=member).count() == 1


def test_joining_again_with_a_step_now_unmet_says_the_place_is_already_theirs() -> None:
    """A new agreement to sign since they joined: pressing Join again (a second tab) is told
    they already have a place, not asked for the agreement as if it led to one."""
    cohort = CohortFactory(capacity=1)
    services.enroll(member=ready_member(), cohort=cohort)
    member = ready_member()
    services.enroll(member=member, cohort=cohort)  # waiting
    from django.db.models import Max

    from tests.enrollment.factories import ConsentDocumentFactory

    newest = ConsentDocument.objects.aggregate(v=Max("version"))["v"] or 0
    ConsentDocumentFactory(kind=ConsentKind.TELEHEALTH, version=newest + 1)
    with pytest.raises(AlreadyEnrolled):
        services.enroll(member=member, cohort=cohort)
    with pytest.raises(ConsentRequired):
        services.enroll(member=UserFactory(), cohort=cohort)  # someone new is still asked


def test_enroll_needs_signed_agreements() -> None:
    cohort = CohortFactory()
    member = UserFactory()
    with pytest.raises(ConsentRequired) as caught:
        services.enroll(member=member, cohort=cohort)
    assert "Consent to telehealth" in caught.value.message
    assert not Enrollment.objects.exists()


def test_therapy_needs_informed_consent_too() -> None:
    lic = LicenseFactory(state="NY")
    cohort = CohortFactory(lead=lic.clinician.user, program__kind=ProgramKind.THERAPY)
    member = ready_member(home_state="NY")
    assert consents_missing(member, cohort) == []
    ConsentDocumentFactory(kind=ConsentKind.INFORMED_CONSENT, version=2)
    assert [d.version for d in consents_missing(member, cohort)] == [2]
    with pytest.raises(ConsentRequired):
        services.enroll(member=member, cohort=cohort)


def test_a_future_version_is_only_needed_from_its_effective_date() -> None:
    cohort = CohortFactory()
    member = ready_member()
    later = timezone.now() + timedelta(days=3)
    ConsentDocumentFactory(kind=ConsentKind.TELEHEALTH, version=2, effective_at=later)
    assert consents_missing(member, cohort) == []
    assert [d.version for d in consents_missing(member, cohort, at=later)] == [2]


def test_therapy_refuses_a_member_from_an_unserved_state() -> None:
    lic = LicenseFactory(state="NY")
    cohort = CohortFactory(lead=lic.clinician.user, program__kind=ProgramKind.THERAPY)
    with pytest.raises(NotEligible) as caught:
        services.enroll(member=ready_member(home_state="TX"), cohort=cohort)
    assert "New York" in caught.value.message
    assert not Enrollment.objects.exists()


@pytest.mark.parametrize(
    "status", [CohortStatus.DRAFT, CohortStatus.RUNNING, CohortStatus.CANCELLED]
)
def test_enroll_refused_unless_the_cohort_is_open(status: str) -> None:
    cohort = CohortFactory(status=status)
    with pytest.raises(EnrollmentClosed):
        services.enroll(member=ready_member(), cohort=cohort)


def test_enroll_refused_after_the_deadline() -> None:
    cohort = CohortFactory(enrollment_deadline=timezone.localdate() - timedelta(days=2))
    with pytest.raises(EnrollmentClosed) as caught:
        services.enroll(member=ready_member(), cohort=cohort)
    assert "deadline" in caught.value.message


def test_couples_groups_need_a_partner() -> None:
    cohort = CohortFactory(program__for_couples=True)
    with pytest.raises(InvalidTransition):
        services.enroll(member=ready_member(), cohort=cohort)


def test_a_member_the_practice_removed_cannot_join_that_group_again_themselves() -> None:
    """A removal is not undone by pressing Join: the member is told to talk to the practice.
    Leaving of one's own accord, a cancelled group or a partner's removal bars nothing."""
    from circlecare.enrollment.errors import RemovedFromGroup

    cohort = CohortFactory(capacity=3)
    coordinator = UserFactory(is_staff=True)
    removed = ready_member()
    place = services.enroll(member=removed, cohort=cohort)
    services.remove(enrollment=place, actor=coordinator, reason="Repeated harm to others")
    with pytest.raises(RemovedFromGroup) as caught:
        services.enroll(member=removed, cohort=cohort)
    assert "contact the practice" in caught.value.message
    assert Enrollment.objects.filter(member=removed, cohort=cohort).count() == 1
    # Another group is open to them, and someone who left may come back.
    assert services.enroll(member=removed, cohort=CohortFactory()).status == Status.CONFIRMED
    left = ready_member()
    services.withdraw(enrollment=services.enroll(member=left, cohort=cohort))
    assert services.enroll(member=left, cohort=cohort).status == Status.CONFIRMED


def _a_couple_one_of_whom_was_removed() -> tuple[Any, Any, Any, Any, list[Enrollment]]:
    """A couples' group in which a coordinator removed the inviter (and so the pair)."""
    cohort = CohortFactory(capacity=4, program__for_couples=True)
    coordinator = UserFactory(is_staff=True)
    inviter, partner = ready_member(), ready_member()
    _invite, token = invite_partner(member=inviter, cohort=cohort, email=partner.email)
    pair = services.accept_partner_invite(token=token, member=partner)
    services.remove(enrollment=pair[0], actor=coordinator, reason="Asked to")
    return cohort, coordinator, inviter, partner, pair


def test_a_member_the_practice_removed_cannot_come_back_as_half_of_a_couple() -> None:
    from circlecare.enrollment.errors import RemovedFromGroup

    cohort, _coordinator, inviter, partner, _pair = _a_couple_one_of_whom_was_removed()
    with pytest.raises(RemovedFromGroup):
        services.invite_partner(member=inviter, cohort=cohort, email="someone@example.org")
    # The partner's place ended with theirs, not for anything they did: they may come back.
    newcomer = ready_member()
    _invite, token = invite_partner(member=partner, cohort=cohort, email=newcomer.email)
    # But an invitation the removed member accepts does not seat them.
    other = ready_member()
    _invite, token = invite_partner(member=other, cohort=cohort, email=inviter.email)
    with pytest.raises(RemovedFromGroup):
        services.accept_partner_invite(token=token, member=inviter)
    assert not Enrollment.objects.filter(member=other).exists()


def test_a_member_let_back_in_may_come_back_as_half_of_a_couple() -> None:
    cohort, coordinator, inviter, _partner, pair = _a_couple_one_of_whom_was_removed()
    services.readmit(enrollment=pair[0], actor=coordinator)
    # Invited by someone else, they accept; and they may invite a partner themselves.
    other = ready_member()
    _invite, token = invite_partner(member=other, cohort=cohort, email=inviter.email)
    together = services.accept_partner_invite(token=token, member=inviter)
    assert [e.status for e in together] == [Status.CONFIRMED, Status.CONFIRMED]
    services.withdraw(enrollment=together[1])
    services.invite_partner(member=inviter, cohort=cohort, email="someone@example.org")


# ---------------------------------------------------------------------------------------- offers


def test_withdraw_offers_the_seat_to_the_first_in_line(settings: Any) -> None:
    cohort, seats = full_cohort(capacity=2)
    first = services.enroll(member=ready_member(), cohort=cohort)
    second = services.enroll(member=ready_member(), cohort=cohort)
    before = timezone.now()
    services.withdraw(enrollment=seats[0], goodbye="Thank you all.")
    assert status_of(seats[0]) == Status.WITHDRAWN
    first.refresh_from_db()
    assert first.status == Status.OFFERED
    assert first.offer_expires_at is not None
    # At least the hold, rounded up to the whole minute the member reads as the deadline.
    assert timedelta(0) <= first.offer_expires_at - before - settings.OFFER_HOLD
    assert first.offer_expires_at - before - settings.OFFER_HOLD < timedelta(minutes=1, seconds=5)
    assert first.offer_expires_at.second == 0 and first.offer_expires_at.microsecond == 0
    assert status_of(second) == Status.WAITLISTED
    assert waiting_position(second) == 1
    assert held(cohort) == 2
    seats[0].refresh_from_db()
    assert seats[0].goodbye == "Thank you all."


def test_withdraw_twice_is_refused() -> None:
    enrollment = services.enroll(member=ready_member(), cohort=CohortFactory())
    services.withdraw(enrollment=enrollment)
    with pytest.raises(InvalidTransition):
        services.withdraw(enrollment=enrollment)


def test_withdraw_from_the_waiting_list_frees_no_seat() -> None:
    cohort, seats = full_cohort(capacity=1)
    waiting = services.enroll(member=ready_member(), cohort=cohort)
    services.withdraw(enrollment=waiting)
    assert status_of(waiting) == Status.WITHDRAWN
    assert status_of(seats[0]) == Status.CONFIRMED


def test_accept_offer_confirms_the_seat() -> None:
    cohort, seats = full_cohort(capacity=1)
    waiting = services.enroll(member=ready_member(), cohort=cohort)
    services.withdraw(enrollment=seats[0])
    accepted = services.accept_offer(enrollment=waiting)
    assert accepted.status == Status.CONFIRMED
    assert accepted.confirmed_at is not None
    with pytest.raises(InvalidTransition):
        services.accept_offer(enrollment=waiting)


def test_accept_after_the_deadline_expires_and_passes_on() -> None:
    cohort, seats = full_cohort(capacity=1)
    late = services.enroll(member=ready_member(), cohort=cohort)
    next_one = services.enroll(member=ready_member(), cohort=cohort)
    services.withdraw(enrollment=seats[0])
    Enrollment.objects.filter(pk=late.pk).update(offer_expires_at=timezone.now())
    with pytest.raises(OfferExpired):
        services.accept_offer(enrollment=late)
    late.refresh_from_db()
    assert (late.status, late.passes) == (Status.WAITLISTED, 1)
    assert status_of(next_one) == Status.OFFERED
    assert held(cohort) == 1


def test_answering_a_second_offer_late_says_the_place_left_the_list() -> None:
    """Accepting just after the deadline of a second offer takes the place off the list (as the
    worker would): the member is told that, not that they are still waiting."""
    cohort, seats = full_cohort(capacity=1)
    late = services.enroll(member=ready_member(), cohort=cohort)
    next_one = services.enroll(member=ready_member(), cohort=cohort)
    services.withdraw(enrollment=seats[0])
    Enrollment.objects.filter(pk=late.pk).update(passes=1, offer_expires_at=timezone.now())
    with pytest.raises(OfferExpired) as caught:
        services.accept_offer(enrollment=late)
    late.refresh_from_db()
    assert (late.status, late.end_reason) == (Status.WITHDRAWN, "offers lapsed")
    assert "still on the waiting list" not in caught.value.message
    assert "no longer on the waiting list" in caught.value.message
    assert "welcome to join it again" in caught.value.message
    assert status_of(next_one) == Status.OFFERED


def test_answering_late_with_nobody_else_waiting_says_the_seat_is_offered_again() -> None:
    cohort, seats = full_cohort(capacity=1)
    late = services.enroll(member=ready_member(), cohort=cohort)
    services.withdraw(enrollment=seats[0])
    Enrollment.objects.filter(pk=late.pk).update(offer_expires_at=timezone.now())
    with pytest.raises(OfferExpired) as caught:
        services.accept_offer(enrollment=late)
    late.refresh_from_db()
    assert (late.status, late.passes) == (Status.OFFERED, 1)
    assert "offered to you again" in caught.value.message
    assert "still on the waiting list" not in caught.value.message
    assert services.accept_offer(enrollment=late).status == Status.CONFIRMED


def test_answering_late_once_the_group_has_started_says_no_seat_will_follow() -> None:
    from tests.meetings.factories import meeting_at

    now = timezone.now()
    cohort, seats = full_cohort(capacity=1)
    late = services.enroll(member=ready_member(), cohort=cohort)
    services.enroll(member=ready_member(), cohort=cohort)
    services.withdraw(enrollment=seats[0])
    meeting_at(cohort, now - timedelta(hours=1), number=1)
    services.advance_cohorts(now=now)
    Enrollment.objects.filter(pk=late.pk).update(offer_expires_at=now)
    with pytest.raises(OfferExpired) as caught:
        services.accept_offer(enrollment=late)
    assert status_of(late) == Status.WAITLISTED
    assert "no more seats will be offered from its waiting list" in caught.value.message
    assert not Enrollment.objects.filter(cohort=cohort, status=Status.OFFERED).exists()


def test_a_seat_freed_after_the_first_meeting_began_is_not_offered() -> None:
    """Before the hourly sweep has moved the group on, a seat freed once its first meeting has
    begun is not offered: the group is running from then, and says so."""
    from tests.meetings.factories import meeting_at

    now = timezone.now()
    cohort, seats = full_cohort(capacity=1)
    waiting = services.enroll(member=ready_member(), cohort=cohort)
    meeting_at(cohort, now - timedelta(minutes=5), number=1)
    services.withdraw(enrollment=seats[0])
    cohort.refresh_from_db()
    assert status_of(waiting) == Status.WAITLISTED
    assert cohort.status == CohortStatus.RUNNING
    assert services.offer_waiting_seats() == 0


def therapy_full_cohort(capacity: int = 1) -> tuple[Any, Any, list[Enrollment]]:
    """A full therapy group whose lead is licensed in New York, seated by New Yorkers."""
    lic = LicenseFactory(state="NY")
    cohort = CohortFactory(
        lead=lic.clinician.user, program__kind=ProgramKind.THERAPY, capacity=capacity
    )
    seats = [
        services.enroll(member=ready_member(home_state="NY"), cohort=cohort)
        for _ in range(capacity)
    ]
    return cohort, lic, seats


def test_a_seat_is_not_offered_to_someone_who_has_moved_out_of_the_groups_states() -> None:
    """Someone on a therapy group's waiting list who now lives where its clinician may not see
    them keeps their place, but a freed seat goes to the next person who could take it, rather
    than being held for two days for someone the law would stop at "Accept"."""
    cohort, _lic, seats = therapy_full_cohort()
    moved = services.enroll(member=ready_member(home_state="NY"), cohort=cohort)
    next_one = services.enroll(member=ready_member(home_state="NY"), cohort=cohort)
    moved.member.home_state = "TX"
    moved.member.save(update_fields=["home_state"])
    services.withdraw(enrollment=seats[0])
    assert status_of(next_one) == Status.OFFERED
    moved.refresh_from_db()
    assert (moved.status, moved.passes) == (Status.WAITLISTED, 0)
    assert waiting_position(moved) == 1
    # Back in New York, they are first in line again for the next seat.
    moved.member.home_state = "NY"
    moved.member.save(update_fields=["home_state"])
    services.accept_offer(enrollment=next_one)
    services.withdraw(enrollment=next_one)
    assert status_of(moved) == Status.OFFERED


def test_a_seat_is_not_offered_where_the_clinicians_licence_ends_before_the_group() -> None:
    cohort, lic, seats = therapy_full_cohort()
    waiting = services.enroll(member=ready_member(home_state="NY"), cohort=cohort)
    lic.valid_to = cohort.planned_last_date - timedelta(days=1)
    lic.save(update_fields=["valid_to"])
    services.withdraw(enrollment=seats[0])
    assert status_of(waiting) == Status.WAITLISTED
    assert held(cohort) == 0
    cohort.refresh_from_db()
    assert cohort.status == CohortStatus.OPEN
    # Renewed, the periodic sweep offers the free seat to the person waiting, once.
    lic.valid_to = cohort.planned_last_date
    lic.save(update_fields=["valid_to"])
    assert tasks.sweep.call() >= 1
    assert status_of(waiting) == Status.OFFERED
    assert services.offer_waiting_seats() == 0


def test_the_sweep_offers_only_free_seats_of_groups_taking_members() -> None:
    from tests.meetings.factories import meeting_at

    full, _seats = full_cohort(capacity=1)
    services.enroll(member=ready_member(), cohort=full)
    running, seats = full_cohort(capacity=1)
    still_waiting = services.enroll(member=ready_member(), cohort=running)
    meeting_at(running, timezone.now() - timedelta(hours=1), number=1)
    services.advance_cohorts()
    services.withdraw(enrollment=seats[0])
    assert services.offer_waiting_seats() == 0
    assert status_of(still_waiting) == Status.WAITLISTED
    assert held(full) == 1


def test_decline_leaves_the_list_and_passes_on() -> None:
    cohort, seats = full_cohort(capacity=1)
    first = services.enroll(member=ready_member(), cohort=cohort)
    second = services.enroll(member=ready_member(), cohort=cohort)
    services.withdraw(enrollment=seats[0])
    services.decline_offer(enrollment=first)
    assert status_of(first) == Status.WITHDRAWN
    assert status_of(second) == Status.OFFERED
    with pytest.raises(InvalidTransition):
        services.decline_offer(enrollment=first)


def test_expire_offers_is_idempotent_and_puts_lapsed_members_behind_the_rest() -> None:
    cohort, seats = full_cohort(capacity=1)
    first = services.enroll(member=ready_member(), cohort=cohort)
    second = services.enroll(member=ready_member(), cohort=cohort)
    services.withdraw(enrollment=seats[0])
    later = timezone.now() + timedelta(hours=49)
    assert services.expire_offers(now=later) == 1
    assert services.expire_offers(now=later) == 0
    assert status_of(first) == Status.WAITLISTED
    assert status_of(second) == Status.OFFERED
    assert waiting_position(first) == 1
    assert held(cohort) == 1


def test_offer_next_seat_fills_only_free_seats() -> None:
    cohort, seats = full_cohort(capacity=2)
    waiting = [services.enroll(member=ready_member(), cohort=cohort) for _ in range(3)]
    assert services.offer_next_seat(cohort=cohort) == []
    Enrollment.objects.filter(pk=seats[0].pk).update(status=Status.WITHDRAWN)
    offers = services.offer_next_seat(cohort=cohort)
    assert [o.pk for o in offers] == [waiting[0].pk]
    assert services.offer_next_seat(cohort=cohort) == []


# ---------------------------------------------------------------------------------------- staff


def test_coordinator_removes_with_a_reason_and_the_seat_is_offered() -> None:
    cohort, seats = full_cohort(capacity=1)
    waiting = services.enroll(member=ready_member(), cohort=cohort)
    coordinator = UserFactory(is_staff=True)
    with pytest.raises(InvalidTransition):
        services.remove(enrollment=seats[0], actor=coordinator, reason="  ")
    removed = services.remove(enrollment=seats[0], actor=coordinator, reason="Asked to leave.")
    assert (removed.status, removed.end_reason) == (Status.REMOVED, "removed by practice")
    # The staff's words are kept, encrypted, apart from the reason the database selects on.
    removed.refresh_from_db()
    assert removed.removal_reason == "Asked to leave."
    assert status_of(waiting) == Status.OFFERED


def test_a_member_cannot_remove_anyone() -> None:
    _cohort, seats = full_cohort(capacity=2)
    with pytest.raises(NotAllowed):
        services.remove(enrollment=seats[0], actor=seats[1].member, reason="no")
    assert status_of(seats[0]) == Status.CONFIRMED


def test_the_lead_may_remove() -> None:
    cohort, seats = full_cohort(capacity=1)
    services.remove(enrollment=seats[0], actor=cohort.lead, reason="Safety plan.")
    assert status_of(seats[0]) == Status.REMOVED


# ------------------------------------------------------------------------------- letting back in


def removed_from(cohort: Any, **member_fields: Any) -> Enrollment:
    """A member's place in ``cohort`` that the practice ended for them."""
    place = services.enroll(member=ready_member(**member_fields), cohort=cohort)
    return services.remove(
        enrollment=place, actor=UserFactory(is_staff=True), reason="Repeated harm to others"
    )


def test_a_member_the_practice_let_back_in_joins_again_in_the_usual_way() -> None:
    """Letting them back in gives no seat: they join again themselves, and take a free seat or
    a place on the waiting list behind those already waiting, as anyone joining does."""
    cohort = CohortFactory(capacity=2)
    place = removed_from(cohort)
    member = place.member
    coordinator = UserFactory(is_staff=True)
    before = timezone.now()
    let_in = services.readmit(enrollment=place, actor=coordinator)
    assert let_in.status == Status.REMOVED  # the removed place itself stays ended
    assert let_in.readmitted_by == coordinator
    assert let_in.readmitted_at is not None and let_in.readmitted_at >= before
    assert Enrollment.objects.filter(member=member, cohort=cohort).count() == 1
    assert held(cohort) == 0
    # The group fills up and someone waits; the member comes back behind them.
    services.enroll(member=ready_member(), cohort=cohort)
    services.enroll(member=ready_member(), cohort=cohort)
    ahead = services.enroll(member=ready_member(), cohort=cohort)
    again = services.enroll(member=member, cohort=cohort)
    assert again.status == Status.WAITLISTED
    assert (waiting_position(ahead), waiting_position(again)) == (1, 2)


def test_a_member_let_back_in_takes_a_free_seat() -> None:
    cohort = CohortFactory(capacity=2)
    place = removed_from(cohort)
    services.readmit(enrollment=place, actor=cohort.lead)
    again = services.enroll(member=place.member, cohort=cohort)
    assert again.status == Status.CONFIRMED
    assert again.pk != place.pk


def test_letting_back_in_is_recorded_for_the_audit() -> None:
    cohort = CohortFactory()
    place = removed_from(cohort)
    coordinator = UserFactory(is_staff=True)
    services.readmit(enrollment=place, actor=coordinator)
    event = AuditEvent.objects.filter(
        target_type="enrollment.enrollment", target_id=str(place.pk)
    ).first()
    assert event is not None
    assert (event.actor, event.subject, event.action) == (
        coordinator,
        place.member,
        "enrollment.changed",
    )
    assert event.data == {"status": "removed", "cohort": cohort.pk, "change": "readmitted"}


def test_letting_the_same_removal_back_in_twice_is_refused() -> None:
    cohort = CohortFactory()
    place = removed_from(cohort)
    first = UserFactory(is_staff=True)
    services.readmit(enrollment=place, actor=first)
    events = AuditEvent.objects.count()
    with pytest.raises(InvalidTransition) as caught:
        services.readmit(enrollment=place, actor=cohort.lead)
    assert "already been let back in" in caught.value.message
    place.refresh_from_db()
    assert place.readmitted_by == first
    assert AuditEvent.objects.count() == events
    # Removed again after coming back, they are kept out again until let back in once more.
    from circlecare.enrollment.errors import RemovedFromGroup

    again = services.enroll(member=place.member, cohort=cohort)
    services.remove(enrollment=again, actor=first, reason="Asked to leave again")
    with pytest.raises(RemovedFromGroup):
        services.enroll(member=place.member, cohort=cohort)
    services.readmit(enrollment=again, actor=first)
    assert services.enroll(member=place.member, cohort=cohort).status == Status.CONFIRMED


def test_only_a_place_the_practice_ended_for_the_member_can_be_let_back_in() -> None:
    """A member who left, whose group was cancelled or whose partner was removed, or who is
    still in the group, is kept out of nothing: there is nothing to let them back into."""
    coordinator = UserFactory(is_staff=True)
    cohort = CohortFactory(capacity=4)
    left = services.enroll(member=ready_member(), cohort=cohort)
    services.withdraw(enrollment=left)
    still_in = services.enroll(member=ready_member(), cohort=cohort)
    cancelled = CohortFactory()
    in_cancelled = services.enroll(member=ready_member(), cohort=cancelled)
    services.cancel_cohort(cohort=cancelled, actor=coordinator)
    couples = CohortFactory(capacity=4, program__for_couples=True)
    inviter, partner = ready_member(), ready_member()
    _invite, token = invite_partner(member=inviter, cohort=couples, email=partner.email)
    pair = services.accept_partner_invite(token=token, member=partner)
    services.remove(enrollment=pair[0], actor=coordinator, reason="Asked to")
    events = AuditEvent.objects.count()
    for place in (left, still_in, in_cancelled, pair[1]):
        with pytest.raises(InvalidTransition):
            services.readmit(enrollment=place, actor=coordinator)
        place.refresh_from_db()
        assert place.readmitted_at is None
    assert AuditEvent.objects.count() == events


def test_a_member_or_another_groups_clinician_cannot_let_anyone_back_in() -> None:
    cohort = CohortFactory(capacity=3)
    place = removed_from(cohort)
    seated = services.enroll(member=ready_member(), cohort=cohort)
    for outsider in (seated.member, place.member, CohortFactory().lead):
        with pytest.raises(NotAllowed):
            services.readmit(enrollment=place, actor=outsider)
    place.refresh_from_db()
    assert place.readmitted_at is None
    co = UserFactory(is_facilitator=True)
    cohort.co_facilitator = co
    cohort.save()
    services.readmit(enrollment=place, actor=co)  # whoever may remove may let back in
    place.refresh_from_db()
    assert place.readmitted_by == co


def test_a_member_whose_account_is_closed_is_not_let_back_in() -> None:
    place = removed_from(CohortFactory())
    type(place.member).objects.filter(pk=place.member_id).update(is_active=False)
    with pytest.raises(InvalidTransition) as caught:
        services.readmit(enrollment=place, actor=UserFactory(is_staff=True))
    assert "account is closed" in caught.value.message
    place.refresh_from_db()
    assert place.readmitted_at is None


def test_nobody_is_let_back_in_to_a_group_no_longer_taking_members() -> None:
    cohort = CohortFactory()
    place = removed_from(cohort)
    Cohort.objects.filter(pk=cohort.pk).update(status=CohortStatus.RUNNING)
    with pytest.raises(InvalidTransition) as caught:
        services.readmit(enrollment=place, actor=UserFactory(is_staff=True))
    assert "only while the group takes new members" in caught.value.message
    place.refresh_from_db()
    assert place.readmitted_at is None


def test_raising_capacity_sends_offers_lowering_below_seats_is_refused() -> None:
    cohort, _seats = full_cohort(capacity=2)
    waiting = [services.enroll(member=ready_member(), cohort=cohort) for _ in range(2)]
    coordinator = UserFactory(is_staff=True)
    services.change_capacity(cohort=cohort, capacity=3, actor=coordinator)
    assert [status_of(w) for w in waiting] == [Status.OFFERED, Status.WAITLISTED]
    with pytest.raises(CapacityTooLow) as caught:
        services.change_capacity(cohort=cohort, capacity=2, actor=coordinator)
    assert "3 people hold a seat" in caught.value.message
    cohort.refresh_from_db()
    assert cohort.capacity == 3


@pytest.mark.parametrize("bad", [0, -1, 10_000, "abc", None, "2.5"])
def test_capacity_rejects_nonsense(bad: Any) -> None:
    cohort = CohortFactory(capacity=5)
    with pytest.raises(InvalidCapacity):
        services.change_capacity(cohort=cohort, capacity=bad, actor=UserFactory(is_staff=True))
    cohort.refresh_from_db()
    assert cohort.capacity == 5


@pytest.mark.parametrize("ended", [CohortStatus.FINISHED, CohortStatus.CANCELLED])
def test_an_ended_group_keeps_its_capacity(ended: CohortStatus) -> None:
    cohort = CohortFactory(capacity=5)
    Cohort.objects.filter(pk=cohort.pk).update(status=ended)
    with pytest.raises(InvalidTransition) as caught:
        services.change_capacity(cohort=cohort, capacity=8, actor=UserFactory(is_staff=True))
    assert "finished or been cancelled" in caught.value.message
    cohort.refresh_from_db()
    assert cohort.capacity == 5 and cohort.status == ended


def test_capacity_change_needs_staff() -> None:
    cohort = CohortFactory(capacity=5)
    with pytest.raises(NotAllowed):
        services.change_capacity(cohort=cohort, capacity=8, actor=UserFactory())


def test_a_group_for_couples_takes_an_even_capacity_only() -> None:
    """Couples take seats two at a time: a seventh seat in a group for couples stays empty."""
    from django.core.exceptions import ValidationError

    cohort = CohortFactory(capacity=6, min_size=2, program__for_couples=True)
    staff = UserFactory(is_staff=True)
    with pytest.raises(InvalidCapacity) as caught:
        services.change_capacity(cohort=cohort, capacity=7, actor=staff)
    assert "an even number of seats" in caught.value.message
    cohort.refresh_from_db()
    assert cohort.capacity == 6
    assert services.change_capacity(cohort=cohort, capacity=8, actor=staff).capacity == 8
    cohort.capacity = 9
    with pytest.raises(ValidationError) as invalid:
        cohort.full_clean()
    assert "an even number of seats" in str(invalid.value.message_dict["capacity"])
    # Anyone joining on their own may make any group as large as suits it.
    single = CohortFactory(capacity=6, min_size=2)
    assert services.change_capacity(cohort=single, capacity=7, actor=staff).capacity == 7


# ------------------------------------------------------------------------------------ a group's life


def test_a_group_runs_from_its_first_meeting_and_finishes_after_its_last() -> None:
    """Seats become completed at the finish; a waiting-list place ends, said so on the roster;
    running twice changes nothing more; a group whose meetings are all ahead stays open."""
    from circlecare.meetings.models import Meeting
    from tests.meetings.factories import meeting_at

    now = timezone.now()
    cohort, seats = full_cohort(capacity=1)
    waiting = services.enroll(member=ready_member(), cohort=cohort)
    first = meeting_at(cohort, now - timedelta(hours=1), number=1)
    last = meeting_at(cohort, now + timedelta(days=7), number=2)
    later = CohortFactory()
    meeting_at(later, now + timedelta(days=30), number=1)

    assert services.advance_cohorts(now=now) == 1
    cohort.refresh_from_db()
    later.refresh_from_db()
    assert cohort.status == CohortStatus.RUNNING and later.status == CohortStatus.OPEN
    assert status_of(seats[0]) == Status.CONFIRMED and status_of(waiting) == Status.WAITLISTED

    after = last.ends_at + timedelta(minutes=1)
    assert services.advance_cohorts(now=after) == 1
    cohort.refresh_from_db()
    assert cohort.status == CohortStatus.FINISHED
    assert status_of(seats[0]) == Status.COMPLETED
    assert status_of(waiting) == Status.WITHDRAWN
    waiting.refresh_from_db()
    assert waiting.ended_label == "Still waiting when the group finished"
    assert services.advance_cohorts(now=after) == 0
    assert Meeting.objects.filter(pk=first.pk).exists()


def test_a_group_whose_last_meeting_was_ended_early_finishes_then() -> None:
    """Its leader ended the last meeting 40 minutes into 90: the group is over from then, not
    from when the meeting would have ended."""
    from circlecare.meetings.models import Meeting
    from tests.meetings.factories import meeting_at

    now = timezone.now()
    cohort, seats = full_cohort(capacity=1)
    meeting_at(cohort, now - timedelta(days=7), number=1)
    last = meeting_at(cohort, now - timedelta(hours=1), number=2)
    assert last.ends_at > now  # planned for longer than an hour
    assert services.advance_cohorts(now=now) == 1  # running, not finished
    cohort.refresh_from_db()
    assert cohort.status == CohortStatus.RUNNING
    Meeting.objects.filter(pk=last.pk).update(ended_at=last.starts_at + timedelta(minutes=40))
    assert services.advance_cohorts(now=now) == 1
    cohort.refresh_from_db()
    assert cohort.status == CohortStatus.FINISHED
    assert status_of(seats[0]) == Status.COMPLETED


def test_cancelling_a_group_leaves_a_meeting_its_leader_ended_as_it_was() -> None:
    """Ended in its early window, a few minutes before its planned start (so still "scheduled",
    its planned end ahead): it took place, and is not marked cancelled with the meetings ahead."""
    from circlecare.meetings.models import Meeting, MeetingStatus
    from tests.meetings.factories import meeting_at

    now = timezone.now()
    cohort, _seats = full_cohort(capacity=1)
    ended = meeting_at(cohort, now + timedelta(minutes=5), number=1, ended_at=now)
    ahead = meeting_at(cohort, now + timedelta(days=7), number=2)
    services.cancel_cohort(cohort=cohort, actor=UserFactory(is_staff=True))
    kept = Meeting.objects.get(pk=ended.pk)
    assert (kept.status, kept.ics_sequence) == (MeetingStatus.SCHEDULED, 0)
    assert Meeting.objects.get(pk=ahead.pk).status == MeetingStatus.CANCELLED


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_group_ends_every_place_and_meeting_ahead_and_tells_members(
    run_worker: Any,
) -> None:
    from django.core import mail

    from circlecare.meetings.models import Meeting
    from tests.meetings.factories import meeting_at

    cohort, seats = full_cohort(capacity=1)
    waiting = services.enroll(member=ready_member(), cohort=cohort)
    ahead = meeting_at(cohort, timezone.now() + timedelta(days=3), number=1)
    with pytest.raises(NotAllowed):
        services.cancel_cohort(cohort=cohort, actor=cohort.lead)  # coordinators cancel
    run_worker()
    before = len(mail.outbox)
    coordinator = UserFactory(is_staff=True)
    assert services.cancel_cohort(cohort=cohort, actor=coordinator) == 2
    cohort.refresh_from_db()
    assert cohort.status == CohortStatus.CANCELLED
    for e in (seats[0], waiting):
        assert status_of(e) == Status.REMOVED
        e.refresh_from_db()
        assert e.ended_label == "The group was cancelled"
    meeting = Meeting.objects.get(pk=ahead.pk)
    assert meeting.status == "cancelled" and meeting.ics_sequence == ahead.ics_sequence + 1
    run_worker()
    told = {m.to[0] for m in mail.outbox[before:] if "has been cancelled" in m.subject}
    assert told == {seats[0].member.email, waiting.member.email}
    with pytest.raises(InvalidTransition):
        services.cancel_cohort(cohort=cohort, actor=coordinator)


def test_an_offer_made_again_after_it_lapsed_says_so() -> None:
    """With nobody else waiting, a lapsed offer comes straight back to the same member; the
    e-mail says why, so it reads as a second chance, not a mistake."""
    from circlecare.enrollment.tasks import compose

    cohort, seats = full_cohort(capacity=1)
    waiting = services.enroll(member=ready_member(), cohort=cohort)
    services.withdraw(enrollment=seats[0])
    waiting.refresh_from_db()
    first = compose(waiting, "offered")
    assert first is not None and "offered to you again" not in first[1]
    services.expire_offers(now=waiting.offer_expires_at + timedelta(seconds=1))
    waiting.refresh_from_db()
    assert waiting.status == Status.OFFERED and waiting.passes == 1
    again = compose(waiting, "offered")
    assert again is not None and "offered to you again" in again[1]
    assert "we'll take you off the waiting list" in again[1]


def test_after_two_lapsed_offers_the_place_leaves_the_list_and_the_seat_stays_open() -> None:
    """A seat nobody answers for is not offered to the same person every two days: the second
    lapse takes them off the list, kindly, and the next person in line (or a newcomer) gets it."""
    from circlecare.enrollment.tasks import compose

    cohort, seats = full_cohort(capacity=1)
    waiting = services.enroll(member=ready_member(), cohort=cohort)
    services.withdraw(enrollment=seats[0])
    for _ in range(2):
        waiting.refresh_from_db()
        assert services.expire_offers(now=waiting.offer_expires_at + timedelta(seconds=1)) == 1
    waiting.refresh_from_db()
    assert (waiting.status, waiting.end_reason, waiting.passes) == (
        Status.WITHDRAWN,
        "offers lapsed",
        2,
    )
    assert waiting.ended_label == "Taken off the waiting list after 2 offers lapsed"
    told = compose(waiting, "offers_lapsed")
    assert told is not None and "you're welcome to join it again" in told[1]
    assert not Enrollment.objects.filter(cohort=cohort, status=Status.OFFERED).exists()
    # The seat is free for the next person, who takes it at once; and the member can come back.
    assert services.enroll(member=ready_member(), cohort=cohort).status == Status.CONFIRMED
    back = services.enroll(member=waiting.member, cohort=cohort)
    assert back.status == Status.WAITLISTED


# ---------------------------------------------------------------------------------------- couples


def couples_cohort(capacity: int) -> Any:
    return CohortFactory(capacity=capacity, program__for_couples=True)


def join_as_couple(cohort: Any) -> list[Enrollment]:
    inviter = ready_member()
    partner = ready_member()
    _invite, token = invite_partner(member=inviter, cohort=cohort, email=partner.email)
    return services.accept_partner_invite(token=token, member=partner)


def test_a_couple_takes_two_seats_together() -> None:
    cohort = couples_cohort(capacity=4)
    pair = join_as_couple(cohort)
    assert [e.status for e in pair] == [Status.CONFIRMED, Status.CONFIRMED]
    assert pair[0].pairing_id == pair[1].pairing_id is not None


def test_a_couple_waits_together_and_is_offered_two_seats_at_once() -> None:
    cohort = couples_cohort(capacity=3)
    first = join_as_couple(cohort)
    pair = join_as_couple(cohort)  # one seat left: not enough for two
    assert [e.status for e in pair] == [Status.WAITLISTED, Status.WAITLISTED]
    assert held(cohort) == 2
    services.withdraw(enrollment=first[0])  # the whole couple leaves: three seats free
    assert [status_of(e) for e in first] == [Status.WITHDRAWN, Status.WITHDRAWN]
    assert [status_of(e) for e in pair] == [Status.OFFERED, Status.OFFERED]
    services.accept_offer(enrollment=pair[1])
    assert [status_of(e) for e in pair] == [Status.CONFIRMED, Status.CONFIRMED]


def status_now(cohort: Any) -> str:
    cohort.refresh_from_db()
    return cohort.status


def test_a_couples_group_that_cannot_seat_another_couple_is_full() -> None:
    """One free seat is room for no couple: the group says full, as joining it would be the
    waiting list, and it opens again only when two seats are free."""
    cohort = couples_cohort(capacity=3)
    join_as_couple(cohort)
    assert status_now(cohort) == CohortStatus.FULL
    assert (cohort.seats_left, cohort.couples_left) == (1, 0)
    waiting = join_as_couple(cohort)
    assert [e.status for e in waiting] == [Status.WAITLISTED, Status.WAITLISTED]
    assert status_now(cohort) == CohortStatus.FULL
    coordinator = UserFactory(is_staff=True)
    # Raised by one seat: the waiting couple is offered both, and the group is full again.
    services.change_capacity(cohort=cohort, capacity=4, actor=coordinator)
    assert [status_of(e) for e in waiting] == [Status.OFFERED, Status.OFFERED]
    assert status_now(cohort) == CohortStatus.FULL
    services.accept_offer(enrollment=waiting[0])
    assert status_now(cohort) == CohortStatus.FULL
    services.change_capacity(cohort=cohort, capacity=6, actor=coordinator)
    assert status_now(cohort) == CohortStatus.OPEN  # room for a couple
    assert cohort.couples_left == 1


def test_a_couples_group_opens_when_a_couple_leaves_and_no_couple_waits() -> None:
    cohort = couples_cohort(capacity=5)
    first = join_as_couple(cohort)
    second = join_as_couple(cohort)
    waiting = join_as_couple(cohort)
    assert status_now(cohort) == CohortStatus.FULL
    # Two seats free: offered to the waiting couple, so the group stays full.
    services.withdraw(enrollment=first[1])
    assert [status_of(e) for e in waiting] == [Status.OFFERED, Status.OFFERED]
    assert status_now(cohort) == CohortStatus.FULL
    # They say no, and nobody else waits: three seats are room for a couple.
    services.decline_offer(enrollment=waiting[0])
    assert status_now(cohort) == CohortStatus.OPEN
    services.withdraw(enrollment=second[0])
    assert status_now(cohort) == CohortStatus.OPEN
    join_as_couple(cohort)
    join_as_couple(cohort)
    assert (held(cohort), status_now(cohort)) == (4, CohortStatus.FULL)


def test_a_couples_offer_is_taken_only_when_both_partners_steps_are_met() -> None:
    """One partner accepting takes both seats, so the other's steps count too: a new agreement
    the partner has not signed stops the seats, with a word about why, and nothing changes."""
    from tests.enrollment.factories import ConsentDocumentFactory, sign_all

    cohort = couples_cohort(capacity=2)
    first = join_as_couple(cohort)
    pair = join_as_couple(cohort)
    services.withdraw(enrollment=first[0])
    assert [status_of(e) for e in pair] == [Status.OFFERED, Status.OFFERED]
    ConsentDocumentFactory(version=2)  # a new telehealth consent, signed by neither yet
    sign_all(pair[1].member)
    with pytest.raises(StepRequired, match="Your partner has a step to finish"):
        services.accept_offer(enrollment=pair[1])
    assert [status_of(e) for e in pair] == [Status.OFFERED, Status.OFFERED]
    sign_all(pair[0].member)
    services.accept_offer(enrollment=pair[1])
    assert [status_of(e) for e in pair] == [Status.CONFIRMED, Status.CONFIRMED]


def test_accepting_an_offer_that_is_gone_says_so_before_any_step() -> None:
    """Pressing Accept again after declining, or after the offer passed on, is told there is
    no offer, not sent to answer questions or sign agreements first."""
    from tests.enrollment.factories import ConsentDocumentFactory

    cohort, seats = full_cohort(capacity=1)
    waiting = services.enroll(member=ready_member(), cohort=cohort)
    services.withdraw(enrollment=seats[0])
    services.decline_offer(enrollment=waiting)
    ConsentDocumentFactory(version=2)  # an unmet step, which must not be asked for
    with pytest.raises(InvalidTransition, match="no open seat offer"):
        services.accept_offer(enrollment=waiting)


@pytest.mark.django_db(transaction=True)
def test_when_one_partner_leaves_the_other_is_told_by_email(run_worker: Any) -> None:
    from django.core import mail

    cohort = couples_cohort(capacity=4)
    pair = join_as_couple(cohort)
    run_worker()
    before = len(mail.outbox)
    services.withdraw(enrollment=pair[0])
    run_worker()
    sent = mail.outbox[before:]
    assert [m.to for m in sent] == [[pair[1].member.email]]
    assert sent[0].subject == "circlecare: your partner has left your group"
    assert status_of(pair[1]) == Status.WITHDRAWN


@pytest.mark.django_db(transaction=True)
def test_removing_one_partner_ends_the_couples_places_together(run_worker: Any) -> None:
    """Staff removing one partner does not leave the other seated alone: both places end, the
    partner's for that reason (not the removal's), both seats go to the waiting couple, and the
    partner is told their place ended without being told why."""
    from django.core import mail

    cohort = couples_cohort(capacity=2)
    pair = join_as_couple(cohort)
    waiting = join_as_couple(cohort)
    run_worker()
    before = len(mail.outbox)
    services.remove(enrollment=pair[1], actor=UserFactory(is_staff=True), reason="Abusive words")
    run_worker()
    pair[0].refresh_from_db()
    pair[1].refresh_from_db()
    assert (pair[1].status, pair[1].removal_reason) == (Status.REMOVED, "Abusive words")
    assert (pair[0].status, pair[0].end_reason) == (Status.REMOVED, "partner removed")
    assert pair[0].removal_reason == ""
    assert pair[0].ended_label == "Ended with their partner's removal"
    assert [status_of(e) for e in waiting] == [Status.OFFERED, Status.OFFERED]
    told = {m.to[0]: m for m in mail.outbox[before:]}
    assert told[pair[1].member.email].subject == "circlecare: your place in a group has ended"
    partner_mail = told[pair[0].member.email]
    assert "Your partner's place in the group" in partner_mail.body
    assert "Abusive" not in partner_mail.body


def test_an_invite_is_only_for_the_address_it_was_sent_to() -> None:
    cohort = couples_cohort(capacity=4)
    inviter = ready_member()
    _invite, token = invite_partner(member=inviter, cohort=cohort, email="partner@example.org")
    with pytest.raises(InviteInvalid):
        services.accept_partner_invite(token=token, member=ready_member())
    with pytest.raises(InviteInvalid):
        services.accept_partner_invite(token="not-a-token", member=ready_member())
    assert not Enrollment.objects.exists()


# ----------------------------------------------------------- a programme made for couples, or not


def coordinator() -> Any:
    return UserFactory(is_staff=True)


def test_turning_couples_off_and_on_re_derives_each_open_groups_status() -> None:
    """One free seat is room for a person but not for a couple: the label follows the switch,
    and joining then does what the label says."""
    cohort = couples_cohort(capacity=3)
    roomy = CohortFactory(program=cohort.program, capacity=6)
    pair = join_as_couple(cohort)
    assert status_now(cohort) == CohortStatus.FULL

    done = services.change_for_couples(
        program=cohort.program, for_couples=False, actor=coordinator()
    )
    assert [c.pk for c in done.now_open] == [cohort.pk] and done.now_full == []
    assert (status_now(cohort), status_now(roomy)) == (CohortStatus.OPEN, CohortStatus.OPEN)
    assert Program.objects.get(pk=cohort.program_id).for_couples is False
    # The couple already in keeps its seats together.
    assert {status_of(e) for e in pair} == {Status.CONFIRMED}
    seat = services.enroll(member=ready_member(), cohort=cohort)
    assert seat.status == Status.CONFIRMED and held(cohort) == 3
    assert status_now(cohort) == CohortStatus.FULL
    services.withdraw(enrollment=seat)
    assert status_now(cohort) == CohortStatus.OPEN

    done = services.change_for_couples(
        program=cohort.program, for_couples=True, actor=coordinator()
    )
    assert [c.pk for c in done.now_full] == [cohort.pk] and done.now_open == []
    assert (status_now(cohort), status_now(roomy)) == (CohortStatus.FULL, CohortStatus.OPEN)
    assert AuditEvent.objects.filter(
        action="cohort.changed", target_id=str(cohort.pk), data__for_couples=True
    ).exists()


def test_a_programme_is_not_made_for_couples_while_people_hold_places_on_their_own() -> None:
    program = ProgramFactory(title="Closer")
    first = CohortFactory(program=program, name="Tuesdays", capacity=1)
    second = CohortFactory(program=program, name="Thursdays", capacity=5)
    services.enroll(member=ready_member(), cohort=first)
    services.enroll(member=ready_member(), cohort=first)  # the waiting list
    services.enroll(member=ready_member(), cohort=second)
    with pytest.raises(InvalidTransition) as refused:
        services.change_for_couples(program=program, for_couples=True, actor=coordinator())
    assert "2 in Closer — Tuesdays and 1 in Closer — Thursdays" in refused.value.message
    assert Program.objects.get(pk=program.pk).for_couples is False
    assert (status_now(first), status_now(second)) == (CohortStatus.FULL, CohortStatus.OPEN)


def test_people_who_were_in_a_finished_group_do_not_stop_it() -> None:
    program = ProgramFactory()
    finished = CohortFactory(program=program, status=CohortStatus.FINISHED)
    EnrollmentFactory(cohort=finished, status=Status.COMPLETED)
    services.change_for_couples(program=program, for_couples=True, actor=coordinator())
    assert Program.objects.get(pk=program.pk).for_couples is True


@pytest.mark.django_db(transaction=True)
def test_turning_couples_off_calls_off_invitations_and_tells_who_sent_them(
    run_worker: Any,
) -> None:
    cohort = couples_cohort(capacity=4)
    inviter = ready_member(display_name="Robin")
    partner = ready_member()
    _invite, token = invite_partner(member=inviter, cohort=cohort, email=partner.email)
    run_worker()
    mail.outbox.clear()
    done = services.change_for_couples(
        program=cohort.program, for_couples=False, actor=coordinator()
    )
    assert done.invitations_called_off == 1
    with pytest.raises(InviteInvalid):
        services.accept_partner_invite(token=token, member=partner)
    run_worker()
    assert [m.to for m in mail.outbox] == [[inviter.email]]
    assert "no longer for couples" in mail.outbox[0].body
    assert not Enrollment.objects.filter(cohort=cohort).exists()


def test_an_invitation_accepted_after_couples_were_turned_off_takes_no_seats() -> None:
    """Two seats for one place in a group whose places are one seat would overfill it: refused,
    even for an invitation the switch did not call off."""
    cohort = couples_cohort(capacity=3)
    join_as_couple(cohort)
    partner = ready_member()
    _invite, token = invite_partner(member=ready_member(), cohort=cohort, email=partner.email)
    with transaction.atomic():
        set_for_couples(program=cohort.program, for_couples=False)
    with pytest.raises(InvalidTransition) as refused:
        services.accept_partner_invite(token=token, member=partner)
    assert "each of you can join it on your own" in refused.value.message
    assert held(cohort) == 2


def test_only_a_coordinator_changes_who_a_programme_is_for() -> None:
    cohort = couples_cohort(capacity=4)
    with pytest.raises(NotAllowed):
        services.change_for_couples(program=cohort.program, for_couples=False, actor=cohort.lead)
    assert Program.objects.get(pk=cohort.program_id).for_couples is True


def test_saving_a_programme_does_not_change_who_it_is_for() -> None:
    """Only change_for_couples does, as it works its groups' status out again."""
    program = ProgramFactory()
    program.for_couples = True
    with pytest.raises(ValueError, match="change_for_couples"):
        program.save()
    program.for_couples = False
    program.title = "Renamed"
    program.save()
    assert Program.objects.get(pk=program.pk).title == "Renamed"


# ---------------------------------------------------------------------------------------- e-mails


@pytest.mark.django_db(transaction=True)
def test_emails_go_out_after_commit_without_clinical_content(run_worker: Any) -> None:
    lic = LicenseFactory(state="NY")
    program = ProgramFactory(kind=ProgramKind.THERAPY, title="Closer: grief therapy group")
    cohort = CohortFactory(capacity=1, program=program, lead=lic.clinician.user)
    seated = services.enroll(member=ready_member(home_state="NY"), cohort=cohort)
    waiting = services.enroll(
        member=ready_member(home_state="NY", time_zone="America/Los_Angeles"), cohort=cohort
    )
    assert mail.outbox == []  # queued, not sent inline
    run_worker()
    subjects = sorted(m.subject for m in mail.outbox)
    assert subjects == [
        "circlecare: you're on the waiting list",
        "circlecare: your seat is confirmed",
    ]
    mail.outbox.clear()
    services.remove(enrollment=seated, actor=UserFactory(is_staff=True), reason="Private reason")
    run_worker()
    by_subject = {m.subject: m for m in mail.outbox}
    assert set(by_subject) == {
        "circlecare: your place in a group has ended",
        "circlecare: a seat is free for you",
    }
    offer = by_subject["circlecare: a seat is free for you"]
    waiting.refresh_from_db()
    assert offer.to == [waiting.member.email]
    assert "PST" in offer.body or "PDT" in offer.body  # the deadline in the member's own zone
    for message in mail.outbox:
        assert "grief" not in message.body.lower()
        assert "Closer" not in message.body
        assert "Private reason" not in message.body


@pytest.mark.django_db(transaction=True)
def test_a_member_let_back_in_is_told_by_email_after_commit(run_worker: Any, settings: Any) -> None:
    program = ProgramFactory(kind=ProgramKind.SKILLS, title="Closer: grief skills group")
    cohort = CohortFactory(program=program)
    place = services.enroll(member=ready_member(), cohort=cohort)
    coordinator = UserFactory(is_staff=True)
    services.remove(enrollment=place, actor=coordinator, reason="Private reason")
    run_worker()
    mail.outbox.clear()
    services.readmit(enrollment=place, actor=coordinator)
    assert mail.outbox == []  # queued, not sent inline
    run_worker()
    (message,) = mail.outbox
    assert message.to == [place.member.email]
    assert message.subject == "circlecare: you can join a group again"
    assert f"{settings.SITE_URL}{cohort.get_absolute_url()}\n" in message.body  # where they join
    assert "grief" not in message.body.lower()
    assert "Closer" not in message.body
    assert "Private reason" not in message.body


def test_the_email_saying_they_may_join_again_is_queued_only_on_commit(
    django_capture_on_commit_callbacks: Any,
) -> None:
    place = services.remove(
        enrollment=services.enroll(member=ready_member(), cohort=CohortFactory()),
        actor=UserFactory(is_staff=True),
        reason="Asked to",
    )
    queued = DBTaskResult.objects.filter(task_path__endswith="send_enrollment_email")
    before = queued.count()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.readmit(enrollment=place, actor=UserFactory(is_staff=True))
    assert queued.count() == before
    for callback in callbacks:
        callback()
    assert queued.count() == before + 1
    assert queued.order_by("-enqueued_at").first().args_kwargs["args"] == [place.pk, "readmitted"]


@pytest.mark.django_db(transaction=True)
def test_the_worker_expires_an_unanswered_offer(run_worker: Any) -> None:
    cohort, seats = full_cohort(capacity=1)
    late = services.enroll(member=ready_member(), cohort=cohort)
    next_one = services.enroll(member=ready_member(), cohort=cohort)
    services.withdraw(enrollment=seats[0])
    late.refresh_from_db()
    job = DBTaskResult.objects.get(task_path__endswith="expire_offer")
    assert job.run_after == late.offer_expires_at
    # Time passes: the offer's deadline and the delayed task both fall due.
    past = timezone.now() - timedelta(minutes=1)
    Enrollment.objects.filter(pk=late.pk).update(offer_expires_at=past)
    DBTaskResult.objects.filter(pk=job.pk).update(run_after=past)
    run_worker()
    late.refresh_from_db()
    assert (late.status, late.passes) == (Status.WAITLISTED, 1)
    assert status_of(next_one) == Status.OFFERED
    expired = [m for m in mail.outbox if m.subject == "circlecare: your seat offer has expired"]
    assert [m.to for m in expired] == [[late.member.email]]


def test_under_minimum_alert_reaches_coordinators_once(settings: Any) -> None:
    settings.COHORT_MIN_SIZE_ALERT_DAYS = 7
    UserFactory(is_staff=True, email="coord@example.org")
    soon = timezone.localdate() + timedelta(days=5)
    cohort = CohortFactory(first_meeting_date=soon, capacity=8, min_size=4)
    CohortFactory(first_meeting_date=soon + timedelta(days=30), capacity=8, min_size=4)
    services.enroll(member=ready_member(), cohort=cohort)
    assert tasks.alert_under_minimum() == 1
    assert tasks.alert_under_minimum() == 0
    assert [m.to for m in mail.outbox] == [["coord@example.org"]]
    assert "1 of the 4" in mail.outbox[0].body


@pytest.mark.parametrize(
    ("zone", "first", "now"),
    [
        # Pago Pago (UTC-11), 4 pm on Tuesday 1 December: UTC is already on the 2nd, but the
        # group meets that evening.
        ("Pacific/Pago_Pago", date(2026, 12, 1), datetime(2026, 12, 2, 3, 0, tzinfo=UTC)),
        # Kiritimati (UTC+14), 10 am on Tuesday 1 December: UTC is still on the 30th, and the
        # group's first meeting is seven of its own days away.
        ("Pacific/Kiritimati", date(2026, 12, 8), datetime(2026, 11, 30, 20, 0, tzinfo=UTC)),
    ],
)
def test_under_minimum_sweep_counts_days_by_the_groups_calendar(
    settings: Any, zone: str, first: date, now: datetime
) -> None:
    """The sweep sees the same window as the check queued for each group: from the group's own
    today to seven of its days ahead, not UTC's."""
    settings.COHORT_MIN_SIZE_ALERT_DAYS = 7
    UserFactory(is_staff=True, email="coord@example.org", time_zone=zone)
    cohort = CohortFactory(
        first_meeting_date=first, start_time=time(19, 0), time_zone=zone, capacity=8, min_size=4
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(timezone, "now", lambda: now)
        assert cohort.local_today() <= first <= cohort.local_today() + timedelta(days=7)
        assert tasks.alert_under_minimum() == 1
    assert [m.to for m in mail.outbox] == [["coord@example.org"]]


def test_signing_records_who_which_version_and_when() -> None:
    cohort = CohortFactory()
    member = UserFactory()
    missing = consents_missing(member, cohort)
    assert {d.kind for d in missing} == {"telehealth", "group_confidentiality"}
    services.sign_consents(member=member, documents=missing, signed_name="Sam Example")
    assert consents_missing(member, cohort) == []
    signature = member.consent_signatures.get(document__kind="telehealth")
    assert (signature.document.version, signature.signed_name) == (1, "Sam Example")
    assert signature.signed_at is not None
    sign_all(member)


def test_the_name_typed_to_sign_is_stored_encrypted_and_kept_to_its_length() -> None:
    """SECURITY.md D1: the typed name says who the member is, so it is not in the clear in the
    table; the limit the column held before is held by the service."""
    from circlecare.crypto import is_encrypted
    from circlecare.enrollment.models import SIGNED_NAME_MAX
    from tests.clinic.test_encryption_migrations import raw

    member = UserFactory()
    documents = consents_missing(member, CohortFactory())
    long_name = "Samantha " + "x" * SIGNED_NAME_MAX
    signature, *_ = services.sign_consents(
        member=member, documents=documents, signed_name=long_name
    )
    stored = raw(signature, "signed_name")
    assert "Samantha" not in stored and is_encrypted(stored)
    signature.refresh_from_db()
    assert signature.signed_name == long_name[:SIGNED_NAME_MAX]


def test_a_waiting_place_counted_in_the_database_matches_the_whole_list() -> None:
    """Places are counted in the database for one enrollment; they agree with the list's order
    (passes first, then arrival, then id for a tie) wherever the enrollment stands."""
    from circlecare.enrollment.queries import places_of, waiting_positions

    cohort = CohortFactory(capacity=1)
    services.enroll(member=ready_member(), cohort=cohort)
    waiting = [services.enroll(member=ready_member(), cohort=cohort) for _ in range(5)]
    # The second let an offer lapse; the fourth and fifth arrived at the same instant.
    Enrollment.objects.filter(pk=waiting[1].pk).update(passes=1)
    Enrollment.objects.filter(pk=waiting[4].pk).update(queued_at=waiting[3].queued_at)
    whole = waiting_positions([cohort.pk])
    assert [whole[e.pk] for e in waiting] == [1, 5, 2, 3, 4]
    assert places_of([e.pk for e in waiting]) == whole
    assert [waiting_position(e) for e in waiting] == [1, 5, 2, 3, 4]


def test_enrollment_e_mails_name_the_groups_real_first_meeting() -> None:
    from circlecare.enrollment.tasks import compose
    from circlecare.meetings.schedule import format_local
    from tests.meetings.factories import first_real_start, rescheduled_group

    member = ready_member()
    cohort = rescheduled_group()
    enrollment = services.enroll(member=member, cohort=cohort)
    told = compose(enrollment, "confirmed")
    assert told is not None
    when = format_local(first_real_start(cohort), member.time_zone or "UTC")
    assert f"the group that starts {when}" in told[1]


def _therapy_couples_cohort(capacity: int = 4) -> Any:
    lic = LicenseFactory(state="NY")
    return CohortFactory(
        lead=lic.clinician.user,
        capacity=capacity,
        program__kind=ProgramKind.THERAPY,
        program__for_couples=True,
    )


def test_a_partner_accepting_is_told_plainly_when_the_inviter_may_not_join() -> None:
    """The inviter moved to a state the clinician is not licensed in after inviting: the partner
    who accepts is told that it is their partner who cannot join (not that they themselves live
    somewhere they do not), and no seat is taken for either."""
    cohort = _therapy_couples_cohort()
    inviter, partner = ready_member(home_state="NY"), ready_member(home_state="NY")
    _invite, token = invite_partner(member=inviter, cohort=cohort, email=partner.email)
    inviter.home_state = "TX"
    inviter.save(update_fields=["home_state"])
    with pytest.raises(NotEligible) as caught:
        services.accept_partner_invite(token=token, member=partner)
    assert "Your partner" in caught.value.message
    assert "where you live" not in caught.value.message
    assert "Texas" not in caught.value.message
    assert not Enrollment.objects.exists()
    # Nor when the inviter's home state is missing: the partner learns what would fix it.
    inviter.home_state = ""
    inviter.save(update_fields=["home_state"])
    with pytest.raises(NotEligible, match="Your partner hasn't said where they live"):
        services.accept_partner_invite(token=token, member=partner)
    assert not Enrollment.objects.exists()


def test_a_partner_accepting_is_not_sent_to_sign_what_only_the_inviter_has_not() -> None:
    """A new agreement the inviter has not signed yet stops the seats; the partner, who signed
    it, is told the step is their partner's, with no link to sign it again themselves."""
    cohort = couples_cohort(capacity=4)
    inviter, partner = ready_member(), ready_member()
    _invite, token = invite_partner(member=inviter, cohort=cohort, email=partner.email)
    ConsentDocumentFactory(version=2)
    sign_all(partner)
    with pytest.raises(StepRequired) as caught:
        services.accept_partner_invite(token=token, member=partner)
    assert "Your partner has a step to finish" in caught.value.message
    assert not (caught.value.detail or {}).get("url")
    assert not Enrollment.objects.exists()
    sign_all(inviter)
    pair = services.accept_partner_invite(token=token, member=partner)
    assert [e.status for e in pair] == [Status.CONFIRMED, Status.CONFIRMED]


def test_a_couples_offer_says_plainly_when_the_partner_may_no_longer_join() -> None:
    """Offered two seats, one partner accepts after the other moved out of the states the
    clinician serves: they are told their partner cannot join from there, and both offers stay."""
    cohort = _therapy_couples_cohort(capacity=2)
    seated = [ready_member(home_state="NY"), ready_member(home_state="NY")]
    _i, token = invite_partner(member=seated[0], cohort=cohort, email=seated[1].email)
    first = services.accept_partner_invite(token=token, member=seated[1])
    waiting = [ready_member(home_state="NY"), ready_member(home_state="NY")]
    _i, token = invite_partner(member=waiting[0], cohort=cohort, email=waiting[1].email)
    pair = services.accept_partner_invite(token=token, member=waiting[1])
    services.withdraw(enrollment=first[0])
    assert [status_of(e) for e in pair] == [Status.OFFERED, Status.OFFERED]
    waiting[0].home_state = "TX"
    waiting[0].save(update_fields=["home_state"])
    with pytest.raises(NotEligible) as caught:
        services.accept_offer(enrollment=pair[1])
    assert "Your partner" in caught.value.message
    assert "where you live" not in caught.value.message
    assert [status_of(e) for e in pair] == [Status.OFFERED, Status.OFFERED]


@pytest.mark.django_db(transaction=True)
def test_when_one_partner_declines_the_seats_the_other_is_told_by_email(run_worker: Any) -> None:
    """Declining a couple's offer ends both places on the waiting list: the partner who did not
    press the button is told, as when their partner leaves, and the one who declined is not
    e-mailed about their own choice."""
    cohort = couples_cohort(capacity=2)
    first = join_as_couple(cohort)
    pair = join_as_couple(cohort)
    services.withdraw(enrollment=first[0])
    run_worker()
    before = len(mail.outbox)
    services.decline_offer(enrollment=pair[0])
    run_worker()
    sent = mail.outbox[before:]
    assert [m.to for m in sent] == [[pair[1].member.email]]
    assert sent[0].subject == "circlecare: your partner declined the seats"
    assert "off the waiting list" in sent[0].body
    assert [status_of(e) for e in pair] == [Status.WITHDRAWN, Status.WITHDRAWN]


def test_taking_seats_together_calls_off_an_invitation_either_partner_still_had_waiting() -> None:
    """Someone who had invited another partner to the group, and then accepts an invitation to
    it, has their place: their own invitation no longer waits on My groups, and its link says it
    was called off rather than letting a third person try to join them."""
    from circlecare.enrollment.models import PartnerInvite, PartnerInviteStatus
    from circlecare.enrollment.queries import invitations_waiting

    cohort = couples_cohort(capacity=4)
    first, second, third = ready_member(), ready_member(), ready_member()
    earlier, earlier_token = invite_partner(member=first, cohort=cohort, email=third.email)
    _invite, token = invite_partner(member=second, cohort=cohort, email=first.email)
    services.accept_partner_invite(token=token, member=first)
    earlier.refresh_from_db()
    assert earlier.status == PartnerInviteStatus.CANCELLED
    assert services.invitation_state(earlier) == "withdrawn"
    assert invitations_waiting(first) == []
    with pytest.raises(InviteInvalid):
        services.accept_partner_invite(token=earlier_token, member=third)
    assert not Enrollment.objects.filter(member=third).exists()
    assert PartnerInvite.objects.filter(status=PartnerInviteStatus.PENDING).count() == 0


def test_the_partners_address_is_stored_encrypted() -> None:
    """SECURITY.md D1: the address says whom the member is in couples therapy with, and the
    partner may have no account: it is not in the clear in the table."""
    from circlecare.crypto import is_encrypted
    from tests.clinic.test_encryption_migrations import raw

    invite = services.invite_partner(
        member=ready_member(), cohort=couples_cohort(capacity=4), email=" Bo.Partner@Example.org "
    )
    stored = raw(invite, "email")
    assert "bo.partner" not in stored.lower() and "example.org" not in stored.lower()
    assert is_encrypted(stored)
    invite.refresh_from_db()
    assert invite.email == "bo.partner@example.org"


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("bo@example", "it should look like name@example.org"),
        ("bo example@example.org", "it should look like name@example.org"),
        # Well formed, and longer than an address may be.
        (
            "bo@" + "e" * 62 + "." + "f" * 62 + "." + "g" * 62 + "." + "h" * 62 + ".org",
            "That address is too long",
        ),
    ],
)
def test_an_address_that_is_not_one_is_refused_and_nothing_is_sent(address: str, says: str) -> None:
    """The encrypted column holds no length and no form of address: the service holds both, as
    the column and the invitation form did."""
    from circlecare.enrollment.models import PartnerInvite

    cohort, inviter = couples_cohort(capacity=4), ready_member()
    waiting = services.invite_partner(member=inviter, cohort=cohort, email="bo@example.org")
    with pytest.raises(InvalidTransition, match=says):
        services.invite_partner(member=inviter, cohort=cohort, email=address)
    # The invitation already waiting still does.
    assert list(PartnerInvite.objects.values_list("pk", "status")) == [(waiting.pk, "pending")]


@pytest.mark.parametrize("again", ["bo@example.org", "BO@Example.ORG", "  Bo@example.org "])
def test_inviting_the_same_address_again_replaces_the_invitation_another_calls_it_off(
    again: str,
) -> None:
    """The old link tells the partner a newer invitation replaced it, whatever the case of the
    address typed again; sent to another address, that it was called off. Nobody else's
    invitation, nor the inviter's to another group, is touched."""
    from circlecare.enrollment.models import PartnerInvite, PartnerInviteEnd, PartnerInviteStatus

    cohort, other_group = couples_cohort(capacity=4), couples_cohort(capacity=4)
    inviter, someone_else = ready_member(), ready_member()
    first = services.invite_partner(member=inviter, cohort=cohort, email="bo@example.org")
    # As an invitation stored before addresses were trimmed and lower-cased.
    PartnerInvite.objects.filter(pk=first.pk).update(email=" Bo@Example.org")
    theirs = services.invite_partner(member=someone_else, cohort=cohort, email="bo@example.org")
    elsewhere = services.invite_partner(member=inviter, cohort=other_group, email="bo@example.org")

    second = services.invite_partner(member=inviter, cohort=cohort, email=again)
    first.refresh_from_db()
    assert (first.status, first.end_reason) == (
        PartnerInviteStatus.CANCELLED,
        PartnerInviteEnd.REPLACED,
    )
    assert services.invitation_state(first) == "replaced"

    services.invite_partner(member=inviter, cohort=cohort, email="alex@example.org")
    second.refresh_from_db()
    assert (second.status, second.end_reason) == (
        PartnerInviteStatus.CANCELLED,
        PartnerInviteEnd.WITHDRAWN,
    )
    for untouched in (theirs, elsewhere):
        untouched.refresh_from_db()
        assert (untouched.status, untouched.end_reason) == (PartnerInviteStatus.PENDING, "")


def test_a_couple_waiting_together_has_one_place_on_the_list() -> None:
    """A couple waits as one place, offered two seats at once: both partners read the same
    number, and a couple ahead counts once for those behind them."""
    from django.test import Client
    from django.urls import reverse

    from circlecare.enrollment.queries import places_of, waiting_positions

    cohort = couples_cohort(capacity=2)
    join_as_couple(cohort)
    first = join_as_couple(cohort)
    second = join_as_couple(cohort)
    assert [waiting_position(e) for e in (*first, *second)] == [1, 1, 2, 2]
    whole = waiting_positions([cohort.pk])
    assert [whole[e.pk] for e in (*first, *second)] == [1, 1, 2, 2]
    assert places_of([e.pk for e in (*first, *second)]) == whole
    client = Client()
    client.force_login(second[1].member)
    page = client.get(reverse("enrollment:my_groups")).content.decode()
    assert "Number 2 on the waiting list." in page


def test_joining_behind_a_couple_is_told_the_same_place_as_my_groups_shows() -> None:
    """A group no longer for couples may still have a couple waiting: someone joining behind
    them is told the place My groups then shows, the couple counted once."""
    cohort = couples_cohort(capacity=2)
    join_as_couple(cohort)
    waiting = join_as_couple(cohort)
    services.change_for_couples(program=cohort.program, for_couples=False, actor=coordinator())
    single = services.enroll(member=ready_member(), cohort=cohort)
    assert single.status == Status.WAITLISTED
    assert [waiting_position(e) for e in waiting] == [1, 1]
    assert single.place == waiting_position(single) == 2  # type: ignore[attr-defined]
