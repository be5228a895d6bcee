"""Sessions and the signed-in user are read with prepared statements (``accounts.sessions``,
``accounts.backends``): what they load, refuse and forget is still Django's behaviour."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from circlecare.accounts.backends import AuthenticationBackend, ModelBackend
from circlecare.accounts.sessions import SessionStore
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_saved_session_loads_and_an_expired_or_unknown_one_does_not() -> None:
    store = SessionStore()
    store["seen"] = 42
    store.create()
    key = store.session_key
    assert SessionStore(session_key=key)["seen"] == 42
    other = SessionStore()
    other["seen"] = 7
    other.create()
    assert SessionStore(session_key=other.session_key)["seen"] == 7
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    expired = SessionStore(session_key=key)
    assert expired.load() == {}
    assert expired.session_key is None  # an expired key is not reused
    unknown = SessionStore(session_key="x" * 32)
    assert unknown.load() == {} and unknown.session_key is None
    assert SessionStore().load() == {}


@pytest.mark.parametrize("backend", [ModelBackend(), AuthenticationBackend()])
def test_the_backends_return_active_users_only(backend: ModelBackend) -> None:
    user, other = UserFactory(), UserFactory()
    assert backend.get_user(user.pk) == user
    assert backend.get_user(str(other.pk)) == other
    user.is_active = False
    user.save()
    assert backend.get_user(user.pk) is None
    assert backend.get_user(other.pk + user.pk + 1000) is None
    assert backend.get_user("nonsense") is None
    assert backend.get_user(None) is None


def test_signing_in_and_out_keeps_working(client: Client) -> None:
    user = UserFactory()
    client.force_login(user)
    assert client.get(reverse("enrollment:my_groups")).status_code == 200
    key = client.session.session_key
    assert Session.objects.get(session_key=key).get_decoded()[SESSION_KEY] == str(user.pk)
    client.post(reverse("account_logout"))
    assert not Session.objects.filter(session_key=key).exists()
    page = client.get(reverse("enrollment:my_groups"))
    assert page.status_code == 302  # to the sign-in page
