"""The migrations that turned free text into encrypted fields: rows written in the clear before are
encrypted (and only once), and going back decrypts them."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import connection, models
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from circlecare.care.models import CareReport, Reflection
from circlecare.clinic.models import GroupNote
from circlecare.clinic.services import sign_note
from circlecare.crypto import ValueNotForHere, is_encrypted, keyring, lookup_digest
from circlecare.enrollment.models import (
    GROUP_CANCELLED,
    PARTNER_REMOVED,
    REMOVED_BY_PRACTICE,
    WITHDREW,
    ConsentSignature,
    Enrollment,
    EnrollmentStatus,
    PartnerInvite,
    removed_by_practice,
)
from circlecare.inquiries.models import Inquiry
from circlecare.meetings.live.models import RoomRemoval
from tests.care.factories import CarePostFactory
from tests.clinic.test_canaries import NOTE, plant, read_back
from tests.clinic.test_rotation import as_before_the_binding, stored_values
from tests.enrollment.factories import ConsentDocumentFactory
from tests.factories import EnrollmentFactory, InquiryFactory, UserFactory
from tests.meetings.factories import meeting_at
from tests.migrations import run_python, writes
from tests.test_crypto import copy_raw

pytestmark = pytest.mark.django_db

MIGRATIONS = [
    ("care", "0007_encrypt_report_and_hidden_reasons"),
    ("inquiries", "0002_encrypt_message_and_notes"),
    ("live", "0003_encrypt_room_removal_reason"),
    ("enrollment", "0010_encrypt_signed_name"),
    ("inquiries", "0003_encrypt_name_and_email"),
    ("enrollment", "0011_encrypt_partner_invite_email"),
]


def raw(obj: models.Model, field: str) -> str:
    table = connection.ops.quote_name(obj._meta.db_table)
    column = connection.ops.quote_name(obj._meta.get_field(field).column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [obj.pk])  # noqa: S608
        return str(cursor.fetchone()[0])


def write_clear(obj: models.Model, field: str, text: str) -> None:
    """Put ``text`` in the column as the field stored it before it was encrypted."""
    table = connection.ops.quote_name(obj._meta.db_table)
    column = connection.ops.quote_name(obj._meta.get_field(field).column)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [text, obj.pk])  # noqa: S608


def partner_invite(enrollment: Enrollment, email: str) -> PartnerInvite:
    """An invitation the member sent their partner (to ``email``) to join the group together."""
    return PartnerInvite.objects.create(
        cohort=enrollment.cohort, inviter=enrollment.member, email=email,
        token_hash=f"{enrollment.pk:064d}", expires_at=timezone.now() + timedelta(days=14),
    )  # fmt: skip


def clear_rows() -> list[tuple[models.Model, str, str]]:
    enrollment = EnrollmentFactory()
    cohort = enrollment.cohort
    meeting = meeting_at(cohort, timezone.now())
    removal = RoomRemoval.objects.create(
        meeting=meeting, user=enrollment.member, removed_by=cohort.lead, reason="x"
    )
    post = CarePostFactory(
        cohort=cohort, hidden_at=timezone.now(), hidden_by=cohort.lead, hidden_reason="x"
    )
    report = CareReport.objects.create(
        post=post, reporter=UserFactory(), reason="x", resolved_at=timezone.now(),
        resolution_note="x",
    )  # fmt: skip
    open_report = CareReport.objects.create(post=post, reporter=UserFactory(), reason="x")
    inquiry = InquiryFactory(coordinator_notes="x")
    signature = ConsentSignature.objects.create(
        member=enrollment.member, document=ConsentDocumentFactory(),
        signed_at=timezone.now(), signed_name="x",
    )  # fmt: skip
    invite = partner_invite(enrollment, "x@example.org")
    # As an inquiry was stored before its address had a digest.
    write_clear(inquiry, "email_digest", "")
    rows = [
        (removal, "reason", "Shouted at another member"),
        (post, "hidden_reason", "Gives a home address"),
        (report, "reason", "They sound unsafe tonight"),
        (report, "resolution_note", "Called them; they are safe"),
        (open_report, "reason", "v1:abc:looks like a token"),
        (inquiry, "message", "I was in hospital last month"),
        (inquiry, "coordinator_notes", "Wants an evening group"),
        (inquiry, "name", "Sam Example"),
        (inquiry, "email", "Sam@Example.org"),
        (signature, "signed_name", "Sam Example"),
        (invite, "email", "Bo@Example.org"),
    ]
    for obj, field, text in rows:
        write_clear(obj, field, text)
    return rows


def test_existing_clear_text_is_encrypted_once_and_decrypted_on_the_way_back() -> None:
    rows = clear_rows()
    untouched_blank = CarePostFactory()

    for app, migration in MIGRATIONS:
        run_python(app, migration, "encrypt")
    for obj, field, text in rows:
        stored = raw(obj, field)
        assert text not in stored and is_encrypted(stored) and stored.startswith("v2:")
        obj.refresh_from_db()  # which reads it only in the column it was encrypted for
        assert getattr(obj, field) == text
    assert raw(untouched_blank, "hidden_reason") == ""
    # And the messages are found by the address again, whatever its case.
    [inquiry] = [obj for obj, field, _text in rows if field == "email" and isinstance(obj, Inquiry)]
    assert raw(inquiry, "email_digest") == lookup_digest("sam@example.org")

    # Run again (a migration re-run after a failure part way): nothing is encrypted twice.
    for app, migration in MIGRATIONS:
        assert writes(run_python(app, migration, "encrypt")) == []

    for app, migration in MIGRATIONS:
        run_python(app, migration, "decrypt")
    for obj, field, text in rows:
        assert raw(obj, field) == text


REMOVAL_REASON = ("enrollment", "0007_removal_reason_encrypted")


def test_why_staff_removed_a_member_moves_out_of_end_reason_encrypted() -> None:
    removed = EnrollmentFactory(status=EnrollmentStatus.REMOVED, ended_at=timezone.now())
    cancelled = EnrollmentFactory(status=EnrollmentStatus.REMOVED, end_reason=GROUP_CANCELLED)
    partner = EnrollmentFactory(status=EnrollmentStatus.REMOVED, end_reason=PARTNER_REMOVED)
    left = EnrollmentFactory(status=EnrollmentStatus.WITHDRAWN, end_reason=WITHDREW)
    # As the removal service wrote it before: the staff's words in end_reason.
    Enrollment.objects.filter(pk=removed.pk).update(end_reason="Threatened another member")

    run_python(*REMOVAL_REASON, "move_out")
    removed.refresh_from_db()
    assert (removed.end_reason, removed.removal_reason) == (
        REMOVED_BY_PRACTICE,
        "Threatened another member",
    )
    assert "Threatened" not in raw(removed, "removal_reason")
    for other, reason in (
        (cancelled, GROUP_CANCELLED),
        (partner, PARTNER_REMOVED),
        (left, WITHDREW),
    ):
        other.refresh_from_db()
        assert (other.end_reason, other.removal_reason) == (reason, "")
    # Still barred from joining that group again by themselves; the others are not.
    assert list(Enrollment.objects.filter(removed_by_practice())) == [removed]
    assert writes(run_python(*REMOVAL_REASON, "move_out")) == []

    run_python(*REMOVAL_REASON, "move_back")
    removed.refresh_from_db()
    assert (removed.end_reason, removed.removal_reason) == ("Threatened another member", "")


@pytest.mark.django_db(transaction=True)
def test_going_back_past_the_encryption_restores_rows_with_two_encrypted_fields() -> None:
    """Decrypting two fields of one row updates it twice in one transaction; on PostgreSQL that
    left its foreign-key checks pending, and the column could not then be narrowed again. Back
    past each encryption and forward again, with such rows."""
    enrollment = EnrollmentFactory()
    post = CarePostFactory(cohort=enrollment.cohort)
    report = CareReport.objects.create(
        post=post, reporter=UserFactory(), reason="They sound unsafe tonight",
        resolved_at=timezone.now(), resolution_note="Called them; they are safe",
    )  # fmt: skip
    inquiry = InquiryFactory(
        name="Sam Example", email="sam@example.org", message="I was in hospital",
        coordinator_notes="Evening group",
    )  # fmt: skip
    signature = ConsentSignature.objects.create(
        member=enrollment.member, document=ConsentDocumentFactory(),
        signed_at=timezone.now(), signed_name="Sam Example",
    )  # fmt: skip
    invite = partner_invite(enrollment, "bo@example.org")
    before = [
        ("care", "0006_call_off_when_post_hidden"),
        ("inquiries", "0001_initial"),
        ("enrollment", "0009_scrub_partner_invite_task_secrets"),
    ]
    executor = MigrationExecutor(connection)
    # Every leaf, not only these apps': going back undoes what depends on them elsewhere too.
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(before)
        assert raw(report, "reason") == "They sound unsafe tonight"
        assert raw(report, "resolution_note") == "Called them; they are safe"
        assert raw(inquiry, "coordinator_notes") == "Evening group"
        assert (raw(inquiry, "name"), raw(inquiry, "email")) == ("Sam Example", "sam@example.org")
        assert raw(signature, "signed_name") == "Sam Example"
        assert raw(invite, "email") == "bo@example.org"
    finally:
        MigrationExecutor(connection).migrate(leaves)
    assert is_encrypted(raw(report, "resolution_note"))
    for field in ("message", "name", "email"):
        assert is_encrypted(raw(inquiry, field))
    assert is_encrypted(raw(signature, "signed_name"))
    assert is_encrypted(raw(invite, "email"))
    # The digest column came back empty: the migration filled it in again.
    assert raw(inquiry, "email_digest") == lookup_digest("sam@example.org")
    report.refresh_from_db()
    assert report.resolution_note == "Called them; they are safe"
    signature.refresh_from_db()
    assert signature.signed_name == "Sam Example"
    invite.refresh_from_db()
    assert invite.email == "bo@example.org"


BIND = ("clinic", "0003_bind_encrypted_values_to_their_column")
BEFORE_BIND = ("clinic", "0002_signed_notes_are_final")


def legacy_decrypt(token: str) -> str:
    """``token`` read as the code from before the binding read it."""
    prefix, kid, payload = token.split(":", 2)
    assert prefix == "v1"
    raw = base64.b64decode(payload)
    return AESGCM(keyring()[1][kid]).decrypt(raw[:12], raw[12:], b"v1").decode()


def signed_note() -> GroupNote:
    """A signed note: on PostgreSQL the database refuses most changes to it."""
    note = GroupNote.objects.get()
    signed = sign_note(note=note, actor=note.meeting.cohort.lead)
    assert isinstance(signed, GroupNote)
    return signed


#: Fields encrypted by migrations after the binding, written bound from the start.
ENCRYPTED_SINCE = {
    "inquiries.Inquiry.name",
    "inquiries.Inquiry.email",
    "enrollment.ConsentSignature.signed_name",
    "enrollment.PartnerInvite.email",
}


def bound_before() -> list[str]:
    """The stored values of the fields that were encrypted before values were bound."""
    found = stored_values()
    return [v for name, values in found.items() if name not in ENCRYPTED_SINCE for v in values]


@pytest.mark.django_db(transaction=True)
def test_values_from_before_the_binding_are_bound_to_their_column_and_unbound_back() -> None:
    plant()  # a value in every encrypted field
    note = signed_note()
    text = read_back()
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([BEFORE_BIND])
        # Back: every value as the code from before reads it (the fields encrypted since are
        # clear text again, as they were then).
        back = bound_before()
        assert len(back) >= len(text) - len(ENCRYPTED_SINCE)
        assert all(v.startswith("v1:") for v in back)
        opened = [legacy_decrypt(v) for v in back]  # every one opens as it did then
        assert any(NOTE in t for t in opened)

        executor = MigrationExecutor(connection)
        executor.migrate([BIND])
        values = bound_before()
        assert len(values) == len(back) and all(v.startswith("v2:") for v in values)
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        assert all(v.startswith("v2:") for vs in stored_values().values() for v in vs)
        assert read_back() == text
        assert GroupNote.objects.get(pk=note.pk).text == note.text
        # Now bound: the note's text copied into a member's journal does not read there.
        copy_raw(("clinic_groupnote", "text", note.pk),
                 ("care_reflection", "body", Reflection.objects.get().pk))  # fmt: skip
        with pytest.raises(ValueNotForHere):
            Reflection.objects.get()
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())


def test_binding_runs_once_and_leaves_values_already_bound_alone() -> None:
    plant()
    text = read_back()
    as_before_the_binding()
    assert writes(run_python(*BIND, "bind"))
    assert writes(run_python(*BIND, "bind")) == []  # run again: nothing left to do
    assert read_back() == text

    run_python(*BIND, "unbind")
    assert all(v.startswith("v1:") for values in stored_values().values() for v in values)
    assert read_back() == text


def test_the_admin_history_no_longer_names_an_inquiry_by_who_sent_it() -> None:
    """The admin's history named an inquiry by the sender's name, in the clear; the migration
    renames what was written before as inquiries are named now, by number."""
    from django.contrib.admin.models import CHANGE, LogEntry
    from django.contrib.contenttypes.models import ContentType

    inquiry = InquiryFactory(name="Sam Example", interest="therapy")
    staff = UserFactory(is_staff=True)
    kind = ContentType.objects.get_for_model(inquiry)
    for object_id in (str(inquiry.pk), "999999"):  # the second since deleted
        LogEntry.objects.create(
            user=staff, content_type=kind, object_id=object_id, action_flag=CHANGE,
            object_repr="Sam Example (Therapy group, 02 Dec 2026)", change_message="[]",
        )  # fmt: skip
    other = LogEntry.objects.create(
        user=staff, content_type=ContentType.objects.get_for_model(staff),
        object_id=str(staff.pk), action_flag=CHANGE, object_repr="Sam Example",
    )  # fmt: skip

    run_python("inquiries", "0004_unname_inquiries_in_admin_history", "rename")
    named = dict(LogEntry.objects.filter(content_type=kind).values_list("object_id", "object_repr"))
    assert named == {str(inquiry.pk): str(inquiry), "999999": "Inquiry 999999 (deleted)"}
    assert str(inquiry).startswith(f"Inquiry {inquiry.pk} (Therapy group, ")
    other.refresh_from_db()
    assert other.object_repr == "Sam Example"  # not an inquiry: left alone
