"""Encryption at rest for clinical text (notes, answers, reflections): AES-256-GCM.

The key comes from ``FIELD_ENCRYPTION_KEY`` (32 bytes, url-safe base64). A stored value is
``v1:<key id>:<nonce+ciphertext, base64>``; the key id lets ``FIELD_ENCRYPTION_OLD_KEYS`` keep
decrypting rows written before a rotation until they are re-encrypted.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, models

PREFIX = "v1"


def _decode_key(value: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must be url-safe base64.") from exc
    if len(key) != 32:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must decode to 32 bytes.")
    return key


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


@lru_cache(maxsize=8)
def _keys(current: str, old: tuple[str, ...]) -> tuple[bytes, dict[str, bytes]]:
    primary = _decode_key(current)
    ring = {key_id(primary): primary}
    for value in old:
        extra = _decode_key(value)
        ring.setdefault(key_id(extra), extra)
    return primary, ring


def keyring() -> tuple[bytes, dict[str, bytes]]:
    return _keys(settings.FIELD_ENCRYPTION_KEY, tuple(settings.FIELD_ENCRYPTION_OLD_KEYS))


def encrypt(plaintext: str) -> str:
    primary, _ring = keyring()
    nonce = os.urandom(12)
    sealed = AESGCM(primary).encrypt(nonce, plaintext.encode("utf-8"), PREFIX.encode())
    return f"{PREFIX}:{key_id(primary)}:{base64.b64encode(nonce + sealed).decode('ascii')}"


def decrypt(token: str) -> str:
    try:
        prefix, kid, payload = token.split(":", 2)
    except ValueError as exc:
        raise ValueError("Not an encrypted value.") from exc
    if prefix != PREFIX:
        raise ValueError("Unknown encryption format.")
    _primary, ring = keyring()
    key = ring.get(kid)
    if key is None:
        raise ValueError("This value was encrypted with a key that is no longer configured.")
    raw = base64.b64decode(payload)
    return AESGCM(key).decrypt(raw[:12], raw[12:], PREFIX.encode()).decode("utf-8")


def needs_rotation(token: str) -> bool:
    primary, _ring = keyring()
    return not token.startswith(f"{PREFIX}:{key_id(primary)}:")


def is_encrypted(value: str) -> bool:
    """Whether ``value`` is a token this keyring can read (rather than clear text)."""
    try:
        decrypt(value)
    except (ValueError, InvalidTag):
        return False
    return True


COLUMN_BATCH = 500


def encrypt_column(connection: Any, table: str, column: str, *, reverse: bool = False) -> int:
    """Encrypt, in place, the clear text a column holds, for a migration that turns a text field
    into an ``EncryptedTextField`` (``reverse``: decrypt it again, for the way back). Values
    already in the wanted form are left alone, so it is safe to run twice. Works on the raw
    column, as the field's own conversions would misread the values not yet converted.
    Returns how many values it changed."""
    quote = connection.ops.quote_name
    table, column = quote(table), quote(column)
    changed, last = 0, None
    while True:
        with connection.cursor() as cursor:
            where = "WHERE id > %s" if last is not None else ""
            cursor.execute(
                f"SELECT id, {column} FROM {table} {where} ORDER BY id LIMIT {COLUMN_BATCH}",  # noqa: S608
                [last] if last is not None else [],
            )
            rows = cursor.fetchall()
            if not rows:
                return changed
            for pk, value in rows:
                if not value or is_encrypted(value) != reverse:
                    continue
                cursor.execute(
                    f"UPDATE {table} SET {column} = %s WHERE id = %s",  # noqa: S608
                    [decrypt(value) if reverse else encrypt(value), pk],
                )
                changed += 1
            last = rows[-1][0]


def encrypt_fields(
    apps: Any, app_label: str, fields: Iterable[tuple[str, str]], *, reverse: bool = False
) -> int:
    """``encrypt_column`` for each ``(model name, field name)`` of ``app_label``, on the models
    as a migration sees them (``apps``): the data step of a migration that turns text fields
    into ``EncryptedTextField``. Returns how many values it changed."""
    changed = 0
    for model_name, field_name in fields:
        model = apps.get_model(app_label, model_name)
        connection = connections[model.objects.db]
        changed += encrypt_column(
            connection,
            model._meta.db_table,
            model._meta.get_field(field_name).column,
            reverse=reverse,
        )
        # A row updated twice in one transaction (two of its fields) leaves the checks of its
        # foreign keys pending, and PostgreSQL will not alter a table with checks pending, as
        # the way back does next: run them now.
        connection.check_constraints(table_names=[model._meta.db_table])
    return changed


class EncryptedTextField(models.TextField):
    """A text field stored encrypted; Python code sees plain text. Not searchable or sortable."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))
