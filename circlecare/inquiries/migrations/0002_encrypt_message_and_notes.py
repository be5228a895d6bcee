"""What a visitor wrote to the practice, and the coordinators' notes on it, are kept encrypted at
rest (a message can hold a disclosure); the rows written before are encrypted here."""

from typing import Any

from django.db import migrations

import circlecare.crypto

FIELDS = ("message", "coordinator_notes")


def encrypt(apps: Any, schema_editor: Any, *, reverse: bool = False) -> None:
    circlecare.crypto.encrypt_fields(
        apps, "inquiries", [("Inquiry", field) for field in FIELDS], reverse=reverse
    )


def decrypt(apps: Any, schema_editor: Any) -> None:
    encrypt(apps, schema_editor, reverse=True)


class Migration(migrations.Migration):
    dependencies = [
        ("inquiries", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="inquiry",
            name="coordinator_notes",
            field=circlecare.crypto.EncryptedTextField(blank=True),
        ),
        migrations.AlterField(
            model_name="inquiry",
            name="message",
            field=circlecare.crypto.EncryptedTextField(blank=True, max_length=5000),
        ),
        migrations.RunPython(encrypt, decrypt),
    ]
