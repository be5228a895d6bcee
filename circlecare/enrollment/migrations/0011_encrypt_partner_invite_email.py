"""The address a member invited their partner at says whom they are in couples therapy with, and
the partner may have no account here: it is kept encrypted at rest; the invitations sent before
are encrypted here."""

from typing import Any

from django.db import migrations

import circlecare.crypto


def encrypt(apps: Any, schema_editor: Any, *, reverse: bool = False) -> None:
    circlecare.crypto.encrypt_fields(
        apps, "enrollment", [("PartnerInvite", "email")], reverse=reverse
    )


def decrypt(apps: Any, schema_editor: Any) -> None:
    encrypt(apps, schema_editor, reverse=True)


class Migration(migrations.Migration):
    dependencies = [
        ("enrollment", "0010_encrypt_signed_name"),
        # Written in the format bound to its column, so going back past the binding first
        # turns these back into clear text.
        ("clinic", "0003_bind_encrypted_values_to_their_column"),
    ]

    operations = [
        migrations.AlterField(
            model_name="partnerinvite",
            name="email",
            field=circlecare.crypto.EncryptedTextField(max_length=254),
        ),
        # After the column has become text (a value grows when encrypted), and, on the way back,
        # before it is narrowed again.
        migrations.RunPython(encrypt, decrypt),
    ]
