"""Every encrypted value is re-encrypted bound to its column (``v1`` values become ``v2``), so one
copied into another column no longer decrypts there (see ``circlecare.crypto``).

It depends on the latest migration of every app with an encrypted field and finds the fields on
the models as they stand here, so it covers them all. Each column is done in batches, each in its
own transaction (the migration itself is not one: a large table is not held locked throughout,
and a run stopped part way picks up where it was).

On PostgreSQL a signed note's text may change only when it is re-encrypted, which
``0002_signed_notes_are_final`` recognised by a new key id. Re-encrypting into the new format keeps
the key, so the check now lets the text change when the format or the key id changes.

Back: the values are re-encrypted as ``v1``, which the code from before reads, and the check is
put back as it was.
"""

from typing import Any

from django.db import connections, migrations

from circlecare.crypto import EncryptedTextField, bind_column

TABLES = ("clinic_groupnote", "clinic_individualnote")

CHECK = """
CREATE OR REPLACE FUNCTION clinic_signed_note_is_final() RETURNS trigger AS $$
BEGIN
    IF OLD.status <> 'signed' THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'signed notes cannot be deleted';
    END IF;
    IF (to_jsonb(NEW) - 'text') IS DISTINCT FROM (to_jsonb(OLD) - 'text') THEN
        RAISE EXCEPTION 'signed notes are read-only';
    END IF;
    IF NEW.text IS DISTINCT FROM OLD.text
       AND split_part(NEW.text, ':', 1) = split_part(OLD.text, ':', 1)
       AND split_part(NEW.text, ':', 2) = split_part(OLD.text, ':', 2) THEN
        RAISE EXCEPTION 'signed notes are read-only';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""

CHECK_BEFORE = CHECK.replace("       AND split_part(NEW.text, ':', 1) = split_part(OLD.text, ':', 1)\n", "")


def allow_new_format(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CHECK)


def allow_new_key_only(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CHECK_BEFORE)


def bind(apps: Any, schema_editor: Any, *, reverse: bool = False) -> None:
    models = sorted(apps.get_models(), key=lambda model: model._meta.label)
    for model in models:
        if model._meta.proxy or not model._meta.managed:
            continue
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if not fields:
            continue
        connection = connections[model._default_manager.db]
        for field in fields:
            bind_column(
                connection,
                model._meta.db_table,
                field.column,
                model._meta.pk.column,
                reverse=reverse,
            )
        if connection.in_atomic_block:
            # Inside an outer transaction a row updated twice (two of its fields) leaves its
            # foreign-key checks pending, which PostgreSQL refuses before altering the table.
            connection.check_constraints(table_names=[model._meta.db_table])


def unbind(apps: Any, schema_editor: Any) -> None:
    bind(apps, schema_editor, reverse=True)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("care", "0009_encrypt_post_words_and_thanks"),
        ("clinic", "0002_signed_notes_are_final"),
        ("enrollment", "0009_scrub_partner_invite_task_secrets"),
        ("inquiries", "0002_encrypt_message_and_notes"),
        ("live", "0003_encrypt_room_removal_reason"),
        ("measures", "0008_risk_alert_taken_back"),
    ]

    operations = [
        migrations.RunPython(allow_new_format, allow_new_key_only),
        migrations.RunPython(bind, unbind),
    ]
