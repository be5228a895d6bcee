"""SECURITY.md D6: a backup and restore round trip keeps every row, and encrypted text still decrypts."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection

from circlecare.audit.models import AuditEvent
from circlecare.clinic.management.commands.rotate_encryption_key import encrypted_fields
from circlecare.programs.models import Cohort
from tests.clinic.test_canaries import plant, read_back
from tests.factories import EnrollmentFactory, InquiryFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def snapshot() -> dict[str, tuple[int, str]]:
    """Row count and a checksum of every project table, read in primary-key order."""
    found = {}
    for model in apps.get_models():
        if not model._meta.label.startswith(("accounts.", "programs.", "enrollment.", "inquiries.",
                                             "practice.", "audit.", "measures.", "care.", "meetings.", "live.", "clinic.")):  # fmt: skip
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
    plant()  # a value in every encrypted field
    text = read_back()
    before = snapshot()
    assert before["enrollment.Enrollment"][0] == 5

    path = tmp_path / "circlecare.backup"
    call_command("backup", str(path))
    assert path.stat().st_size > 0

    # Damage the live data, then restore.
    UserFactory.create_batch(2)
    Cohort.objects.update(name="changed")
    call_command("restore", str(path), "--yes")
    connection.close()

    after = snapshot()
    # The one row a restore adds: its own event in the trail it brought back.
    assert after.pop("audit.AuditEvent")[0] == before.pop("audit.AuditEvent")[0] + 1
    assert after == before
    assert read_back() == text
    for model, fields in encrypted_fields():
        for obj in model.objects.all()[:20]:
            for field in fields:
                assert isinstance(getattr(obj, field.attname), str)


def test_a_restore_is_recorded_in_the_audit_trail_without_clinical_text(tmp_path: Path) -> None:
    InquiryFactory(message="canary-restore-text")
    path = tmp_path / "nightly.backup"
    call_command("backup", str(path))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    # Events written after the backup: the restore takes them out of the trail and says so.
    from circlecare.audit.models import AuditAction
    from circlecare.audit.services import record

    for _ in range(2):
        record(actor=None, action=AuditAction.INQUIRY_VIEWED, target=InquiryFactory())

    call_command("restore", str(path), "--yes")
    connection.close()

    event = AuditEvent.objects.get(action="database.restored")
    assert event.at is not None and event.actor is None
    assert (event.target_type, event.target_id) == ("database", "default")
    assert event.data["backup"] == "nightly.backup"
    assert event.data["sha256"] == digest
    assert event.data["audit_events_gone"] == 2
    assert "canary" not in str(event.data)


def test_restore_refuses_a_missing_file(tmp_path: Path) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("restore", str(tmp_path / "nope"), "--yes")
