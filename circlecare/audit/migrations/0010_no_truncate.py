"""On PostgreSQL the database itself refuses to empty the audit table with TRUNCATE.

Row triggers (0002_append_only) do not fire on TRUNCATE, so it needs its own statement trigger.
The test suite empties every table between transactional tests with TRUNCATE: it sets
``circlecare.allow_truncate`` to 'on' on its own connections (tests/conftest.py). The
application never sets it.
"""

from typing import Any

from django.db import migrations

FORBID = """
CREATE OR REPLACE FUNCTION audit_event_refuse_truncate() RETURNS trigger AS $$
BEGIN
    IF current_setting('circlecare.allow_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: the table cannot be truncated';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;
CREATE TRIGGER audit_event_no_truncate
    BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_truncate();
"""

ALLOW = """
DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_event_refuse_truncate();
"""


def forward(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORBID)


def backward(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ALLOW)


class Migration(migrations.Migration):
    dependencies = [("audit", "0009_database_restored_action")]
    operations = [migrations.RunPython(forward, backward)]
