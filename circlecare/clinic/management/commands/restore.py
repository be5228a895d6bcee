"""Restore a backup written by ``manage.py backup`` into the configured database, replacing its contents.

The restore leaves a ``database.restored`` event in the audit trail it brings back.
"""

from __future__ import annotations

import getpass
import hashlib
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection

from circlecare.audit.models import AuditEvent
from circlecare.audit.services import record_restore
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
        digest = _sha256(path)
        events_before = _audit_event_ids()
        self._restore(path)
        gone = len(events_before - _audit_event_ids())
        record_restore(backup_name=path.name, sha256=digest, run_by=_os_user(), events_gone=gone)
        self.stdout.write(self.style.SUCCESS(f"Restored from {path}"))
        if gone:
            self.stdout.write(
                self.style.WARNING(
                    f"{gone} audit event(s) written since this backup are no longer in the trail."
                )
            )

    def _restore(self, path: Path) -> None:
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
            subprocess.run(  # nosec B603  # noqa: S603
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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as backup:
        for chunk in iter(lambda: backup.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _audit_event_ids() -> set[int]:
    try:
        return set(AuditEvent.objects.values_list("pk", flat=True))
    except DatabaseError:  # restoring into an empty database: no trail to lose yet
        connection.close()
        return set()


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""
