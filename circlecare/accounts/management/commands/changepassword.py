"""Django's ``changepassword``, followed by what every password change does: the account is
signed out everywhere and its API tokens are revoked. Nobody is signed in at the command line, so
no session is kept and the audit event names no actor."""

from __future__ import annotations

import getpass
from typing import Any

from django.contrib.auth.management.commands import changepassword

from circlecare.accounts.models import User
from circlecare.accounts.services import secure_after_password_change


class Command(changepassword.Command):
    help = "Change a user's password, sign them out on every device and revoke their API tokens."

    def handle(self, *args: Any, **options: Any) -> str:
        # Raises CommandError, having changed nothing, unless the password was changed.
        done = super().handle(*args, **options) or ""
        username = options["username"] or getpass.getuser()
        member = User._default_manager.using(options["database"]).get(
            **{User.USERNAME_FIELD: username}
        )
        outcome = secure_after_password_change(
            user=member, how="command", keep_session_key=None, actor=None
        )
        sessions, tokens = outcome.sessions_ended, outcome.tokens_revoked
        return (
            f"{done}\nSigned out everywhere: {sessions} session{'' if sessions == 1 else 's'} "
            f"ended, {tokens} API token{'' if tokens == 1 else 's'} revoked."
        )
