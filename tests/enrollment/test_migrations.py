"""Data migrations of enrollment, run on the models as they were."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from circlecare.enrollment.models import EnrollmentStatus
from circlecare.programs.models import Cohort, CohortStatus
from tests.factories import CohortFactory, EnrollmentFactory, ProgramFactory
from tests.migrations import run_python, writes

pytestmark = pytest.mark.django_db

FULL = ("enrollment", "0004_couples_groups_full", "mark_full")


def status_of(cohort: Cohort) -> str:
    cohort.refresh_from_db()
    return cohort.status


def test_open_couples_groups_with_no_room_for_a_couple_become_full() -> None:
    couples = ProgramFactory(for_couples=True)
    one_seat = CohortFactory(program=couples, capacity=3)
    EnrollmentFactory.create_batch(2, cohort=one_seat)
    offered = CohortFactory(program=couples, capacity=4)
    EnrollmentFactory.create_batch(2, cohort=offered)
    EnrollmentFactory(
        cohort=offered,
        status=EnrollmentStatus.OFFERED,
        confirmed_at=None,
        offered_at=timezone.now(),
        offer_expires_at=timezone.now() + timedelta(days=1),
    )
    room = CohortFactory(program=couples, capacity=4)
    EnrollmentFactory.create_batch(2, cohort=room)
    EnrollmentFactory(cohort=room, status=EnrollmentStatus.WITHDRAWN, ended_at=timezone.now())
    single = CohortFactory(capacity=3)
    EnrollmentFactory.create_batch(2, cohort=single)
    running = CohortFactory(program=couples, capacity=3, status=CohortStatus.RUNNING)
    EnrollmentFactory.create_batch(2, cohort=running)
    run_python(*FULL)
    assert [status_of(c) for c in (one_seat, offered, room, single, running)] == [
        CohortStatus.FULL,
        CohortStatus.FULL,
        CohortStatus.OPEN,
        CohortStatus.OPEN,
        CohortStatus.RUNNING,
    ]
    # Run again: nothing left to change.
    assert writes(run_python(*FULL)) == []
