from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.db.backends.signals import connection_created

from circlecare.audit.models import AuditAction, AuditEvent
from circlecare.audit.services import record
from tests.conftest import allow_truncate, truncate_as_the_application
from tests.factories import InquiryFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_record_writes_one_event_with_ids_only() -> None:
    actor, member = UserFactory(is_staff=True), UserFactory()
    inquiry = InquiryFactory()
    event = record(actor=actor, action=AuditAction.INQUIRY_VIEWED, target=inquiry, subject=member)
    assert AuditEvent.objects.count() == 1
    assert (event.actor, event.subject, event.target_type, event.target_id) == (
        actor,
        member,
        "inquiries.inquiry",
        str(inquiry.pk),
    )
    assert event.at.tzinfo is not None


def test_the_application_cannot_change_or_delete_events() -> None:
    event = record(actor=UserFactory(), action=AuditAction.INQUIRY_VIEWED, target=InquiryFactory())
    event.action = AuditAction.NOTE_CHANGED
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()


def test_the_application_cannot_change_or_delete_events_in_bulk_either() -> None:
    """On every database, not only where a PostgreSQL trigger stands behind it."""
    event = record(actor=UserFactory(), action=AuditAction.INQUIRY_VIEWED, target=InquiryFactory())
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(action=AuditAction.NOTE_CHANGED)
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    event.action = AuditAction.NOTE_CHANGED
    with pytest.raises(PermissionError):
        AuditEvent.objects.bulk_update([event], ["action"])
    stored = AuditEvent.objects.get()
    assert (stored.pk, stored.action) == (event.pk, AuditAction.INQUIRY_VIEWED)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="database triggers are PostgreSQL-only"
)
def test_postgres_refuses_updates_and_deletes_even_in_raw_sql() -> None:
    record(actor=UserFactory(), action=AuditAction.INQUIRY_VIEWED, target=InquiryFactory())
    for statement in ("UPDATE audit_auditevent SET action = 'x'", "DELETE FROM audit_auditevent"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert AuditEvent.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="database triggers are PostgreSQL-only"
)
def test_postgres_refuses_to_truncate_the_audit_table() -> None:
    record(actor=UserFactory(), action=AuditAction.INQUIRY_VIEWED, target=InquiryFactory())
    with pytest.raises(DatabaseError, match="audit events are append-only"):
        truncate_as_the_application("TRUNCATE audit_auditevent")
    assert AuditEvent.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="database triggers are PostgreSQL-only"
)
def test_a_connection_made_as_the_application_makes_one_may_not_truncate() -> None:
    """Only the test suite lets TRUNCATE through: nothing in the settings or the application
    turns the allowance on for a connection of its own."""
    connection_created.disconnect(dispatch_uid="circlecare-tests-allow-truncate")
    plain = connections.create_connection("default")
    try:
        with plain.cursor() as cursor:
            cursor.execute("SELECT current_setting('circlecare.allow_truncate', true)")
            assert cursor.fetchone()[0] in (None, "")
            # A lock wait would end in a different error, not a pass.
            cursor.execute("SET lock_timeout = '10s'")
            for table, refusal in (
                ("audit_auditevent", "audit events are append-only"),
                ("clinic_groupnote, clinic_individualnote", "signed notes are read-only"),
            ):
                with pytest.raises(DatabaseError, match=refusal):
                    cursor.execute(f"TRUNCATE {table}")
    finally:
        plain.close()
        connection_created.connect(allow_truncate, dispatch_uid="circlecare-tests-allow-truncate")


def test_a_user_with_audit_history_cannot_be_deleted() -> None:
    from django.db.models import ProtectedError

    actor = UserFactory()
    record(actor=actor, action=AuditAction.INQUIRY_VIEWED, target=InquiryFactory())
    with pytest.raises(ProtectedError):
        actor.delete()
