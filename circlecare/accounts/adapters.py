from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.http import HttpRequest

from circlecare.crypto import decrypt, encrypt


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return True

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        return super().get_login_redirect_url(request)

    def populate_username(self, request: HttpRequest, user: Any) -> None:
        # e-mail is the username; nothing to fill in.
        return None


class MFAAdapter(DefaultMFAAdapter):
    """TOTP secrets are stored encrypted with the field key, like every other secret at rest."""

    def encrypt(self, text: str) -> str:
        return encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return decrypt(encrypted_text)
