"""Finished background tasks leave the task table once they are old enough; waiting and running
ones never do; the daily prune keeps exactly one run of itself waiting."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from circlecare.meetings.tasks import send_meeting_reminders, sweep_reminders
from circlecare.task_history import (
    next_run_after,
    prune,
    prune_task_history,
    schedule_next,
)

READY, RUNNING = TaskResultStatus.READY, TaskResultStatus.RUNNING
SUCCESSFUL, FAILED = TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED


def a_task(status: str, *, days_ago: float, member_id: int = 7) -> DBTaskResult:
    """A reminder task for one member, enqueued ``days_ago`` and, unless still waiting or
    running, finished then too."""
    result = send_meeting_reminders.enqueue(member_id, "hour")
    when = timezone.now() - timedelta(days=days_ago)
    DBTaskResult.objects.filter(pk=result.id).update(
        status=status,
        enqueued_at=when,
        run_after=when,
        started_at=None if status == READY else when,
        finished_at=when if status in (SUCCESSFUL, FAILED) else None,
        traceback="SMTPRecipientsRefused: member@example.org" if status == FAILED else "",
    )
    return DBTaskResult.objects.get(pk=result.id)


def remaining(*rows: DBTaskResult) -> set[str]:
    return {
        str(pk)
        for pk in DBTaskResult.objects.filter(pk__in=[r.pk for r in rows]).values_list(
            "pk", flat=True
        )
    }


def waiting_prunes() -> Any:
    return DBTaskResult.objects.filter(task_path=prune_task_history.module_path, status=READY)


@pytest.mark.django_db
def test_old_successful_tasks_go_and_recent_ones_stay(settings: Any) -> None:
    settings.TASK_RESULTS_KEEP_DAYS = 14
    old = a_task(SUCCESSFUL, days_ago=15)
    older = a_task(SUCCESSFUL, days_ago=400)
    recent = a_task(SUCCESSFUL, days_ago=13)
    today = a_task(SUCCESSFUL, days_ago=0.01)
    prune(verbosity=0)
    assert remaining(old, older, recent, today) == {str(recent.pk), str(today.pk)}


@pytest.mark.django_db
def test_failed_tasks_are_kept_for_the_longer_period(settings: Any) -> None:
    settings.TASK_RESULTS_KEEP_DAYS = 14
    settings.TASK_FAILURES_KEEP_DAYS = 30
    failed_recently = a_task(FAILED, days_ago=20)
    failed_long_ago = a_task(FAILED, days_ago=31)
    succeeded = a_task(SUCCESSFUL, days_ago=20)
    prune(verbosity=0)
    assert remaining(failed_recently, failed_long_ago, succeeded) == {str(failed_recently.pk)}


@pytest.mark.django_db
def test_the_keep_periods_come_from_settings(settings: Any) -> None:
    settings.TASK_RESULTS_KEEP_DAYS = 3
    settings.TASK_FAILURES_KEEP_DAYS = 5
    kept = [a_task(SUCCESSFUL, days_ago=2), a_task(FAILED, days_ago=4)]
    gone = [a_task(SUCCESSFUL, days_ago=4), a_task(FAILED, days_ago=6)]
    prune(verbosity=0)
    assert remaining(*kept, *gone) == {str(r.pk) for r in kept}


@pytest.mark.django_db
def test_waiting_and_running_tasks_are_never_touched_however_old() -> None:
    waiting = a_task(READY, days_ago=400)
    running = a_task(RUNNING, days_ago=400)
    scheduled = sweep_reminders.using(run_after=timezone.now() + timedelta(days=1)).enqueue()
    prune(verbosity=0)
    assert remaining(waiting, running) == {str(waiting.pk), str(running.pk)}
    assert DBTaskResult.objects.filter(pk=scheduled.id, status=READY).exists()


@pytest.mark.django_db
def test_other_queues_are_pruned_too() -> None:
    row = a_task(SUCCESSFUL, days_ago=100)
    DBTaskResult.objects.filter(pk=row.pk).update(queue_name="mail")
    prune(verbosity=0)
    assert remaining(row) == set()


def test_the_next_run_is_the_next_3am_utc() -> None:
    assert next_run_after(datetime(2026, 12, 2, 2, 59, tzinfo=UTC)) == datetime(
        2026, 12, 2, 3, 0, tzinfo=UTC
    )
    assert next_run_after(datetime(2026, 12, 2, 3, 0, tzinfo=UTC)) == datetime(
        2026, 12, 3, 3, 0, tzinfo=UTC
    )
    assert next_run_after(datetime(2026, 12, 31, 22, 0, tzinfo=UTC)) == datetime(
        2027, 1, 1, 3, 0, tzinfo=UTC
    )


@pytest.mark.django_db
def test_scheduling_twice_keeps_one_waiting_run() -> None:
    assert schedule_next() is True
    assert schedule_next() is False
    assert waiting_prunes().count() == 1
    assert waiting_prunes().get().run_after == next_run_after(timezone.now())


@pytest.mark.django_db
def test_an_overdue_waiting_run_counts_as_waiting() -> None:
    # Queued for a moment that passed while no worker ran: it still runs, and queues the next.
    prune_task_history.using(run_after=timezone.now() - timedelta(hours=5)).enqueue()
    assert schedule_next() is False
    assert waiting_prunes().count() == 1


@pytest.mark.django_db
def test_the_command_schedules_once_and_prunes_now(settings: Any) -> None:
    settings.TASK_RESULTS_KEEP_DAYS = 14
    old = a_task(SUCCESSFUL, days_ago=20)
    out = io.StringIO()
    call_command("prune_task_history", "--schedule", stdout=out)
    call_command("prune_task_history", stdout=out)
    assert "queued for" in out.getvalue() and "already queued" in out.getvalue()
    assert waiting_prunes().count() == 1
    assert remaining(old) == {str(old.pk)}
    call_command("prune_task_history", "--now", verbosity=0, stdout=out)
    assert remaining(old) == set()
    assert waiting_prunes().count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_worker_prunes_and_leaves_one_waiting_run(
    run_worker: Callable[[], None], settings: Any
) -> None:
    settings.TASK_RESULTS_KEEP_DAYS = 14
    settings.TASK_FAILURES_KEEP_DAYS = 30
    old = a_task(SUCCESSFUL, days_ago=15)
    recent = a_task(SUCCESSFUL, days_ago=1)
    failed = a_task(FAILED, days_ago=20)
    old_failed = a_task(FAILED, days_ago=31)
    running = a_task(RUNNING, days_ago=60)
    later = sweep_reminders.using(run_after=timezone.now() + timedelta(hours=2)).enqueue()
    # Two runs queued at once (a deploy's command and a manual enqueue): one waiting run remains.
    prune_task_history.enqueue()
    prune_task_history.enqueue()

    run_worker()

    assert remaining(old, recent, failed, old_failed, running) == {
        str(recent.pk),
        str(failed.pk),
        str(running.pk),
    }
    assert DBTaskResult.objects.filter(pk=later.id, status=READY).exists()
    done = DBTaskResult.objects.filter(task_path=prune_task_history.module_path)
    assert done.filter(status=SUCCESSFUL).count() == 2
    assert waiting_prunes().count() == 1
    assert waiting_prunes().get().run_after == next_run_after(timezone.now())


@pytest.mark.django_db(transaction=True)
def test_a_failed_prune_still_queues_the_next_run(
    run_worker: Callable[[], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr("circlecare.task_history.prune", broken)
    prune_task_history.enqueue()
    run_worker()
    assert DBTaskResult.objects.filter(
        task_path=prune_task_history.module_path, status=FAILED
    ).exists()
    assert waiting_prunes().count() == 1
