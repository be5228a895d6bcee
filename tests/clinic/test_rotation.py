"""``rotate_encryption_key`` re-encrypts every encrypted field, the free text encrypted later too."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from circlecare.clinic.management.commands.rotate_encryption_key import encrypted_fields
from circlecare.crypto import needs_rotation
from tests.clinic.test_canaries import plant, read_back

pytestmark = pytest.mark.django_db

#: The free text turned into encrypted fields after the first ones (notes, answers, reflections).
LATER = {
    "care.CarePost.hidden_reason",
    "enrollment.Enrollment.removal_reason",
    "care.CareReport.reason",
    "care.CareReport.resolution_note",
    "inquiries.Inquiry.message",
    "inquiries.Inquiry.coordinator_notes",
    "live.RoomRemoval.reason",
}


def stored_values() -> dict[str, list[str]]:
    found = {}
    for model, fields in encrypted_fields():
        table = connection.ops.quote_name(model._meta.db_table)
        for field in fields:
            column = connection.ops.quote_name(field.column)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {column} FROM {table} WHERE {column} <> ''")  # noqa: S608
                found[f"{model._meta.label}.{field.name}"] = [row[0] for row in cursor.fetchall()]
    return found


def test_rotation_reencrypts_every_encrypted_field(settings: Any) -> None:
    plant()
    before = read_back()
    assert set(stored_values()) >= LATER

    old_key = settings.FIELD_ENCRYPTION_KEY
    settings.FIELD_ENCRYPTION_KEY = "A" * 43
    settings.FIELD_ENCRYPTION_OLD_KEYS = [old_key]
    for name in LATER:
        assert stored_values()[name] and all(needs_rotation(v) for v in stored_values()[name])
    out = StringIO()
    call_command("rotate_encryption_key", stdout=out)
    assert "live.RoomRemoval.reason: 1 re-encrypted" in out.getvalue()

    left = {
        name: v for name, values in stored_values().items() for v in values if needs_rotation(v)
    }
    assert left == {}
    # Readable with the new key alone.
    settings.FIELD_ENCRYPTION_OLD_KEYS = []
    assert read_back() == before
