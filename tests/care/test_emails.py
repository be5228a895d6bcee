"""Care e-mails end with the link that turns them off, and the crisis line."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.conf import settings
from django.core import mail

from circlecare.care import services
from circlecare.care.nudges import send_weekly_nudges
from tests.care.factories import CarePostFactory, make_circle

pytestmark = pytest.mark.django_db

ENDING = "If you are in crisis, call or text 988 (US), or your local emergency number.\n"


def _turn_off(what: str) -> str:
    return (
        f"You can turn {what} off in your account settings, after signing in:\n"
        f"{settings.SITE_URL}/accounts/profile/\n\n{ENDING}"
    )


@pytest.mark.django_db(transaction=True)  # the real worker closes the connection it used
def test_the_response_email_links_to_the_setting_that_stops_it(run_worker: Any) -> None:
    circle = make_circle(2)
    author, helper = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=author)
    services.respond(post=post, actor=helper)
    run_worker()
    [message] = mail.outbox
    assert message.body.endswith(_turn_off("these e-mails"))


def test_the_nudge_links_to_the_setting_that_stops_it() -> None:
    make_circle(2)
    # Monday 10:00 in New York, where the members live: their nudges are due.
    send_weekly_nudges(now=datetime(2026, 11, 23, 15, 0, tzinfo=UTC))
    assert mail.outbox
    for message in mail.outbox:
        assert message.body.endswith(_turn_off("these suggestions"))
