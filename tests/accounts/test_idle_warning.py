"""Every signed-in page states the idle sign-out time (WCAG 2.2.1) in its warning dialog."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

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
