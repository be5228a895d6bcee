"""Why a post was hidden, why a member reported it, and how a facilitator resolved the report are
kept encrypted at rest, as notes are; the rows written before are encrypted here."""

from typing import Any

from django.db import migrations

import circlecare.crypto

FIELDS = (("CarePost", "hidden_reason"), ("CareReport", "reason"), ("CareReport", "resolution_note"))


def encrypt(apps: Any, schema_editor: Any, *, reverse: bool = False) -> None:
    circlecare.crypto.encrypt_fields(apps, "care", FIELDS, reverse=reverse)


def decrypt(apps: Any, schema_editor: Any) -> None:
    encrypt(apps, schema_editor, reverse=True)


class Migration(migrations.Migration):
    dependencies = [
        ("care", "0006_call_off_when_post_hidden"),
    ]

    operations = [
        migrations.AlterField(
            model_name="carepost",
            name="hidden_reason",
            field=circlecare.crypto.EncryptedTextField(blank=True, max_length=500),
        ),
        migrations.AlterField(
            model_name="carereport",
            name="reason",
            field=circlecare.crypto.EncryptedTextField(max_length=500),
        ),
        migrations.AlterField(
            model_name="carereport",
            name="resolution_note",
            field=circlecare.crypto.EncryptedTextField(blank=True, max_length=300),
        ),
        # After the columns have become text (a value grows when encrypted), and, on the way
        # back, before they are narrowed again.
        migrations.RunPython(encrypt, decrypt),
    ]
