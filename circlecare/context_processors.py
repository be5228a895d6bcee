from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from circlecare.accounts.security import idle_limit


def site(request: HttpRequest) -> dict[str, Any]:
    return {
        "DEMO_MODE": settings.DEMO_MODE,
        "SITE_URL": settings.SITE_URL,
        "IDLE_TIMEOUT_SECONDS": idle_timeout(request),
    }


def idle_timeout(request: HttpRequest) -> int | None:
    """Seconds without a request before this person is signed out (SECURITY.md A5), or None."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return idle_limit(request)
