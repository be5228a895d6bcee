"""Self-repeating task chains: a task that, when it has run, queues its own next run.

The weekly care nudges (hourly runs) and the daily pruning of finished tasks keep exactly one run
waiting. Two callers at once (the deploy's ``--schedule`` command and a run finishing, or two
workers) must not both find nothing waiting and both queue one, or the chain would run twice
over from then on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connections, transaction
from django.db.models import Q
from django_tasks.base import TaskResultStatus


def enqueue_unless_waiting(
    task: Any, *, run_after: datetime, lock: int, waiting: Q | None = None
) -> bool:
    """Queue ``task`` to run at ``run_after`` unless a run of it not yet started (and matching
    ``waiting``) is queued already. Returns whether it queued one.

    ``lock`` is the chain's own PostgreSQL advisory-lock key, held for the check and the
    enqueue; SQLite's transactions start IMMEDIATE (settings.py), which already keeps a second
    caller out until the first one's ends."""
    from django_tasks_db.models import DBTaskResult

    db = DBTaskResult.objects.db
    with transaction.atomic(using=db, durable=True):
        connection = connections[db]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock])
        if DBTaskResult.objects.filter(
            waiting or Q(), task_path=task.module_path, status=TaskResultStatus.READY
        ).exists():
            return False
        task.using(run_after=run_after).enqueue()
    return True
