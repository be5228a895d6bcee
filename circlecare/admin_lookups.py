"""The admin's lists, safe against a search or filter no record can match.

The change list passes its query string to the database as it stands. Two kinds of value fail
there with a 500 instead of "no results" (a hand-made or mangled address): a NUL byte, which
PostgreSQL refuses in any text, and a date-hierarchy year, month or day too large for Python's
dates (``?at__year=9223372036854775808`` overflows before Django's own check of the date). Each
is answered with a 400 page that says what was wrong, and nothing is looked up.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

DATE_PART = re.compile(r"__(year|month|day)$")
SMALL_NUMBER = re.compile(r"^[0-9]{1,4}$")


def problem_with(request: HttpRequest) -> str | None:
    for key, values in request.GET.lists():
        if "\x00" in key or any("\x00" in value for value in values):
            return "The address holds a character no record can contain (a NUL byte)."
        if DATE_PART.search(key) and not all(SMALL_NUMBER.match(value) for value in values):
            return "The address asks for a date that does not exist."
    return None


def refusing_unusable_lookups(
    view: Callable[..., HttpResponse], site: AdminSite
) -> Callable[..., HttpResponse]:
    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        problem = problem_with(request)
        if problem is None:
            return view(request, *args, **kwargs)
        context = {
            **site.each_context(request),
            "title": "Nothing to show",
            "problem": problem,
        }
        return TemplateResponse(request, "admin/unusable_lookup.html", context, status=400)

    return checked


def refuse_unusable_lookups(site: AdminSite) -> None:
    """Every view of ``site`` checks its query string first (after the admin's own sign-in and
    permission checks). Call it before ``site.urls`` is read: that builds the views."""
    admin_view = site.admin_view

    def checked_admin_view(view: Any, cacheable: bool = False) -> Any:
        return admin_view(refusing_unusable_lookups(view, site), cacheable)

    site.admin_view = checked_admin_view  # type: ignore[method-assign]
