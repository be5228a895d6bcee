"""Sending e-mail over SMTP without writing members' addresses into error records.

A mail server that refuses a message says why in its reply, and its reply usually names the
address (``550 5.1.1 <someone@example.org>: Recipient address rejected``). Django's SMTP backend
raises that reply as it is, and a task that fails keeps its error text in the task table for
weeks (``circlecare.task_history``). ``SMTPBackend`` raises the same kinds of error with the
server's reply code alone: enough to tell a full mailbox from an unknown address from a server
that is down, with nobody's address in it.
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from typing import Any

from django.core.mail.backends.smtp import EmailBackend


class MailRefused(smtplib.SMTPException):
    """The mail server refused a message; the text gives its reply code(s) and no address."""


class SMTPBackend(EmailBackend):
    """Django's SMTP backend, with refusals told by their reply codes only (module docstring)."""

    def send_messages(self, email_messages: Sequence[Any]) -> int:
        try:
            return super().send_messages(email_messages)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = ", ".join(
                str(code) for code in sorted({c for c, _m in exc.recipients.values()})
            )
            raise MailRefused(
                f"The mail server refused the recipients (SMTP {codes or 'reply'})."
            ) from None
        except smtplib.SMTPResponseException as exc:
            # Sender refused, data refused, authentication failed, ...: the reply text may quote
            # an address, the code does not.
            raise MailRefused(
                f"The mail server refused the message ({type(exc).__name__}, SMTP {exc.smtp_code})."
            ) from None
