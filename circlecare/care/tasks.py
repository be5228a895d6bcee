"""Background work for relational care (run by `manage.py db_worker`)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django.utils import timezone
from django_tasks import task
from django_tasks.base import TaskResultStatus

from circlecare.care.nudges import send_weekly_nudges

#: Nudges go out on Mondays at 15:00 UTC: morning in the Americas, afternoon in Europe.
SEND_WEEKDAY = 0
SEND_TIME = time(15, 0)


def next_run_after(now: datetime) -> datetime:
    """The next Monday 15:00 UTC strictly after ``now``."""
    now = now.astimezone(UTC)
    days = (SEND_WEEKDAY - now.weekday()) % 7
    candidate = datetime.combine(now.date() + timedelta(days=days), SEND_TIME, tzinfo=UTC)
    if candidate <= now:
        candidate += timedelta(days=7)
    return candidate


def schedule_next(*, now: datetime | None = None) -> bool:
    """Queue the next weekly run unless one is already waiting. Returns whether it queued one."""
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    waiting = DBTaskResult.objects.filter(
        task_path=weekly_care_nudges.module_path,
        status=TaskResultStatus.READY,
        run_after__gt=now,
    ).exists()
    if waiting:
        return False
    weekly_care_nudges.using(run_after=next_run_after(now)).enqueue()
    return True


@task()
def weekly_care_nudges() -> int:
    """Send this week's "just because" nudges, then queue next week's run."""
    try:
        return send_weekly_nudges()
    finally:
        # Keep the weekly chain alive even if this week's sweep failed part-way.
        schedule_next()
