"""Each encrypted value is bound to the column it was written for (SECURITY.md D1): someone who can
write to the database cannot move a clinician's words into a field a member sees, or one table's
text into another, and have the application read them out there."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import connection

from circlecare.care.models import Reflection
from circlecare.crypto import (
    ValueNotForHere,
    column_context,
    decrypt,
    encrypt,
    is_encrypted,
    key_id,
    keyring,
)
from circlecare.inquiries.models import Inquiry
from tests.factories import InquiryFactory, UserFactory

NOTES = "A coordinator's note: was in hospital in March"


def legacy_token(text: str) -> str:
    """``text`` encrypted as values were before they were bound to a column (``v1``)."""
    key, _ring = keyring()
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, text.encode(), b"v1")
    return f"v1:{key_id(key)}:{base64.b64encode(nonce + sealed).decode()}"


def copy_raw(source: tuple[str, str, int], target: tuple[str, str, int]) -> None:
    """What someone with write access to the database does: copy one stored value over another."""
    quote = connection.ops.quote_name
    (from_table, from_column, from_pk), (to_table, to_column, to_pk) = source, target
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(to_table)} SET {quote(to_column)} = "  # noqa: S608
            f"(SELECT {quote(from_column)} FROM {quote(from_table)} WHERE id = %s) WHERE id = %s",
            [from_pk, to_pk],
        )


def write_raw(table: str, column: str, pk: int, value: str) -> None:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(table)} SET {quote(column)} = %s WHERE id = %s",  # noqa: S608
            [value, pk],
        )


@pytest.mark.django_db
def test_a_value_copied_into_another_tables_column_does_not_decrypt_there() -> None:
    inquiry = InquiryFactory(coordinator_notes=NOTES)
    journal = Reflection.objects.create(member=UserFactory(), body="A quiet day")

    copy_raw(("inquiries_inquiry", "coordinator_notes", inquiry.pk),
             ("care_reflection", "body", journal.pk))  # fmt: skip

    with pytest.raises(ValueNotForHere, match=r"care_reflection\.body"):
        Reflection.objects.get(pk=journal.pk)
    # Where it was written, it still reads.
    assert Inquiry.objects.get(pk=inquiry.pk).coordinator_notes == NOTES


@pytest.mark.django_db
def test_a_value_copied_into_another_column_of_its_row_does_not_decrypt_there() -> None:
    inquiry = InquiryFactory(message="When does the next circle start?", coordinator_notes=NOTES)

    copy_raw(("inquiries_inquiry", "coordinator_notes", inquiry.pk),
             ("inquiries_inquiry", "message", inquiry.pk))  # fmt: skip

    with pytest.raises(ValueNotForHere, match=r"inquiries_inquiry\.message"):
        Inquiry.objects.get(pk=inquiry.pk)


@pytest.mark.django_db
def test_an_altered_value_fails_the_same_way_in_either_format() -> None:
    """A value moved is refused as an altered one always was: ``InvalidTag``, now saying where."""
    inquiry = InquiryFactory()
    stored = encrypt(NOTES, context=column_context("inquiries_inquiry", "coordinator_notes"))
    for token in (stored, legacy_token(NOTES)):
        prefix, kid, payload = token.split(":")
        raw = bytearray(base64.b64decode(payload))
        raw[-1] ^= 1
        write_raw("inquiries_inquiry", "coordinator_notes", inquiry.pk,
                  f"{prefix}:{kid}:{base64.b64encode(bytes(raw)).decode()}")  # fmt: skip
        with pytest.raises(InvalidTag, match=r"inquiries_inquiry\.coordinator_notes"):
            Inquiry.objects.get(pk=inquiry.pk)


@pytest.mark.django_db
def test_a_value_from_before_the_binding_still_decrypts_in_any_column() -> None:
    inquiry = InquiryFactory()
    write_raw("inquiries_inquiry", "coordinator_notes", inquiry.pk, legacy_token(NOTES))
    assert Inquiry.objects.get(pk=inquiry.pk).coordinator_notes == NOTES


@pytest.mark.django_db
def test_new_values_are_written_bound_to_their_column() -> None:
    inquiry = InquiryFactory(coordinator_notes=NOTES)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coordinator_notes FROM inquiries_inquiry WHERE id = %s", [inquiry.pk]
        )
        stored = cursor.fetchone()[0]
    assert stored.startswith("v2:") and NOTES not in stored
    assert decrypt(stored, context="inquiries_inquiry.coordinator_notes") == NOTES
    with pytest.raises(ValueNotForHere):
        decrypt(stored)


def test_a_value_encrypted_for_no_column_opens_only_without_one() -> None:
    token = encrypt("hello")
    assert decrypt(token) == "hello"
    with pytest.raises(ValueNotForHere, match=r"clinic_groupnote\.text"):
        decrypt(token, context="clinic_groupnote.text")


def test_is_encrypted_knows_both_formats_and_clear_text() -> None:
    here = column_context("clinic_groupnote", "text")
    bound = encrypt("hello", context=here)
    assert is_encrypted(bound) and is_encrypted(bound, context=here)
    assert not is_encrypted(bound, context="care_reflection.body")
    assert is_encrypted(legacy_token("hello"))
    assert is_encrypted(legacy_token("hello"), context=here)
    for clear in ("hello", "v2:abc:looks like a token", "v1:abc:looks like a token", "v2:x"):
        assert not is_encrypted(clear) and not is_encrypted(clear, context=here)
    kid = bound.split(":")[1]
    assert not is_encrypted(f"v2:{kid}:c2hvcnQ=")  # too short to hold a nonce and a tag
