"""Account e-mails name circlecare, not the host, and never carry text a stranger typed."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
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
    match = re.search(rf"http://{re.escape(HOST)}(/\S+)", body)
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
