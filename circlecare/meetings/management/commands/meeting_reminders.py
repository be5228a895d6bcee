"""Send due meeting reminders: run it every few minutes (cron, a systemd timer, …).

Each meeting's reminders are also queued as delayed tasks when the meeting is created or moved;
this sweep catches whatever those missed (a worker that was down or killed mid-run). It is safe
to run at any time and as often as you like: every reminder is claimed once (see reminders.py).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from circlecare.meetings import reminders, tasks


class Command(BaseCommand):
    help = "Send meeting reminders that are due and not yet sent (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="Queue the sweep for the task worker instead of running it here.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["enqueue"]:
            tasks.sweep_reminders.enqueue()
            self.stdout.write("Reminder sweep queued.")
            return
        sent = reminders.sweep()
        self.stdout.write(f"{sent} reminder(s) sent.")
