"""The self-repeating task chains (circlecare.chains): two schedulers at once queue one run."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from django.db import connections, transaction
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from circlecare import task_history
from circlecare.care import tasks as care_tasks
from tests.conftest import requires_postgres, someone_waits_for_a_lock


def chains() -> list[Any]:
    return [
        pytest.param(
            task_history.schedule_next,
            task_history.prune_task_history,
            task_history.next_run_after,
            task_history.SCHEDULE_LOCK,
            id="task-pruning",
        ),
        pytest.param(
            care_tasks.schedule_next,
            care_tasks.weekly_care_nudges,
            care_tasks.next_run_after,
            care_tasks.SCHEDULE_LOCK,
            id="care-nudges",
        ),
    ]


def test_each_chain_has_its_own_lock() -> None:
    locks = [p.values[3] for p in chains()]
    assert len(set(locks)) == len(locks)


@requires_postgres()
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("schedule_next", "task", "next_run_after", "lock"), chains())
def test_two_schedulers_at_once_queue_one_run(
    schedule_next: Callable[[], bool],
    task: Any,
    next_run_after: Callable[[datetime], datetime],
    lock: int,
) -> None:
    """The deploy's command and a finishing run may check for a waiting run at the same moment:
    the second waits for the first and then finds its run."""
    results: list[bool] = []

    def scheduler() -> None:
        try:
            results.append(schedule_next())
        finally:
            connections.close_all()

    with transaction.atomic():
        # Hold the lock a first scheduler holds between its check and its enqueue.
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock])
        second = threading.Thread(target=scheduler)
        second.start()
        try:
            waited = someone_waits_for_a_lock(second.is_alive)
        finally:
            task.using(run_after=next_run_after(timezone.now())).enqueue()
    second.join(timeout=30)
    assert waited
    assert results == [False]
    waiting = DBTaskResult.objects.filter(task_path=task.module_path, status=TaskResultStatus.READY)
    assert waiting.count() == 1
