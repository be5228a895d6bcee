"""On PostgreSQL the database itself refuses to change or delete a signed note.

Only the ciphertext of a signed note may change, and only when it is re-encrypted under another
key (the key id inside the stored value differs): that is what ``rotate_encryption_key`` does.
"""

from typing import Any

from django.db import migrations

TABLES = ("clinic_groupnote", "clinic_individualnote")

FORBID = """
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
       AND split_part(NEW.text, ':', 2) = split_part(OLD.text, ':', 2) THEN
        RAISE EXCEPTION 'signed notes are read-only';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""

TRIGGER = """
DROP TRIGGER IF EXISTS {table}_signed_is_final ON {table};
CREATE TRIGGER {table}_signed_is_final
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION clinic_signed_note_is_final();
"""

ALLOW = "DROP TRIGGER IF EXISTS {table}_signed_is_final ON {table};"


def forward(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORBID)
        for table in TABLES:
            schema_editor.execute(TRIGGER.format(table=table))


def backward(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(ALLOW.format(table=table))
        schema_editor.execute("DROP FUNCTION IF EXISTS clinic_signed_note_is_final();")


class Migration(migrations.Migration):
    dependencies = [("clinic", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
