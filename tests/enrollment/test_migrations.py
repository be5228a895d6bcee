"""Data migrations of enrollment, run on the models as they were."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

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


SCRUB = ("enrollment", "0009_scrub_partner_invite_task_secrets", "scrub")


def test_finished_invitation_email_tasks_no_longer_hold_the_link_secret() -> None:
    """Tasks the previous release queued with the invitation's link secret: those finished
    keep only the invitation's id; those still to run, and other tasks, are left as they are."""
    from django_tasks_db.models import DBTaskResult

    from circlecare.enrollment import tasks

    def queued(task: Any, *args: Any, status: str) -> Any:
        row = DBTaskResult.objects.get(pk=task.enqueue(*args).id)
        DBTaskResult.objects.filter(pk=row.pk).update(status=status)
        return row.pk

    sent = queued(tasks.send_partner_invite, 1, "secret-sent", status="SUCCESSFUL")
    failed = queued(tasks.send_partner_invite, 2, "secret-failed", status="FAILED")
    waiting = queued(tasks.send_partner_invite, 3, "secret-waiting", status="READY")
    running = queued(tasks.send_partner_invite, 4, "secret-running", status="RUNNING")
    fresh = queued(tasks.send_partner_invite, 5, status="SUCCESSFUL")
    other = queued(tasks.send_enrollment_email, 6, "confirmed", status="SUCCESSFUL")
    run_python(*SCRUB)
    stored = dict(DBTaskResult.objects.values_list("pk", "args_kwargs"))
    assert [stored[pk]["args"] for pk in (sent, failed, waiting, running, fresh, other)] == [
        [1],
        [2],
        [3, "secret-waiting"],
        [4, "secret-running"],
        [5],
        [6, "confirmed"],
    ]
    # Run again: nothing left to change.
    assert writes(run_python(*SCRUB)) == []
