"""Restore a backup written by ``manage.py backup`` into the configured database, replacing its contents."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from circlecare.clinic.management.commands.backup import pg_env


class Command(BaseCommand):
    help = "Replace the database's contents with the backup at PATH."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args: Any, path: Path, yes: bool, **options: Any) -> None:
        if not path.exists():
            raise CommandError(f"No backup at {path}.")
        if not yes:
            answer = input(
                f"This replaces everything in the database with {path}. Type 'restore': "
            )
            if answer.strip() != "restore":
                raise CommandError("Cancelled; nothing changed.")
        if connection.vendor == "postgresql":
            if not shutil.which("pg_restore"):
                raise CommandError("pg_restore is not installed.")
            base, env = pg_env()
            connection.close()
            cmd = [
                "pg_restore",
                *base,
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
            ]
            subprocess.run(  # noqa: S603
                [*cmd, "--dbname", connection.settings_dict["NAME"], str(path)], check=True, env=env
            )
        elif connection.vendor == "sqlite":
            connection.ensure_connection()
            source = sqlite3.connect(path)
            try:
                source.backup(connection.connection)
            finally:
                source.close()
        else:
            raise CommandError(f"No restore method for {connection.vendor}.")
        self.stdout.write(self.style.SUCCESS(f"Restored from {path}"))
