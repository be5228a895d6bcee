from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.utils import get_next_redirect_url
from allauth.mfa.adapter import DefaultMFAAdapter
from django import forms
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from django.utils import timezone

from circlecare.accounts.http import is_site_path
from circlecare.accounts.services import end_other_sessions
from circlecare.crypto import column_context, decrypt, encrypt
from circlecare.emails import on_site
from circlecare.meetings.schedule import format_local

#: The longest address an account holds (``User.email`` and allauth's ``EmailAddress.email``).
EMAIL_MAX_LENGTH = 254


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return True

    def is_safe_url(self, url: str | None) -> bool:
        # Every ``next`` allauth follows (sign-in, sign-up, e-mail confirmation) stays on the site.
        return is_site_path(url) and super().is_safe_url(url)

    def clean_email(self, email: str) -> str:
        """An address longer than an account can hold (254 characters, as the standard allows) is
        refused here, on sign-up and when adding one: allauth would otherwise cut it short to fit
        and send the confirmation to an address that isn't one."""
        if len(email) > EMAIL_MAX_LENGTH:
            raise forms.ValidationError(
                f"That address is too long: an e-mail address has at most {EMAIL_MAX_LENGTH} "
                "characters."
            )
        return super().clean_email(email)

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        return super().get_login_redirect_url(request)

    def get_email_confirmation_url(self, request: HttpRequest, emailconfirmation: Any) -> str:
        """The confirmation link carries the page the person was on their way to (the ``next`` of
        the sign-up or sign-in form), so that confirming takes them back there, in whichever
        browser they open the e-mail: someone invited to a group returns to the invitation."""
        url = super().get_email_confirmation_url(request, emailconfirmation)
        target = get_next_redirect_url(request) if request is not None else None
        if not target:
            return url
        return f"{url}{'&' if '?' in url else '?'}{urlencode({'next': target})}"

    def logout(self, request: HttpRequest) -> None:
        """Signing out ends every session of the account, on every device (SECURITY.md A5): a
        phone or a shared computer left signed in is signed out too. (An idle or over-age
        session ending on its own ends only itself.)"""
        user = request.user
        if user.is_authenticated:
            end_other_sessions(user=user, keep_session_key=request.session.session_key)
        super().logout(request)

    def send_notification_mail(
        self,
        template_prefix: str,
        user: AbstractBaseUser,
        context: dict[str, Any] | None = None,
        email: str | None = None,
    ) -> None:
        """ "Your password was changed" and the like say when in the member's own zone, as every
        other e-mail does, with the zone's abbreviation so the time can't be misread.

        A change the practice made for the member (in the admin, or at the server's command line,
        where there is no request) says so instead of giving a staff member's address and
        browser: pass ``{"by_practice": True}``."""
        zone = getattr(user, "time_zone", "") or "UTC"
        context = {"timestamp": format_local(timezone.now(), zone), **(context or {})}
        if context.get("by_practice"):
            from allauth.account import app_settings as allauth_settings
            from allauth.account.models import EmailAddress

            if not allauth_settings.EMAIL_NOTIFICATIONS:
                return
            email = email or EmailAddress.objects.get_primary_email(user)
            if email:
                self.send_mail(template_prefix, email, context)
            return
        super().send_notification_mail(template_prefix, user, context, email)

    def format_email_subject(self, subject: str) -> str:
        """ "circlecare: reset your password", written as every other e-mail's subject is."""
        return super().format_email_subject(subject[:1].lower() + subject[1:])

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Links in account e-mails (confirm, reset, sign up) point at the site's public address,
        ``SITE_URL``, as every other e-mail's do, not at whichever host name the request used.
        The password-reset e-mail says how long its link works (``PASSWORD_RESET_TIMEOUT``)."""
        links = {
            key: on_site(value)
            for key, value in context.items()
            if key.endswith("_url") and isinstance(value, str) and value
        }
        extra = {"reset_link_lifetime": reset_link_lifetime()}
        super().send_mail(template_prefix, email, {**context, **links, **extra})

    def populate_username(self, request: HttpRequest, user: Any) -> None:
        # e-mail is the username; nothing to fill in.
        return None


def reset_link_lifetime() -> str:
    """How long a password-reset link works, in words: "one hour", "3 hours", "30 minutes"."""
    minutes = max(1, int(settings.PASSWORD_RESET_TIMEOUT) // 60)
    if minutes % 60:
        return "one minute" if minutes == 1 else f"{minutes} minutes"
    hours = minutes // 60
    return "one hour" if hours == 1 else f"{hours} hours"


#: Where allauth keeps the secrets it asks to be encrypted (TOTP secret, recovery-code seed): the
#: JSON ``data`` of its authenticators. Bound there, like every encrypted column's values.
MFA_SECRETS = column_context("mfa_authenticator", "data")


class MFAAdapter(DefaultMFAAdapter):
    """TOTP secrets are stored encrypted with the field key, like every other secret at rest."""

    def encrypt(self, text: str) -> str:
        return encrypt(text, context=MFA_SECRETS)

    def decrypt(self, encrypted_text: str) -> str:
        return decrypt(encrypted_text, context=MFA_SECRETS)
