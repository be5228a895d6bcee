"""The sign-in backends, each reading the signed-in user of a request with one prepared statement.

Signing in is Django's and allauth's own; ``get_user`` runs on every signed-in request, where
compiling the lookup anew cost about as much as the database took to answer it.
"""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend

from circlecare.accounts.models import User
from circlecare.prebuilt import PreparedRead

_user_by_pk = PreparedRead(lambda pk: User._default_manager.filter(pk=pk), "pk")


def _active_user(backend: DjangoModelBackend, user_id: Any) -> User | None:
    try:
        found = _user_by_pk(pk=int(user_id))
    except (TypeError, ValueError):
        return None
    if not found or not backend.user_can_authenticate(found[0]):
        return None
    return found[0]


class ModelBackend(DjangoModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        return _active_user(self, user_id)


class AuthenticationBackend(AllauthBackend):
    def get_user(self, user_id: Any) -> User | None:
        return _active_user(self, user_id)
