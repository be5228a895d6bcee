"""The check-in reminder a member reads: their name, the right number, how to stop it."""

from __future__ import annotations

import html

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from circlecare.measures.notifications import send_due_reminder
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_several_questionnaires_are_counted_in_plain_words() -> None:
    member = UserFactory(display_name="Ana")
    send_due_reminder(member, 3)
    [message] = mail.outbox
    assert message.subject == "circlecare: short check-ins are waiting"
    assert message.body.startswith("Hello Ana,\n\n")
    assert "You have 3 short questionnaires waiting for you. Each takes a few minutes." in (
        message.body
    )
    assert "It takes" not in message.body
    assert "your group" not in message.body  # the three may be from different groups
    assert f"You'll find them here, after signing in:\n{settings.SITE_URL}/measures/" in (
        message.body
    )


def test_one_questionnaire_and_the_way_to_stop_these_reminders() -> None:
    member = UserFactory(display_name="Ana")
    send_due_reminder(member, 1)
    [message] = mail.outbox
    assert message.subject == "circlecare: a short check-in is waiting"
    assert "You have a short questionnaire waiting for you. It takes a few minutes." in (
        message.body
    )
    assert (
        "You can turn these reminders off in your account settings, after signing in:\n"
        f"{settings.SITE_URL}/accounts/profile/\n\n"
        "If you are in crisis, call or text 988 (US), or your local emergency number.\n"
    ) in message.body


def test_the_setting_these_reminders_point_to_names_them(client: Client) -> None:
    """The reminder says "you can turn these reminders off in your account settings": the one
    setting that does so (it stops meeting reminders too) says it covers questionnaires."""
    member = UserFactory()
    client.force_login(member)
    page = html.unescape(client.get(reverse("profile")).content.decode())
    assert "E-mail me reminders of meetings and of questionnaires" in page
