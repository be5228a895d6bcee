"""Every signed-in page states the idle sign-out time (WCAG 2.2.1) in its warning dialog, and can
ask whether the session is still signed in without extending it."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.urls import reverse

from circlecare.accounts.security import LAST_SEEN
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_signed_in_member_is_told_the_idle_limit_and_a_visitor_is_not(client: Client) -> None:
    visitor = client.get(reverse("home")).content.decode()
    assert 'id="idle-warning"' not in visitor

    client.force_login(UserFactory())
    page = client.get(reverse("home")).content.decode()
    assert 'data-idle-seconds="1800"' in page
    assert "signs you out after 30 minutes without activity" in page
    assert 'aria-labelledby="idle-warning-title"' in page


def age_session(client: Client, *, idle: float) -> None:
    session = client.session
    session[LAST_SEEN] = time.time() - idle
    session.save()


def status_of(client: Client) -> dict[str, object]:
    response = client.get(reverse("session_status"))
    assert response.status_code == 200
    # A stored answer would tell a tab it is still signed in after the session has ended.
    assert "no-store" in response["Cache-Control"]
    return response.json()


def test_a_visitor_is_told_they_are_not_signed_in(client: Client) -> None:
    assert status_of(client) == {"signed_in": False, "seconds_left": 0}


def test_asking_tells_the_time_left_and_never_counts_as_activity(client: Client) -> None:
    """Another tab's activity shows in the answer; this tab asking does not extend the session."""
    client.force_login(UserFactory())
    age_session(client, idle=10 * 60)  # well past the once-a-minute write of activity
    seen = client.session[LAST_SEEN]

    answer = status_of(client)
    assert answer["signed_in"] is True
    assert 20 * 60 - 5 <= answer["seconds_left"] <= 20 * 60  # type: ignore[operator]
    assert client.session[LAST_SEEN] == seen

    # A page request from another tab is activity: the next answer has the full time again.
    client.get(reverse("profile"))
    assert status_of(client)["seconds_left"] >= 30 * 60 - 5  # type: ignore[operator]


def test_an_idle_expired_session_is_reported_signed_out_and_ended(client: Client) -> None:
    client.force_login(UserFactory())
    age_session(client, idle=31 * 60)
    assert status_of(client) == {"signed_in": False, "seconds_left": 0}
    assert "_auth_user_id" not in client.session
    response = client.get(reverse("profile"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def test_the_warning_knows_where_to_ask(client: Client) -> None:
    client.force_login(UserFactory())
    page = client.get(reverse("home")).content.decode()
    assert f'data-status-url="{reverse("session_status")}"' in page
