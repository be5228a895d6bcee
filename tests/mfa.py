"""Give a test user a real TOTP authenticator and compute its current code."""

from __future__ import annotations

import time

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value

PERIOD = 30


def enable_totp(user: object) -> str:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)  # type: ignore[arg-type]
    return secret


def code_for(secret: str, *, offset: int = 0) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // PERIOD + offset))


def has_totp(user: object) -> bool:
    return Authenticator.objects.filter(user=user, type="totp").exists()
