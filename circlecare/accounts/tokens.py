"""Personal access tokens: create, verify, revoke. Tokens are random, shown once, stored hashed."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from circlecare.accounts.models import PersonalAccessToken, TokenScope, User
from circlecare.audit.models import AuditAction
from circlecare.audit.services import record
from circlecare.errors import DomainError

TOKEN_PREFIX = "cc_"  # nosec B105  # noqa: S105 - a public marker, not a secret
MAX_LIFETIME = timedelta(days=365)


class TokenNotAllowed(DomainError):
    code = "token_not_allowed"
    default_message = "That token can't be created."
    status = 403


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def create_token(
    *, user: User, name: str, scopes: list[str], lifetime: timedelta, mfa_verified: bool
) -> tuple[PersonalAccessToken, str]:
    """Create a token and return it with its secret, which is never stored or shown again."""
    from circlecare.accounts.security import has_totp, needs_mfa

    name = " ".join(name.split())[:80]
    if not name:
        raise TokenNotAllowed("Please give the token a name you'll recognise.")
    unknown = set(scopes) - set(TokenScope.values)
    if unknown or not scopes:
        raise TokenNotAllowed("Choose at least one of: read, write, clinical.")
    if not timedelta(hours=1) <= lifetime <= MAX_LIFETIME:
        raise TokenNotAllowed("A token can last from one hour to one year.")
    second_factor = bool(mfa_verified and has_totp(user))
    if needs_mfa(user) and not second_factor:
        raise TokenNotAllowed("Staff tokens need two-factor authentication to be on and used.")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic(durable=True):
        token = PersonalAccessToken.objects.create(
            user=user,
            name=name,
            prefix=raw[:10],
            token_hash=hash_token(raw),
            scopes=sorted(set(scopes)),
            expires_at=timezone.now() + lifetime,
            second_factor=second_factor,
        )
    return token, raw


def verify_token(raw: str) -> PersonalAccessToken | None:
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = (
        PersonalAccessToken.objects.select_related("user")
        .filter(token_hash=hash_token(raw))
        .first()
    )
    if token is None or not token.is_usable:
        return None
    if not token.second_factor:
        from circlecare.accounts.security import needs_mfa

        if needs_mfa(token.user):
            # Made before its owner took a role that sees others' clinical data: a token for
            # that role is made again, with the second factor.
            return None
    now = timezone.now()
    # Touch at most once a minute: a busy integration should not write on every request.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        PersonalAccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def revoke_token(*, token: PersonalAccessToken, actor: Any) -> None:
    """Revoke one of the actor's own tokens. The audit event names it by id and name, never by
    its secret; revoking a token already revoked changes nothing and records nothing."""
    if token.user_id != getattr(actor, "pk", None):
        raise TokenNotAllowed("That token isn't yours.")
    with transaction.atomic(durable=True):
        revoked = PersonalAccessToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if revoked:
            record(
                actor=actor,
                action=AuditAction.ACCOUNT_TOKEN_REVOKED,
                target=token,
                subject=token.user,
                data={"name": token.name},
            )


def revoke_all_tokens(*, user: User, only_second_factor: bool = False) -> int:
    """Revoke every token of ``user`` that still works (or only those made with the second
    factor), inside the caller's transaction; returns how many stopped working."""
    assert connection.in_atomic_block, "revoke_all_tokens runs inside a service's transaction"
    now = timezone.now()
    live = PersonalAccessToken.objects.filter(
        user=user, revoked_at__isnull=True, expires_at__gt=now
    )
    if only_second_factor:
        live = live.filter(second_factor=True)
    return live.update(revoked_at=now)
