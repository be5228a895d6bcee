"""What a change of credentials does to every other way into the account.

Someone who changes or resets their password may be doing it because they fear someone else is in
their account. So every other way in stops working at once: each other signed-in browser is signed
out (its session row deleted, so a live meeting room open there closes too, not only its next page
load) and every personal access token is revoked. Only the browser where the password was changed
stays signed in, and only when the member is signed in there.

The same holds wherever the password is changed: on the member's own pages (allauth), by an
administrator in the admin, or with ``manage.py changepassword``. When someone else changes it,
no browser of the member's is the one it was changed in, so every one of them is signed out.

Removing the second factor revokes the tokens that were made on the strength of it (a token made
with the second factor would otherwise go on counting as one) and signs out every other browser,
which may have been signed in with it by someone who had the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from allauth.usersessions.adapter import get_adapter as sessions_adapter
from allauth.usersessions.models import UserSession
from django.db import transaction

from circlecare.accounts.models import User
from circlecare.accounts.tokens import revoke_all_tokens
from circlecare.audit.models import AuditAction
from circlecare.audit.services import record

#: How the password came to change: changed while signed in, reset from an e-mailed link, set
#: for the first time on an account that had none, changed (or switched off) by an administrator
#: in the admin, or changed with ``manage.py changepassword``.
PasswordChange = Literal["changed", "reset", "set", "admin", "command"]


@dataclass(frozen=True)
class SignedOutElsewhere:
    sessions_ended: int
    tokens_revoked: int


def end_other_sessions(*, user: User, keep_session_key: str | None) -> int:
    """End every session of ``user`` except the one with ``keep_session_key``; returns how many
    were still live."""
    others = [
        s for s in UserSession.objects.filter(user_id=user.pk) if s.session_key != keep_session_key
    ]
    # A session that has already gone (cycled when the password changed, or expired) leaves a
    # row behind: it is cleared too, but not counted as one that was signed out.
    live = sum(1 for s in others if s.exists())
    sessions_adapter().end_sessions(others)
    return live


def secure_after_password_change(
    *, user: User, how: PasswordChange, keep_session_key: str | None, actor: User | None
) -> SignedOutElsewhere:
    """After a password change, reset or set: end the other sessions and revoke every token.

    ``actor`` is who changed it: the member, an administrator, or nobody known (the command
    line)."""
    with transaction.atomic(durable=True):
        tokens = revoke_all_tokens(user=user)
        sessions = end_other_sessions(user=user, keep_session_key=keep_session_key)
        record(
            actor=actor,
            action=AuditAction.ACCOUNT_PASSWORD_CHANGED,
            target=user,
            subject=user,
            data={"how": how, "sessions_ended": sessions, "tokens_revoked": tokens},
        )
    return SignedOutElsewhere(sessions_ended=sessions, tokens_revoked=tokens)


def secure_after_mfa_removed(*, user: User, keep_session_key: str | None) -> SignedOutElsewhere:
    """After the authenticator app is removed: end the other sessions and revoke the tokens made
    with it."""
    with transaction.atomic(durable=True):
        tokens = revoke_all_tokens(user=user, only_second_factor=True)
        sessions = end_other_sessions(user=user, keep_session_key=keep_session_key)
        record(
            actor=user,
            action=AuditAction.ACCOUNT_MFA_REMOVED,
            target=user,
            subject=user,
            data={"sessions_ended": sessions, "tokens_revoked": tokens},
        )
    return SignedOutElsewhere(sessions_ended=sessions, tokens_revoked=tokens)
