from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from circlecare.care.nudges import send_weekly_nudges
from circlecare.care.tasks import next_run_after, schedule_next


class Command(BaseCommand):
    help = (
        'Weekly "just because" nudges. --schedule queues the self-repeating weekly task for '
        "db_worker (safe to run on every deploy); --now sends this week's nudges at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--schedule", action="store_true", help="Queue the weekly task.")
        parser.add_argument("--now", action="store_true", help="Run this week's sweep now.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["now"]:
            sent = send_weekly_nudges()
            self.stdout.write(f"Sent {sent} nudge(s) for this week.")
        if options["schedule"] or not options["now"]:
            from django.utils import timezone

            queued = schedule_next()
            when = next_run_after(timezone.now()).isoformat()
            self.stdout.write(
                f"Weekly nudges queued for {when}." if queued else "Weekly nudges already queued."
            )
