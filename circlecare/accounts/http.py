from __future__ import annotations

from django.http import HttpRequest

from circlecare.accounts.models import User


def signed_in(request: HttpRequest) -> User:
    """The request's user, in views and API handlers that only run for a signed-in person."""
    user = request.user
    assert isinstance(user, User)
    return user
