"""On PostgreSQL the database itself refuses to empty the note tables with TRUNCATE.

Row triggers (0002_signed_notes_are_final) do not fire on TRUNCATE, so the tables that hold
signed notes need a statement trigger of their own. The test suite empties every table between
transactional tests with TRUNCATE: it sets ``circlecare.allow_truncate`` to 'on' on its own
connections (tests/conftest.py). The application never sets it.
"""

from typing import Any

from django.db import migrations

TABLES = ("clinic_groupnote", "clinic_individualnote")

FORBID = """
CREATE OR REPLACE FUNCTION clinic_note_refuse_truncate() RETURNS trigger AS $$
BEGIN
    IF current_setting('circlecare.allow_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'signed notes are read-only: the note tables cannot be truncated';
END;
$$ LANGUAGE plpgsql;
"""

TRIGGER = """
DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};
CREATE TRIGGER {table}_no_truncate
    BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION clinic_note_refuse_truncate();
"""

ALLOW = "DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};"


def forward(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORBID)
        for table in TABLES:
            schema_editor.execute(TRIGGER.format(table=table))


def backward(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(ALLOW.format(table=table))
        schema_editor.execute("DROP FUNCTION IF EXISTS clinic_note_refuse_truncate();")


class Migration(migrations.Migration):
    dependencies = [("clinic", "0003_bind_encrypted_values_to_their_column")]
    operations = [migrations.RunPython(forward, backward)]
