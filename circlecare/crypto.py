"""Encryption at rest for clinical text (notes, answers, reflections): AES-256-GCM.

The key comes from ``FIELD_ENCRYPTION_KEY`` (32 bytes, url-safe base64). A stored value is
``v2:<key id>:<nonce+ciphertext, base64>``; the key id lets ``FIELD_ENCRYPTION_OLD_KEYS`` keep
decrypting rows written before a rotation until they are re-encrypted.

Each value is bound to the column it is written for: the GCM associated data is ``v2|`` followed
by ``<table>.<column>`` (the ``context``), so a value copied into another column — a clinician's
note into a field a member sees, one table's text into another — does not decrypt there; reading
it raises ``ValueNotForHere`` just as an altered value does. The binding is to the column and not
to the row: a value is encrypted when its row is inserted, before the row has an id, so binding it
to the row would mean writing every new row twice. A value moved to another row of the same column
therefore still decrypts there.

A value encrypted without a context is bound to "no particular place": it decrypts only without
one, so it cannot be moved into a column either. The consequence to keep in mind: renaming an
encrypted field's table or column makes its values unreadable until they are re-encrypted for
the new name (decrypted with the old context and encrypted with the new one, in the migration that
renames it).

``v1:`` values, from before the binding (associated data just ``v1``), still decrypt wherever they
are found, so old rows and old backups keep working; nothing writes them any more. The clinic
migration ``0003_bind_encrypted_values_to_their_column`` re-encrypts those in the database, and
``needs_rotation`` is true of them so ``rotate_encryption_key`` upgrades any a restore brings back.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, models, transaction

PREFIX = "v2"
#: The format before values were bound to their column: still read, never written.
LEGACY_PREFIX = "v1"
NONCE = 12
TAG = 16


class ValueNotForHere(InvalidTag):
    """A stored value that does not decrypt where it was read: written for another column, altered,
    or sealed under another key that happens to share the key id. (An ``InvalidTag``, as a value
    that failed its check always was, now with a message saying where.)"""


def column_context(table: str, column: str) -> str:
    """What a value stored in ``table.column`` is bound to."""
    return f"{table}.{column}"


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


def _associated_data(prefix: str, context: str) -> bytes:
    if prefix == LEGACY_PREFIX:
        return LEGACY_PREFIX.encode()
    return f"{PREFIX}|{context}".encode()


def _seal(plaintext: str, prefix: str, context: str) -> str:
    primary, _ring = keyring()
    nonce = os.urandom(NONCE)
    sealed = AESGCM(primary).encrypt(
        nonce, plaintext.encode("utf-8"), _associated_data(prefix, context)
    )
    return f"{prefix}:{key_id(primary)}:{base64.b64encode(nonce + sealed).decode('ascii')}"


def encrypt(plaintext: str, *, context: str = "") -> str:
    """``plaintext`` sealed under the current key, bound to ``context`` (for a column:
    ``column_context(table, column)``); only ``decrypt`` with the same context opens it."""
    return _seal(plaintext, PREFIX, context)


def _split(token: str) -> tuple[str, str, str]:
    try:
        prefix, kid, payload = token.split(":", 2)
    except ValueError as exc:
        raise ValueError("Not an encrypted value.") from exc
    if prefix not in (PREFIX, LEGACY_PREFIX):
        raise ValueError("Unknown encryption format.")
    return prefix, kid, payload


def decrypt(token: str, *, context: str = "") -> str:
    """The text of ``token``, which must have been encrypted for ``context``; a ``v1`` value, from
    before values were bound, opens whatever the context. Raises ``ValueNotForHere`` when the value
    was written for another place or altered, ``ValueError`` when it is no token of this keyring."""
    prefix, kid, payload = _split(token)
    _primary, ring = keyring()
    key = ring.get(kid)
    if key is None:
        raise ValueError("This value was encrypted with a key that is no longer configured.")
    raw = base64.b64decode(payload)
    try:
        opened = AESGCM(key).decrypt(raw[:NONCE], raw[NONCE:], _associated_data(prefix, context))
    except InvalidTag as exc:
        place = context or "a value encrypted without a context"
        raise ValueNotForHere(
            f"The stored value does not decrypt as {place}: it was written for another place, "
            "or it has been altered."
        ) from exc
    return opened.decode("utf-8")


def needs_rotation(token: str) -> bool:
    """Whether ``token`` is not yet in the current format under the current key."""
    primary, _ring = keyring()
    return not token.startswith(f"{PREFIX}:{key_id(primary)}:")


def is_encrypted(value: str, *, context: str | None = None) -> bool:
    """Whether ``value`` is a token this keyring can read (rather than clear text). With a
    ``context``, whether it opens there; without one, a ``v2`` value cannot be opened, so it
    counts when it has the form of one: the prefix, a configured key id, a nonce and a tag."""
    if context is not None or value.startswith(f"{LEGACY_PREFIX}:"):
        try:
            decrypt(value, context=context or "")
        except (ValueError, InvalidTag):
            return False
        return True
    try:
        _prefix, kid, payload = _split(value)
        raw = base64.b64decode(payload, validate=True)
    except (ValueError, binascii.Error):
        return False
    return kid in keyring()[1] and len(raw) >= NONCE + TAG


#: What the keys for lookup digests are derived for: no other use of the encryption key shares it.
LOOKUP_CONTEXT = b"circlecare lookup digest v1"


def _lookup_digest(value: str, key: bytes) -> str:
    lookup_key = hmac.new(key, LOOKUP_CONTEXT, hashlib.sha256).digest()
    normalised = value.strip().lower().encode("utf-8")
    return hmac.new(lookup_key, normalised, hashlib.sha256).hexdigest()


def lookup_digest(value: str) -> str:
    """A keyed digest of ``value`` to find rows by it exactly (an e-mail address, say) while the
    value itself is stored encrypted, as the encrypted value cannot be compared in the database.

    ``HMAC-SHA256(lookup key, value stripped and lower-cased)``, hex, where the lookup key is
    ``HMAC-SHA256(FIELD_ENCRYPTION_KEY, LOOKUP_CONTEXT)``: without the key, nobody holding the
    database can test guesses against it, as they could a plain hash of an address. It changes
    with the key: ``lookup_digests`` gives the digests under every configured key, for lookups
    during a rotation, and ``rotate_encryption_key`` rewrites stored digests with the new one."""
    primary, _ring = keyring()
    return _lookup_digest(value, primary)


def lookup_digests(value: str) -> list[str]:
    """``lookup_digest`` of ``value`` under the current key and each old key still configured:
    what to look for, so that rows written before a rotation are found until they are rewritten."""
    _primary, ring = keyring()
    return [_lookup_digest(value, key) for key in ring.values()]


COLUMN_BATCH = 500


def rewrite_column(
    connection: Any,
    table: str,
    column: str,
    rewrite: Callable[[Any, str], str | None],
    pk: str = "id",
) -> int:
    """Rewrite, in place, the values of one column of raw text: ``rewrite(row key, value)`` gives
    a row's new value, or None to leave it. Works on the raw column, as an encrypted field's own
    conversions would misread values in another form. Batches of ``COLUMN_BATCH`` rows, each in
    its own transaction (a savepoint inside a migration's) with its rows locked, so a large table
    is not held in one transaction and a run stopped part way can be run again. Empty values are
    left alone. Returns how many values it changed."""
    quote = connection.ops.quote_name
    q_table, q_column, q_pk = quote(table), quote(column), quote(pk)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    changed, last = 0, None
    while True:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            where = f"WHERE {q_pk} > %s" if last is not None else ""
            cursor.execute(
                f"SELECT {q_pk}, {q_column} FROM {q_table} {where} "  # nosec B608  # noqa: S608
                f"ORDER BY {q_pk} LIMIT {COLUMN_BATCH}{lock}",
                [last] if last is not None else [],
            )
            rows = cursor.fetchall()
            if not rows:
                return changed
            for row_pk, value in rows:
                new = rewrite(row_pk, value) if value else None
                if new is None:
                    continue
                cursor.execute(
                    f"UPDATE {q_table} SET {q_column} = %s WHERE {q_pk} = %s",  # nosec B608  # noqa: S608
                    [new, row_pk],
                )
                changed += 1
            last = rows[-1][0]


def encrypt_column(connection: Any, table: str, column: str, *, reverse: bool = False) -> int:
    """Encrypt, in place, the clear text a column holds, for a migration that turns a text field
    into an ``EncryptedTextField`` (``reverse``: decrypt it again, for the way back). Values
    already in the wanted form are left alone, so it is safe to run twice. Returns how many
    values it changed."""
    context = column_context(table, column)

    def rewrite(_pk: Any, value: str) -> str | None:
        if is_encrypted(value, context=context) != reverse:
            return None
        return decrypt(value, context=context) if reverse else encrypt(value, context=context)

    return rewrite_column(connection, table, column, rewrite)


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


def bind_column(
    connection: Any, table: str, column: str, pk: str = "id", *, reverse: bool = False
) -> int:
    """Re-encrypt, in place, the ``v1`` values of an encrypted column as ``v2`` values bound to
    it (``reverse``: its ``v2`` values back to ``v1``, which the code from before the binding
    reads), in locked batches (``rewrite_column``): values already in the wanted form are left
    alone. A value that does not decrypt stops the run with the row it is in. Returns how many
    values it changed."""
    context = column_context(table, column)
    old, new = (PREFIX, LEGACY_PREFIX) if reverse else (LEGACY_PREFIX, PREFIX)

    def rewrite(row_pk: Any, value: str) -> str | None:
        if not value.startswith(f"{old}:"):
            return None
        try:
            text = decrypt(value, context=context)
        except (ValueError, InvalidTag) as exc:
            raise ValueError(f"{context} of row {row_pk}: {exc}") from exc
        return _seal(text, new, context)

    return rewrite_column(connection, table, column, rewrite, pk)


class EncryptedTextField(models.TextField):
    """A text field stored encrypted, bound to its column; Python code sees plain text. Not
    searchable or sortable."""

    @property
    def context(self) -> str:
        """Where this field's values belong: its model's table and its column."""
        return column_context(self.model._meta.db_table, str(self.column))

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt(value, context=self.context)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value), context=self.context)
