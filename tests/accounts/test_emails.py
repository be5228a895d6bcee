"""Account e-mails name circlecare, not the host, and never carry text a stranger typed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from circlecare.accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HOST = "127.0.0.1:8765"
PASSWORD = "river stones hum softly"
PLANTED = "<script>x</script> visit evil.example"


def link_in(body: str) -> str:
    match = re.search(rf"{re.escape(settings.SITE_URL)}(/\S+)", body)
    assert match, body
    return match.group(1)


def test_signup_email_names_circlecare_and_not_the_typed_name() -> None:
    client = Client(HTTP_HOST=HOST)
    response = client.post(
        reverse("account_signup"),
        {
            "email": "someone-else@example.org",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "display_name": PLANTED,
            "home_state": "NJ",
            "time_zone": "America/New_York",
            "adult": "on",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="someone-else@example.org")
    assert user.display_name == PLANTED  # the name was accepted; only the e-mail must not repeat it

    [message] = mail.outbox
    text = f"{message.subject}\n{message.body}"
    assert "<script>" not in text and "evil.example" not in text
    assert f"Hello from {HOST}" not in text and f"Thank you for using {HOST}" not in text
    assert "circlecare" in message.subject and "circlecare" in message.body

    confirm = link_in(message.body)
    assert "/confirm-email/" in confirm
    page = client.get(confirm).content.decode()
    assert "Please confirm that someone-else@example.org is your e-mail address" in page
    assert "evil.example" not in page and "for user" not in page
    client.post(confirm)
    assert EmailAddress.objects.get(email="someone-else@example.org").verified


def test_added_address_confirmation_names_circlecare_and_not_the_member() -> None:
    user = UserFactory(display_name="Visit evil example")
    client = Client(HTTP_HOST=HOST)
    client.force_login(user)
    response = client.post(
        reverse("account_email"), {"action_add": "", "email": "second@example.org"}
    )
    assert response.status_code == 302
    [message] = mail.outbox
    assert message.to == ["second@example.org"]
    assert "circlecare" in message.body and f"Hello from {HOST}" not in message.body
    assert "evil" not in message.body.lower()
    assert "/confirm-email/" in link_in(message.body)


def test_password_reset_email_names_circlecare_not_the_host() -> None:
    user = UserFactory(email="reset@example.org", display_name="Visit evil example")
    client = Client(HTTP_HOST=HOST)
    client.post(reverse("account_reset_password"), {"email": user.email})
    [message] = mail.outbox
    assert (
        f"Hello from {HOST}" not in message.body
        and f"Thank you for using {HOST}" not in message.body
    )
    assert "circlecare" in message.body and "evil" not in message.body.lower()
    assert "/password/reset/key/" in link_in(message.body)


def test_account_links_use_the_sites_public_address_not_the_host_asked(settings: Any) -> None:
    # The request came in on a host name that is allowed but is not the public address.
    settings.SITE_URL = "https://care.example.org"
    UserFactory(email="reset@example.org")
    Client(HTTP_HOST=HOST).post(reverse("account_reset_password"), {"email": "reset@example.org"})
    [message] = mail.outbox
    assert "https://care.example.org/accounts/password/reset/key/" in message.body
    assert HOST not in message.body


def test_a_reset_for_an_unknown_address_is_plain_and_in_circlecares_words() -> None:
    Client(HTTP_HOST=HOST).post(reverse("account_reset_password"), {"email": "nobody@example.org"})
    [message] = mail.outbox
    assert message.subject == "circlecare: no account uses this e-mail address"
    assert "no circlecare account uses it" in message.body
    assert f"{settings.SITE_URL}/accounts/signup/" in message.body
    assert "database" not in message.body and "email " not in message.body


def test_account_notices_have_plain_subjects_in_the_sites_style() -> None:
    from allauth.core.context import request_context
    from django.test import RequestFactory

    from circlecare.accounts.adapters import AccountAdapter

    user = UserFactory(email="notice@example.org")
    request = RequestFactory(HTTP_USER_AGENT="Firefox").get("/")
    request.user = user
    with request_context(request):
        adapter = AccountAdapter(request)
        for prefix in (
            "account/email/password_changed",
            "account/email/email_changed",
            "mfa/email/totp_deactivated",
            "mfa/email/recovery_codes_generated",
        ):
            adapter.send_notification_mail(
                prefix, user, {"from_email": "old@example.org", "to_email": user.email}
            )
    assert [m.subject for m in mail.outbox] == [
        "circlecare: your password was changed",
        "circlecare: your e-mail address was changed",
        "circlecare: two-factor authentication is off",
        "circlecare: new recovery codes were made",
    ]
    assert "e-mail address was changed from old@example.org to notice@example.org." in (
        mail.outbox[1].body
    )
