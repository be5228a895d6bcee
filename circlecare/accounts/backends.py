"""The sign-in backends, each reading the signed-in user of a request with one prepared statement,
and what a coordinator may do in the admin.

Signing in is Django's and allauth's own; ``get_user`` runs on every signed-in request, where
compiling the lookup anew cost about as much as the database took to answer it.

A coordinator is a user marked ``is_staff`` (the admin's "coordinator" box). Being one gives the
permissions the role needs there, whatever groups the account is in: the inquiry inbox, the
clinicians' licences and privileges, the agreements' versions, care-circle weeks and settings, the
audit trail, and reading (not editing) accounts and enrollments. Making people staff or
superusers, and everything else, stays with superusers.
"""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend

from circlecare.accounts.models import User
from circlecare.prebuilt import PreparedRead

_user_by_pk = PreparedRead(lambda pk: User._default_manager.filter(pk=pk), "pk")


def _each(app: str, actions: str, *models: str) -> set[str]:
    return {f"{app}.{action}_{model}" for action in actions.split() for model in models}


COORDINATOR_PERMISSIONS = frozenset(
    _each("inquiries", "view change", "inquiry")
    | _each("practice", "view add change", "clinician", "license", "compactprivilege")
    | _each("enrollment", "view add change", "consentdocument")
    | _each("enrollment", "view", "enrollment", "consentsignature", "partnerinvite")
    | _each("programs", "view add change", "program", "programweek", "cohort")
    | _each("care", "view add change", "cohortweek", "careboardsetting")
    | _each("care", "view", "nudgesent")
    | _each("measures", "view change", "measurementplan")
    | _each("audit", "view", "auditevent")
    | _each("accounts", "view", "user")
)


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

    def get_group_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        permissions = super().get_group_permissions(user_obj, obj)
        if user_obj.is_active and user_obj.is_staff and obj is None:
            permissions = permissions | COORDINATOR_PERMISSIONS
        return permissions


class AuthenticationBackend(AllauthBackend):
    def get_user(self, user_id: Any) -> User | None:
        return _active_user(self, user_id)
