"""Remove old finished background tasks: see circlecare/task_history.py."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from circlecare.task_history import next_run_after, prune, schedule_next


class Command(BaseCommand):
    help = (
        "Remove finished background tasks older than TASK_RESULTS_KEEP_DAYS (successful) and "
        "TASK_FAILURES_KEEP_DAYS (failed). --schedule queues the self-repeating daily task for "
        "db_worker (safe to run on every deploy); --now prunes at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--schedule", action="store_true", help="Queue the daily task.")
        parser.add_argument("--now", action="store_true", help="Prune now.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["now"]:
            prune(verbosity=options["verbosity"])
            self.stdout.write(
                f"Removed successful tasks finished over {settings.TASK_RESULTS_KEEP_DAYS} "
                f"day(s) ago and failed ones over {settings.TASK_FAILURES_KEEP_DAYS} day(s) ago."
            )
        if options["schedule"] or not options["now"]:
            queued = schedule_next()
            when = next_run_after(timezone.now()).isoformat()
            self.stdout.write(
                f"Daily task pruning queued for {when}."
                if queued
                else "Daily task pruning already queued."
            )
