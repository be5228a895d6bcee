"""Who wrote to the practice (the name and e-mail address they gave) is kept encrypted at rest, as
what they wrote is. A keyed digest of the address (``crypto.lookup_digest``) is kept beside it, so
the messages someone sent can still be found by their address; the rows written before are
encrypted, and given their digest, here."""

from typing import Any

from django.db import connections, migrations, models

import circlecare.crypto

FIELDS = ("name", "email")
BATCH = 500


def encrypt(apps: Any, schema_editor: Any) -> None:
    circlecare.crypto.encrypt_fields(apps, "inquiries", [("Inquiry", field) for field in FIELDS])
    inquiry = apps.get_model("inquiries", "Inquiry")
    # Read through the field, now that every address is encrypted, in batches (not a cursor
    # left open over the rows being written); only those without the right digest are written,
    # so a second run changes nothing.
    rows = inquiry.objects.order_by("pk").values_list("pk", "email", "email_digest")
    last = 0
    while batch := list(rows.filter(pk__gt=last)[:BATCH]):
        for pk, email, digest in batch:
            wanted = circlecare.crypto.lookup_digest(email)
            if digest != wanted:
                inquiry.objects.filter(pk=pk).update(email_digest=wanted)
        last = batch[-1][0]
    connections[inquiry.objects.db].check_constraints(table_names=[inquiry._meta.db_table])


def decrypt(apps: Any, schema_editor: Any) -> None:
    circlecare.crypto.encrypt_fields(
        apps, "inquiries", [("Inquiry", field) for field in FIELDS], reverse=True
    )


class Migration(migrations.Migration):
    dependencies = [
        ("inquiries", "0002_encrypt_message_and_notes"),
        # Written in the format bound to its column, so going back past the binding first
        # turns these back into clear text.
        ("clinic", "0003_bind_encrypted_values_to_their_column"),
    ]

    operations = [
        migrations.AddField(
            model_name="inquiry",
            name="email_digest",
            field=models.CharField(db_index=True, default="", editable=False, max_length=64),
        ),
        migrations.AlterField(
            model_name="inquiry",
            name="name",
            field=circlecare.crypto.EncryptedTextField(max_length=100),
        ),
        migrations.AlterField(
            model_name="inquiry",
            name="email",
            field=circlecare.crypto.EncryptedTextField(max_length=254),
        ),
        # After the columns have become text (a value grows when encrypted), and, on the way
        # back, before they are narrowed again.
        migrations.RunPython(encrypt, decrypt),
    ]
