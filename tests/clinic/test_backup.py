"""SECURITY.md D6: a backup and restore round trip keeps every row, and encrypted text still decrypts."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection

from circlecare.clinic.management.commands.rotate_encryption_key import encrypted_fields
from circlecare.programs.models import Cohort
from tests.factories import EnrollmentFactory, InquiryFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def snapshot() -> dict[str, tuple[int, str]]:
    """Row count and a checksum of every project table, read in primary-key order."""
    found = {}
    for model in apps.get_models():
        if not model._meta.label.startswith(("accounts.", "programs.", "enrollment.", "inquiries.",
                                             "practice.", "audit.", "measures.", "care.", "meetings.")):  # fmt: skip
            continue
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {table} ORDER BY 1")  # noqa: S608
            rows = cursor.fetchall()
        digest = hashlib.sha256(repr(rows).encode()).hexdigest()
        found[model._meta.label] = (len(rows), digest)
    return found


def test_backup_and_restore_round_trip(tmp_path: Path) -> None:
    EnrollmentFactory.create_batch(3)
    InquiryFactory(message="Wondering about evening groups ✨")
    before = snapshot()
    assert before["enrollment.Enrollment"][0] == 3

    path = tmp_path / "circlecare.backup"
    call_command("backup", str(path))
    assert path.stat().st_size > 0

    # Damage the live data, then restore.
    UserFactory.create_batch(2)
    Cohort.objects.update(name="changed")
    call_command("restore", str(path), "--yes")
    connection.close()

    assert snapshot() == before
    for model, fields in encrypted_fields():
        for obj in model.objects.all()[:20]:
            for field in fields:
                assert isinstance(getattr(obj, field.attname), str)


def test_restore_refuses_a_missing_file(tmp_path: Path) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("restore", str(tmp_path / "nope"), "--yes")
