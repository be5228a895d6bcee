"""Cross-cutting HTTP behaviour: security headers, the viewer's time zone, and the 405 page."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from urllib.parse import unquote

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from django.utils import timezone

VIEWER_TZ_COOKIE = "tz"


class SecurityHeadersMiddleware:
    """Content-Security-Policy and related headers on every response (SECURITY.md D4)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(self), microphone=(self), geolocation=()"
        )
        if getattr(request, "clinical", False):
            response.headers["Cache-Control"] = "no-store"
        elif "Cache-Control" not in response.headers and _private(request):
            # Someone's own pages and every API answer hold personal data: no browser or proxy
            # keeps a copy (one that outlives signing out on a shared computer, say).
            response.headers["Cache-Control"] = "no-store"
        return response


def _private(request: HttpRequest) -> bool:
    if request.path.startswith("/api/"):
        return True
    user = getattr(request, "user", None)  # not set for static files, served before sign-in
    return bool(user is not None and user.is_authenticated)


def resolve_zone(name: str | None) -> zoneinfo.ZoneInfo | None:
    if not name or len(name) > 64:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    # OSError: a key naming a folder of the zone database ("America") is opened as a file.
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


def reported_zone(request: HttpRequest) -> str:
    """The zone name the visitor's browser reported in the ``tz`` cookie, as written there
    (``static/js/local-time.js`` encodes it: "America%2FChicago"); empty when there is none."""
    return unquote(request.COOKIES.get(VIEWER_TZ_COOKIE, ""))[:64]


class ViewerTimezoneMiddleware:
    """Show times in the viewer's zone: their profile's zone, else the zone their browser reported."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            zone = resolve_zone(getattr(user, "time_zone", None))
        if zone is None:
            zone = resolve_zone(reported_zone(request))
        request.viewer_zone = zone or zoneinfo.ZoneInfo("UTC")  # type: ignore[attr-defined]
        request.viewer_zone_known = zone is not None  # type: ignore[attr-defined]
        timezone.activate(request.viewer_zone)  # type: ignore[attr-defined]
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class MethodNotAllowedPageMiddleware:
    """A page in the site's layout instead of the empty 405 that ``require_POST`` answers.

    People reach a POST-only address by a bookmark, a copied link or the back button; a blank page
    leaves them with nowhere to go. Under /api/ the answer is the API's error shape instead.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not isinstance(response, HttpResponseNotAllowed):
            return response
        if request.path_info.startswith("/api/"):
            from circlecare.api import method_not_allowed

            return method_not_allowed(response["Allow"])
        if response.content:
            return response
        page = render(request, "405.html", status=405)
        page["Allow"] = response["Allow"]
        return page
