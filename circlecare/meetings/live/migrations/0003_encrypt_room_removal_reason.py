"""Why a facilitator removed someone from a meeting is kept encrypted at rest, as notes are; the
rows written before are encrypted here."""

from typing import Any

from django.db import migrations

import circlecare.crypto


def encrypt(apps: Any, schema_editor: Any, *, reverse: bool = False) -> None:
    circlecare.crypto.encrypt_fields(apps, "live", [("RoomRemoval", "reason")], reverse=reverse)


def decrypt(apps: Any, schema_editor: Any) -> None:
    encrypt(apps, schema_editor, reverse=True)


class Migration(migrations.Migration):
    dependencies = [
        ("live", "0002_roompresence_last_seen_at"),
    ]

    operations = [
        migrations.AlterField(
            model_name="roomremoval",
            name="reason",
            field=circlecare.crypto.EncryptedTextField(max_length=500),
        ),
        # After the column has become text (a value grows when encrypted), and, on the way back,
        # before it is narrowed again.
        migrations.RunPython(encrypt, decrypt),
    ]
