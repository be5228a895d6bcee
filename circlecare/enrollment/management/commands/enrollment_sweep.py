"""The periodic safety net for seats: expire lapsed offers, offer free seats to people waiting
for them, alert about under-minimum groups, and move groups on to running (at their first
meeting) and finished (after their last).

Offers also expire through their own delayed task; this catches anything a stopped worker missed.
Idempotent and safe to run concurrently: ``manage.py enrollment_sweep`` (e.g. hourly), or
``--enqueue`` to hand the sweep to the task worker.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from circlecare.enrollment import tasks
from circlecare.enrollment.services import advance_cohorts, expire_offers, offer_waiting_seats


class Command(BaseCommand):
    help = (
        "Expire lapsed seat offers, offer free seats to people waiting, alert coordinators about "
        "groups under their minimum, and move groups on to running and finished."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--enqueue", action="store_true", help="Queue it for the worker.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["enqueue"]:
            tasks.sweep.enqueue()
            self.stdout.write("Sweep queued.")
            return
        expired = expire_offers()
        offered = offer_waiting_seats()
        alerted = tasks.alert_under_minimum()
        moved = advance_cohorts()
        self.stdout.write(
            f"{expired} offer(s) expired, {offered} seat(s) offered, {alerted} under-minimum "
            f"alert(s) sent, {moved} group(s) moved on."
        )
