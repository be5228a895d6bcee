"""Finished background tasks are removed from the task table once they are old enough.

Every task the worker runs stays in ``django_tasks_db``'s table after it finishes, with its
arguments and its result or error: which member was sent which e-mail and when, and a failed
send's error text can name an address. Kept for ever, that is a growing history of members
nobody needs.

Once a day (at 03:00 UTC) the task `prune_task_history` has django-tasks-db's own
``prune_db_task_results`` remove successful tasks that finished more than
``TASK_RESULTS_KEEP_DAYS`` ago, and failed ones after ``TASK_FAILURES_KEEP_DAYS`` (longer, so
there is time to look into a failure). Tasks waiting or running are never touched. The task then
queues tomorrow's run, unless one is already waiting, so the chain holds one waiting task.

Start the chain once after each deploy with ``python manage.py prune_task_history --schedule``
(``deploy/bin/release.sh`` does, safe to repeat) and keep a ``manage.py db_worker`` running;
``python manage.py prune_task_history --now`` prunes at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from django_tasks import task

from circlecare.chains import enqueue_unless_waiting

#: A quiet hour for the practice's members: late evening in the Americas, night in Europe.
RUN_TIME = time(3, 0)
#: This chain's advisory lock (``chains.enqueue_unless_waiting``): an arbitrary constant, unique
#: among the project's advisory locks.
SCHEDULE_LOCK = 7_304_215_001


def next_run_after(now: datetime) -> datetime:
    """The next 03:00 UTC strictly after ``now``."""
    now = now.astimezone(UTC)
    candidate = datetime.combine(now.date(), RUN_TIME, tzinfo=UTC)
    if candidate <= now:
        candidate += timedelta(days=1)
    return candidate


def prune(*, verbosity: int = 1) -> None:
    """Remove finished tasks older than the keep periods, from every queue. Waiting and running
    tasks are left alone: the library's command only ever selects successful and failed ones."""
    call_command(
        "prune_db_task_results",
        queue_name="*",
        min_age_days=settings.TASK_RESULTS_KEEP_DAYS,
        failed_min_age_days=settings.TASK_FAILURES_KEEP_DAYS,
        verbosity=verbosity,
    )


def schedule_next(*, now: datetime | None = None) -> bool:
    """Queue the next daily run unless one is already waiting. Returns whether it queued one.

    A waiting run is any not yet started, even one whose moment has passed while no worker was
    running: it will run and queue the next itself. Two callers at once (the deploy's command
    and a run finishing) queue at most one between them."""
    return enqueue_unless_waiting(
        prune_task_history,
        run_after=next_run_after(now or timezone.now()),
        lock=SCHEDULE_LOCK,
    )


@task()
def prune_task_history() -> None:
    """Remove old finished tasks, then queue tomorrow's run."""
    try:
        prune()
    finally:
        # Keep the daily chain alive even if today's prune failed.
        schedule_next()
