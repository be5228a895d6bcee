from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from circlecare.measures.services import (
    escalate_overdue_alerts,
    schedule_all_cohorts,
    send_due_reminders,
)


class Command(BaseCommand):
    help = (
        "Create due questionnaires, send reminders and escalate overdue alerts. Idempotent: run "
        "it every few minutes from cron or a systemd timer."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        created = schedule_all_cohorts()
        reminded = send_due_reminders()
        escalated = escalate_overdue_alerts()
        self.stdout.write(
            f"{created} questionnaires now due, {reminded} members reminded, "
            f"{escalated} alerts escalated."
        )
