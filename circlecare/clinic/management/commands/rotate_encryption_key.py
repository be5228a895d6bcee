"""Re-encrypt every encrypted field with the current key.

Rotation: put the new key in FIELD_ENCRYPTION_KEY and the old one in FIELD_ENCRYPTION_OLD_KEYS, restart,
run this command, then remove the old key. Values in the format from before each was bound to its column
(``v1``) are re-encrypted too, bound to their column, whatever the key. It also rewrites the lookup digests
(``crypto.lookup_digest``) each model lists in ``LOOKUP_DIGESTS``, as they are keyed with the encryption key
too. Rows are read and written in batches, each batch in its own transaction with the rows locked, so it is
safe to run while the practice is open and to run again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.db.models import QuerySet

from circlecare.accounts.adapters import MFA_SECRETS
from circlecare.crypto import (
    EncryptedTextField,
    decrypt,
    encrypt,
    lookup_digest,
    needs_rotation,
    rewrite_column,
)

BATCH = 500


def encrypted_fields() -> list[tuple[Any, list[EncryptedTextField]]]:
    found = []
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if fields:
            found.append((model, fields))
    return found


def digest_fields() -> list[tuple[Any, dict[str, str]]]:
    """Each model with lookup digests, and its ``LOOKUP_DIGESTS`` (digest field: field digested)."""
    found = []
    for model in apps.get_models():
        digests: dict[str, str] = getattr(model, "LOOKUP_DIGESTS", {})
        if digests:
            found.append((model, digests))
    return found


#: The values allauth encrypts in an authenticator's data: one secret, or a list of codes.
MFA_SECRET_KEYS = ("secret", "seed")
MFA_SECRET_LISTS = ("migrated_codes",)


def rotated_mfa_secrets(data: Any) -> dict[str, Any] | None:
    """``data`` with its encrypted secrets under the current key and format, or None when none
    needed it. Values that are no token of this keyring are left as they are."""
    if not isinstance(data, dict):
        return None

    def rotate(value: Any) -> Any:
        if not isinstance(value, str) or not value or not needs_rotation(value):
            return value
        try:
            text = decrypt(value, context=MFA_SECRETS)
        except ValueError:
            return value  # not one of ours
        return encrypt(text, context=MFA_SECRETS)

    rotated = dict(data)
    for key in MFA_SECRET_KEYS:
        if key in rotated:
            rotated[key] = rotate(rotated[key])
    for key in MFA_SECRET_LISTS:
        if isinstance(rotated.get(key), list):
            rotated[key] = [rotate(value) for value in rotated[key]]
    return rotated if rotated != data else None


def reencrypt(context: str) -> Callable[[Any, str], str | None]:
    """For ``crypto.rewrite_column``: a value not yet in the current format under the current
    key, encrypted again for the same column."""

    def rewrite(_pk: Any, value: str) -> str | None:
        if not needs_rotation(value):
            return None
        return encrypt(decrypt(value, context=context), context=context)

    return rewrite


def redigest(model: Any, digest: str) -> Callable[[Any, Any, str], bool]:
    """For ``each_locked`` over (value, digest): the digest rewritten under the current key where
    it was made under another (after the values are re-encrypted, so each is read with it)."""

    def change(pk: Any, value: Any, stored: str) -> bool:
        wanted = lookup_digest(value or "")
        if stored == wanted:
            return False
        model.objects.filter(pk=pk).update(**{digest: wanted})
        return True

    return change


def each_locked(
    queryset: QuerySet[Any], fields: tuple[str, ...], change: Callable[..., bool]
) -> int:
    """``change(pk, *fields)`` for each row of ``queryset`` in key order, in batches of ``BATCH``
    rows, each in its own transaction with its rows locked; how many it changed (returned True)."""
    changed, last = 0, None
    while True:
        with transaction.atomic():
            rows = queryset.select_for_update().order_by("pk")
            if last is not None:
                rows = rows.filter(pk__gt=last)
            batch = list(rows.values_list("pk", *fields)[:BATCH])
            if not batch:
                return changed
            changed += sum(1 for row in batch if change(*row))
            last = batch[-1][0]


class Command(BaseCommand):
    help = "Re-encrypt notes, answers and reflections with the current FIELD_ENCRYPTION_KEY."

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        for model, fields in encrypted_fields():
            for field in fields:
                changed = rewrite_column(
                    connection,
                    model._meta.db_table,
                    str(field.column),
                    reencrypt(field.context),
                    str(model._meta.pk.column),
                )
                total += changed
                self.stdout.write(f"{model._meta.label}.{field.name}: {changed} re-encrypted")
        for model, digests in digest_fields():
            for digest, source in digests.items():
                changed = each_locked(
                    model.objects.all(), (source, digest), redigest(model, digest)
                )
                self.stdout.write(f"{model._meta.label}.{digest}: {changed} rewritten")
        changed = self._rotate_mfa()
        total += changed
        self.stdout.write(f"mfa.Authenticator secrets: {changed} re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"Done: {total} values re-encrypted."))

    def _rotate_mfa(self) -> int:
        """The staff's second-factor secrets (TOTP secret, recovery-code seed) that allauth keeps
        encrypted through ``accounts.adapters.MFAAdapter`` inside its authenticators' JSON: left
        under the old key, removing that key would lock every clinician out."""
        from allauth.mfa.models import Authenticator

        def rotate(pk: Any, data: Any) -> bool:
            rotated = rotated_mfa_secrets(data)
            if rotated is None:
                return False
            Authenticator.objects.filter(pk=pk).update(data=rotated)
            return True

        return each_locked(Authenticator.objects.all(), ("data",), rotate)
