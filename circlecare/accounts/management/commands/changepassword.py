"""Django's ``changepassword``, followed by what every password change does: the account is
signed out everywhere, its API tokens are revoked and its owner is e-mailed. Nobody is signed in
at the command line, so no session is kept and the audit event names no actor."""

from __future__ import annotations

import getpass
from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import get_adapter as account_adapter
from allauth.core import context
from django.conf import settings
from django.contrib.auth.management.commands import changepassword
from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS
from django.http import HttpRequest

from circlecare.accounts.models import User
from circlecare.accounts.services import secure_after_password_change


class Command(changepassword.Command):
    help = (
        "Change a user's password, sign them out on every device, revoke their API tokens and "
        "e-mail them."
    )

    def handle(self, *args: Any, **options: Any) -> str:
        if options["database"] != DEFAULT_DB_ALIAS:
            # Sessions, tokens and the audit trail live in the default database only: a password
            # changed elsewhere would leave the account's devices signed in.
            raise CommandError("circlecare keeps accounts in the default database only.")
        # Raises CommandError, having changed nothing, unless the password was changed.
        done = super().handle(*args, **options) or ""
        username = options["username"] or getpass.getuser()
        member = User._default_manager.get(**{User.USERNAME_FIELD: username})
        outcome = secure_after_password_change(
            user=member, how="command", keep_session_key=None, actor=None
        )
        # As after a change in the admin: if the owner did not ask for it, this is how they hear.
        # Account e-mails are made for a request; here there is none, so one stands for the
        # site's public address.
        site = HttpRequest()
        site.META["HTTP_HOST"] = urlsplit(settings.SITE_URL).netloc
        with context.request_context(site):
            account_adapter(site).send_notification_mail(
                "account/email/password_changed", member, {"by_practice": True}
            )
        sessions, tokens = outcome.sessions_ended, outcome.tokens_revoked
        return (
            f"{done}\nSigned out everywhere: {sessions} session{'' if sessions == 1 else 's'} "
            f"ended, {tokens} API token{'' if tokens == 1 else 's'} revoked."
        )
