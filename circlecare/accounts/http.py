from __future__ import annotations

from urllib.parse import urlsplit

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from circlecare.accounts.models import User


def signed_in(request: HttpRequest) -> User:
    """The request's user, in views and API handlers that only run for a signed-in person."""
    user = request.user
    assert isinstance(user, User)
    return user


#: Longer than any page of the site needs; a longer ``next`` is not kept.
MAX_NEXT_LENGTH = 1000


def is_site_path(url: str | None) -> bool:
    """Whether ``url`` is a path on this site ("/my/partner/…"): not an absolute URL, and nothing a
    browser would read as one ("//host", "/\\host", "https:host", control characters), nor a bare
    word that ``redirect()`` would take for the name of a page."""
    if not url or len(url) > MAX_NEXT_LENGTH or not url.startswith("/") or not url.isprintable():
        return False
    if url.startswith(("//", "/\\")):
        return False
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return False
    return url_has_allowed_host_and_scheme(url, allowed_hosts=None)


def local_path(value: str | None) -> str | None:
    """``value`` if it is a path on this site, for a ``next`` to go back to; else None."""
    return value if is_site_path(value) else None
