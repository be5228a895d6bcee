from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from circlecare.care.nudges import send_weekly_nudges
from circlecare.care.tasks import next_run_after, schedule_next


class Command(BaseCommand):
    help = (
        'Weekly "just because" nudges, each arriving on the member\'s own Monday morning. '
        "--schedule queues the self-repeating hourly task for db_worker (safe to run on every "
        "deploy); --now sends, at once, every nudge that is due this week and not yet sent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--schedule", action="store_true", help="Queue the hourly task.")
        parser.add_argument(
            "--now", action="store_true", help="Send this week's due nudges not yet sent."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["now"]:
            sent = send_weekly_nudges()
            self.stdout.write(f"Sent {sent} nudge(s) for this week.")
        if options["schedule"] or not options["now"]:
            queued = schedule_next()
            when = next_run_after(timezone.now()).isoformat()
            self.stdout.write(
                f"Nudge runs queued, hourly from {when}."
                if queued
                else "Nudge runs already queued."
            )
