"""What a member writes on the care board (a post's title and details) and the thanks they send are
their own words about their struggles, kept encrypted at rest as journal entries are; the rows
written before are encrypted here."""

from typing import Any

from django.db import migrations

import circlecare.crypto

FIELDS = (("CarePost", "title"), ("CarePost", "details"), ("CareMatch", "thanks"))


def encrypt(apps: Any, schema_editor: Any) -> None:
    circlecare.crypto.encrypt_fields(apps, "care", FIELDS)


def decrypt(apps: Any, schema_editor: Any) -> None:
    circlecare.crypto.encrypt_fields(apps, "care", FIELDS, reverse=True)


class Migration(migrations.Migration):
    dependencies = [
        ("care", "0008_reflection_read_by"),
    ]

    operations = [
        migrations.AlterField(
            model_name="carepost",
            name="title",
            field=circlecare.crypto.EncryptedTextField(max_length=120),
        ),
        migrations.AlterField(
            model_name="carepost",
            name="details",
            field=circlecare.crypto.EncryptedTextField(blank=True, max_length=1000),
        ),
        migrations.AlterField(
            model_name="carematch",
            name="thanks",
            field=circlecare.crypto.EncryptedTextField(blank=True, max_length=500),
        ),
        # After the columns have become text (a value grows when encrypted), and, on the way
        # back, before they are narrowed again.
        migrations.RunPython(encrypt, decrypt),
    ]
