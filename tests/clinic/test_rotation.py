"""``rotate_encryption_key`` re-encrypts every encrypted field, the free text encrypted later too."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from circlecare.clinic.management.commands.rotate_encryption_key import encrypted_fields
from circlecare.crypto import decrypt, lookup_digest, lookup_digests, needs_rotation
from circlecare.inquiries.models import Inquiry
from tests.clinic.test_canaries import plant, read_back
from tests.factories import InquiryFactory
from tests.test_crypto import legacy_token

pytestmark = pytest.mark.django_db

#: The free text turned into encrypted fields after the first ones (notes, answers, reflections).
LATER = {
    "care.CarePost.hidden_reason",
    "enrollment.Enrollment.removal_reason",
    "care.CareReport.reason",
    "care.CareReport.resolution_note",
    "inquiries.Inquiry.message",
    "inquiries.Inquiry.coordinator_notes",
    "live.RoomRemoval.reason",
    "enrollment.ConsentSignature.signed_name",
    "inquiries.Inquiry.name",
    "inquiries.Inquiry.email",
    "enrollment.PartnerInvite.email",
}


def stored_values() -> dict[str, list[str]]:
    found = {}
    for model, fields in encrypted_fields():
        table = connection.ops.quote_name(model._meta.db_table)
        for field in fields:
            column = connection.ops.quote_name(field.column)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {column} FROM {table} WHERE {column} <> ''")  # noqa: S608
                found[f"{model._meta.label}.{field.name}"] = [row[0] for row in cursor.fetchall()]
    return found


def test_rotation_reencrypts_every_encrypted_field(settings: Any) -> None:
    plant()
    before = read_back()
    assert set(stored_values()) >= LATER

    old_key = settings.FIELD_ENCRYPTION_KEY
    settings.FIELD_ENCRYPTION_KEY = "A" * 43
    settings.FIELD_ENCRYPTION_OLD_KEYS = [old_key]
    for name in LATER:
        assert stored_values()[name] and all(needs_rotation(v) for v in stored_values()[name])
    out = StringIO()
    call_command("rotate_encryption_key", stdout=out)
    assert "live.RoomRemoval.reason: 1 re-encrypted" in out.getvalue()

    left = {
        name: v for name, values in stored_values().items() for v in values if needs_rotation(v)
    }
    assert left == {}
    # Readable with the new key alone.
    settings.FIELD_ENCRYPTION_OLD_KEYS = []
    assert read_back() == before


def as_before_the_binding() -> None:
    """Every stored value rewritten as it was encrypted before values were bound to a column."""
    for model, fields in encrypted_fields():
        table = connection.ops.quote_name(model._meta.db_table)
        for field in fields:
            column = connection.ops.quote_name(field.column)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT id, {column} FROM {table} WHERE {column} <> ''")  # noqa: S608
                for pk, value in cursor.fetchall():
                    cursor.execute(
                        f"UPDATE {table} SET {column} = %s WHERE id = %s",  # noqa: S608
                        [legacy_token(decrypt(value, context=field.context)), pk],
                    )


def test_rotation_binds_values_from_before_the_binding_to_their_column() -> None:
    plant()
    before = read_back()
    as_before_the_binding()
    assert all(v.startswith("v1:") for values in stored_values().values() for v in values)
    assert read_back() == before

    out = StringIO()
    call_command("rotate_encryption_key", stdout=out)  # the same key: only the format changes

    values = [v for values in stored_values().values() for v in values]
    assert len(values) >= len(before)
    assert all(v.startswith("v2:") and not needs_rotation(v) for v in values)
    assert read_back() == before


def test_messages_are_found_by_address_through_a_rotation(settings: Any) -> None:
    """The digest an inquiry is found by is keyed with the encryption key: between the new key's
    arrival and the command, the old digest is still found; the command rewrites it, so it is
    found once the old key is gone."""
    inquiry = InquiryFactory(email="sam@example.org")
    InquiryFactory(email="alex@example.org")

    def found() -> list[Inquiry]:
        return list(Inquiry.objects.filter(email_digest__in=lookup_digests("Sam@example.org")))

    old_key = settings.FIELD_ENCRYPTION_KEY
    settings.FIELD_ENCRYPTION_KEY = "A" * 43
    settings.FIELD_ENCRYPTION_OLD_KEYS = [old_key]
    assert found() == [inquiry]
    assert Inquiry.objects.get(pk=inquiry.pk).email_digest != lookup_digest("sam@example.org")

    out = StringIO()
    call_command("rotate_encryption_key", stdout=out)
    assert "inquiries.Inquiry.email_digest: 2 rewritten" in out.getvalue()
    settings.FIELD_ENCRYPTION_OLD_KEYS = []
    assert found() == [inquiry]
    assert Inquiry.objects.get(pk=inquiry.pk).email_digest == lookup_digest("sam@example.org")
    # Run again: nothing left to rewrite.
    out = StringIO()
    call_command("rotate_encryption_key", stdout=out)
    assert "inquiries.Inquiry.email_digest: 0 rewritten" in out.getvalue()


def test_staff_keep_their_second_factor_through_a_rotation(settings: Any) -> None:
    """allauth keeps a clinician's TOTP secret and recovery-code seed encrypted with the field
    key: the command re-encrypts them too, so once the old key is removed they still sign in,
    with the authenticator app and with a recovery code."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP

    from tests.factories import ClinicianFactory
    from tests.mfa import code_for, enable_totp

    user = ClinicianFactory().user
    secret = enable_totp(user)
    codes = RecoveryCodes.activate(user).get_unused_codes()
    stored = {a.type: dict(a.data) for a in Authenticator.objects.filter(user=user)}

    old_key = settings.FIELD_ENCRYPTION_KEY
    settings.FIELD_ENCRYPTION_KEY = "B" * 43
    settings.FIELD_ENCRYPTION_OLD_KEYS = [old_key]
    out = StringIO()
    call_command("rotate_encryption_key", stdout=out)
    assert "mfa.Authenticator secrets: 2 re-encrypted" in out.getvalue()
    rotated = {a.type: a.data for a in Authenticator.objects.filter(user=user)}
    assert rotated["totp"]["secret"] != stored["totp"]["secret"]
    assert rotated["recovery_codes"]["seed"] != stored["recovery_codes"]["seed"]
    assert not needs_rotation(rotated["totp"]["secret"])

    settings.FIELD_ENCRYPTION_OLD_KEYS = []  # the old key removed
    totp = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    assert TOTP(totp).validate_code(code_for(secret))
    recovery = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    assert RecoveryCodes(recovery).get_unused_codes() == codes

    out = StringIO()
    call_command("rotate_encryption_key", stdout=out)  # run again: nothing left to do
    assert "mfa.Authenticator secrets: 0 re-encrypted" in out.getvalue()
