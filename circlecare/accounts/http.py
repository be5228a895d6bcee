from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from circlecare.accounts.models import User


def signed_in(request: HttpRequest) -> User:
    """The request's user, in views and API handlers that only run for a signed-in person."""
    user = request.user
    assert isinstance(user, User)
    return user


def local_path(request: HttpRequest, value: str | None) -> str | None:
    """``value`` if it is a path on this site ("/my/…"), for a ``next`` to go back to; else
    None. Not a bare word either, which ``redirect()`` would take for the name of a page."""
    if (
        value
        and value.startswith("/")
        and url_has_allowed_host_and_scheme(
            value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return value
    return None
