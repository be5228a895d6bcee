"""A hypothesis state machine over every seat change: the seat invariant never breaks.

After any sequence of enrol / withdraw / offer / accept / decline / expire / capacity change:
confirmed + offered ≤ capacity; nobody waits while a seat is free; the open/full status says
what joining would do; a member has at most one live
enrollment; the waiting list is in first-come order.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from circlecare.enrollment import services
from circlecare.enrollment.models import LIVE, SEAT_HOLDING, Enrollment, EnrollmentStatus
from circlecare.errors import DomainError
from circlecare.programs.models import Cohort, CohortStatus
from tests.enrollment.factories import publish_consents, ready_member
from tests.factories import CohortFactory, UserFactory

pytestmark = pytest.mark.django_db

MEMBERS = 8
people = st.integers(0, MEMBERS - 1)


class Seats(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.cohort: Cohort = CohortFactory(capacity=3, min_size=1)
        self.members = [ready_member() for _ in range(MEMBERS)]
        self.coordinator = UserFactory(is_staff=True)
        self.clock = timezone.now()

    def live(self, index: int) -> Enrollment | None:
        return Enrollment.objects.filter(
            cohort=self.cohort, member=self.members[index], status__in=LIVE
        ).first()

    @rule(who=people)
    def enrol(self, who: int) -> None:
        try:
            services.enroll(member=self.members[who], cohort=self.cohort)
        except DomainError:
            assert self.live(who) is not None

    @rule(who=people, goodbye=st.sampled_from(["", "Thank you, everyone."]))
    def withdraw(self, who: int, goodbye: str) -> None:
        enrollment = self.live(who)
        if enrollment is not None:
            services.withdraw(enrollment=enrollment, goodbye=goodbye)

    @rule()
    def offer(self) -> None:
        services.offer_next_seat(cohort=self.cohort)

    @rule(who=people)
    def accept(self, who: int) -> None:
        enrollment = self.live(who)
        if enrollment is None:
            return
        try:
            services.accept_offer(enrollment=enrollment)
        except DomainError:
            assert enrollment.status != EnrollmentStatus.OFFERED or enrollment.offer_expires_at

    @rule(who=people)
    def decline(self, who: int) -> None:
        enrollment = self.live(who)
        if enrollment is not None and enrollment.status == EnrollmentStatus.OFFERED:
            services.decline_offer(enrollment=enrollment)

    @rule(hours=st.integers(0, 100))
    def time_passes_and_offers_expire(self, hours: int) -> None:
        self.clock += timedelta(hours=hours)
        services.expire_offers(now=self.clock)

    @rule(capacity=st.integers(-1, 8))
    def change_capacity(self, capacity: int) -> None:
        before = Cohort.objects.get(pk=self.cohort.pk).capacity
        try:
            services.change_capacity(cohort=self.cohort, capacity=capacity, actor=self.coordinator)
        except DomainError:
            assert Cohort.objects.get(pk=self.cohort.pk).capacity == before

    @invariant()
    def seats_never_oversold(self) -> None:
        capacity = Cohort.objects.get(pk=self.cohort.pk).capacity
        rows = list(Enrollment.objects.filter(cohort=self.cohort))
        held = sum(1 for e in rows if e.status in ("confirmed", "offered"))
        waiting = sum(1 for e in rows if e.status == "waitlisted")
        assert held <= capacity
        assert waiting == 0 or held == capacity, "someone waits while a seat is free"
        live_members = [e.member_id for e in rows if e.status in LIVE]
        assert len(live_members) == len(set(live_members))
        assert all(e.offer_expires_at for e in rows if e.status == "offered")

    @invariant()
    def the_status_says_what_joining_would_do(self) -> None:
        cohort = Cohort.objects.select_related("program").get(pk=self.cohort.pk)
        held = Enrollment.objects.filter(cohort=cohort, status__in=SEAT_HOLDING).count()
        assert cohort.status == (
            CohortStatus.FULL if cohort.is_full_with(held) else CohortStatus.OPEN
        )


def test_seat_invariant_holds_over_any_sequence() -> None:
    publish_consents()
    run_state_machine_as_test(
        Seats,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
