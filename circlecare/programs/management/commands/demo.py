from __future__ import annotations

import importlib
from typing import Any

from django.core.management.base import BaseCommand

from circlecare.programs.demo import DEMO_PASSWORD, seed

#: Apps that add to the demo practice, in order. Each has ``circlecare.<app>.demo.seed_demo()``,
#: idempotent, returning a short line for the console.
EXTRA_SEEDERS = ("enrollment", "meetings", "measures", "care", "clinic")


class Command(BaseCommand):
    help = "Seed the demo practice (made-up people and groups). Safe to run more than once."

    def handle(self, *args: Any, **options: Any) -> None:
        seeded = seed()
        self.stdout.write(
            self.style.SUCCESS(f"Demo practice ready ({seeded.created} new accounts).")
        )
        for app in EXTRA_SEEDERS:
            try:
                module = importlib.import_module(f"circlecare.{app}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"circlecare.{app}.demo":
                    raise
                continue
            line = module.seed_demo()
            if line:
                self.stdout.write(f"  {line}")
        self.stdout.write("Every demo account uses the password: " + DEMO_PASSWORD)
        for role, email in seeded.accounts:
            self.stdout.write(f"  {email:<40} {role}")
