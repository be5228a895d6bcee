"""Back up the database to one file: pg_dump's custom format on PostgreSQL, an online copy on SQLite.

Encrypted fields stay encrypted in the backup; keep FIELD_ENCRYPTION_KEY (and any old keys) safe
separately, or the clinical text in a backup cannot be read.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection


def pg_env() -> tuple[list[str], dict[str, str]]:
    import os

    s = connection.settings_dict
    args = ["--host", s.get("HOST") or "localhost", "--port", str(s.get("PORT") or 5432)]
    if s.get("USER"):
        args += ["--username", s["USER"]]
    env = dict(os.environ)
    if s.get("PASSWORD"):
        env["PGPASSWORD"] = s["PASSWORD"]
    return args, env


class Command(BaseCommand):
    help = "Write a backup of the database to PATH."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", type=Path)

    def handle(self, *args: Any, path: Path, **options: Any) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if connection.vendor == "postgresql":
            if not shutil.which("pg_dump"):
                raise CommandError("pg_dump is not installed.")
            base, env = pg_env()
            cmd = ["pg_dump", *base, "--format=custom", "--no-owner", "--file", str(path)]
            subprocess.run([*cmd, connection.settings_dict["NAME"]], check=True, env=env)  # nosec B603  # noqa: S603
        elif connection.vendor == "sqlite":
            connection.ensure_connection()
            target = sqlite3.connect(path)
            try:
                connection.connection.backup(target)
            finally:
                target.close()
        else:
            raise CommandError(f"No backup method for {connection.vendor}.")
        self.stdout.write(self.style.SUCCESS(f"Backup written to {path}"))
