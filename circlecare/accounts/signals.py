"""allauth's account events, passed on to the accounts services, and what the member is told."""

from __future__ import annotations

from typing import Any

from allauth.account.signals import password_changed, password_reset, password_set
from allauth.mfa.signals import authenticator_added, authenticator_removed
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.dispatch import receiver
from django.http import HttpRequest

from circlecare.accounts.security import forget_mfa_used, mark_mfa_used
from circlecare.accounts.services import (
    PasswordChange,
    SignedOutElsewhere,
    secure_after_mfa_removed,
    secure_after_password_change,
)


@receiver(authenticator_added)
def _count_setup_as_mfa(
    sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any
) -> None:
    if request is not None and authenticator.type == "totp":
        mark_mfa_used(request, user)


@receiver(authenticator_removed)
def _authenticator_removed(
    sender: Any, request: HttpRequest | None, user: Any, authenticator: Any, **kwargs: Any
) -> None:
    """The app is gone: this browser stays signed in, every other one is not, and the tokens
    made with the app are revoked."""
    if authenticator.type != "totp":
        return
    keep = request.session.session_key if request is not None else None
    outcome = secure_after_mfa_removed(user=user, keep_session_key=keep)
    if request is None:
        return
    forget_mfa_used(request)
    said = (
        "You're still signed in here, and any other device that was signed in to your account "
        "has been signed out."
    )
    revoked = outcome.tokens_revoked
    if revoked:
        said += (
            f" {_tokens(revoked, start=True)} made while two-factor authentication was on "
            f"{'was' if revoked == 1 else 'were'} revoked too. You can make new ones on the "
            "API tokens page."
        )
    messages.info(request, said)


@receiver(password_changed)
@receiver(password_set)
def _password_changed_here(
    sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any
) -> None:
    """Changed (or set) while signed in: this browser stays signed in, every other one is not.
    allauth's own "password changed" message is silenced (its template is empty) so that this
    one, which says what else happened, is the only one."""
    how: PasswordChange = "set" if kwargs.get("signal") is password_set else "changed"
    keep = request.session.session_key if request is not None else None
    outcome = secure_after_password_change(user=user, how=how, keep_session_key=keep, actor=user)
    if request is not None:
        messages.success(
            request,
            f"Your password is {how}. You're still signed in here, and any other device that "
            f"was signed in to your account has been signed out.{_revoked_sentence(outcome)}",
        )


@receiver(password_reset)
def _password_reset(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Reset from an e-mailed link: every session ends, this browser's too if it was signed in
    as this member, since the old password may be what someone else used."""
    if request is None:
        secure_after_password_change(user=user, how="reset", keep_session_key=None, actor=user)
        return
    if request.session.get(SESSION_KEY) == str(user.pk):
        # Signed out first, so that this request goes on with a fresh, anonymous session and
        # the one it had is ended with the others.
        logout(request)
    outcome = secure_after_password_change(
        user=user, how="reset", keep_session_key=request.session.session_key, actor=user
    )
    messages.success(
        request,
        "Your password is changed, and every device that was signed in to your account has been "
        f"signed out.{_revoked_sentence(outcome)} Please sign in with your new password.",
    )


def _tokens(count: int, *, start: bool = False) -> str:
    words = "API token" if count == 1 else f"{count} API tokens"
    return f"{'Your' if start else 'your'} {words}"


def _revoked_sentence(outcome: SignedOutElsewhere) -> str:
    count = outcome.tokens_revoked
    if not count:
        return ""
    return (
        f" {_tokens(count, start=True)} {'was' if count == 1 else 'were'} revoked too, so any "
        f"app using {'it' if count == 1 else 'them'} will need a new one."
    )
