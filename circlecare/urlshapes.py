"""Reverse URLs without walking the URL configuration on every call.

Django's ``reverse`` matches the name's candidate patterns against the arguments each time it is
called; on a page with a link in every row that is a large share of the page's time. ``reverse``
here works out a name's *shape* once — the URL with holes where the arguments go — by reversing it
with two different sets of marker values, and from then on fills the holes in.

A shape is only used where it cannot differ from Django's answer: for a name without arguments
(its URL is fixed), or for a name with a single ``path()`` route whose converters are Django's
``int``, ``slug``, ``str`` or ``path`` (which accept every value used here), inside includes that
are ``path()`` routes too, and only when both sets of markers give the same shape. Every other
name — a ``re_path`` pattern, a custom converter, one name on two routes — and any argument that
is not a non-negative integer or a slug-safe string goes through Django's ``reverse``.

The ``{% url %}`` tag is replaced by one that reverses this way (``circlecare.templating``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.urls import (
    NoReverseMatch,
    URLPattern,
    URLResolver,
    get_resolver,
    get_script_prefix,
    get_urlconf,
)
from django.urls import reverse as django_reverse
from django.urls.converters import IntConverter, PathConverter, SlugConverter, StringConverter
from django.urls.resolvers import RoutePattern
from django.utils.translation import get_language

#: Values that need no quoting in a URL and that the widest converters (slug, str, path) accept.
_SLUG = re.compile(r"[-a-zA-Z0-9_]+\Z")
_DIGITS = re.compile(r"[0-9]+\Z")

#: Two sets of markers per kind of value, of different lengths and letters, so a pattern that
#: only accepts some lengths or letters shows itself by reversing them differently.
_MARKERS = {
    "int": ("9173200000{}", "48271900000000{}"),
    "slug": ("Qx9-z_M{}k", "zz-Rb7_qqW{}T"),
}
#: Shapes are few (one per URL name, kind of arguments, script prefix and language); the bound
#: only guards against a caller that builds names at run time.
_MAX_SHAPES = 4096
#: A shape: which value fills each hole, in the URL's order, and the literal text around them.
Shape = tuple[tuple[int, ...], tuple[str, ...]]
_shapes: dict[tuple[Any, ...], Shape | None] = {}
#: Converters that accept every value of a kind (digits for all four; slug-safe text for three).
_ACCEPTS = {
    "int": (IntConverter, SlugConverter, StringConverter, PathConverter),
    "slug": (SlugConverter, StringConverter, PathConverter),
}
#: URL configuration → full URL name → the converters of each of its routes (None: a route that
#: is not a plain ``path()`` all the way down).
_routes: dict[Any, dict[str, list[dict[str, Any] | None]]] = {}


def _collect(
    resolver: URLResolver,
    namespace: str,
    outer: dict[str, Any] | None,
    into: dict[str, list[dict[str, Any] | None]],
) -> None:
    for entry in resolver.url_patterns:
        converters = (
            {**outer, **entry.pattern.converters}
            if outer is not None and isinstance(entry.pattern, RoutePattern)
            else None
        )
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            # An application namespace with instances of other names is left to Django, which
            # picks the instance from the current app.
            plain_namespace = entry.app_name == entry.namespace
            _collect(entry, inner, converters if plain_namespace else None, into)
        elif isinstance(entry, URLPattern) and entry.name:
            into.setdefault(f"{namespace}{entry.name}", []).append(converters)


def _single_plain_route(viewname: str, urlconf: Any) -> dict[str, Any] | None:
    """The converters of the one plain route named ``viewname``, or None."""
    if urlconf not in _routes:
        found: dict[str, list[dict[str, Any] | None]] = {}
        _collect(get_resolver(urlconf), "", {}, found)
        _routes[urlconf] = found
    candidates = _routes[urlconf].get(viewname, [])
    return candidates[0] if len(candidates) == 1 else None


def _kind(value: Any) -> str | None:
    if type(value) is int:
        return "int" if value >= 0 else None
    if type(value) is str:
        if _DIGITS.match(value):
            return "int"
        if _SLUG.match(value):
            return "slug"
    return None


def _shape(
    viewname: str,
    kinds: Sequence[str],
    keys: Sequence[str],
    current_app: str | None,
    urlconf: Any,
) -> Shape | None:
    """The URL split at its holes (literal, hole, literal, …), or None when it has no fixed shape."""
    if kinds:
        converters = _single_plain_route(viewname, urlconf)
        if converters is None or len(converters) != len(kinds):
            return None
        if keys and set(keys) != set(converters):
            return None
        # Positional arguments fill the route's converters in order; keyword ones by name.
        slots = [converters[k] for k in keys] if keys else list(converters.values())
        # Django's own converters only: a subclass may narrow what it accepts.
        if not all(type(c) in _ACCEPTS[k] for c, k in zip(slots, kinds, strict=True)):
            return None
    found = []
    for variant in (0, 1):
        markers = [_MARKERS[kind][variant].format(i) for i, kind in enumerate(kinds)]
        n_args = len(kinds) - len(keys)
        try:
            url = django_reverse(
                viewname,
                urlconf=urlconf,
                args=markers[:n_args],
                kwargs=dict(zip(keys, markers[n_args:], strict=True)),
                current_app=current_app,
            )
        except NoReverseMatch:  # Django says why when the real values are reversed
            return None
        if any(url.count(marker) != 1 for marker in markers):
            return None
        # Holes in the order they appear in the URL (keyword arguments need not follow it).
        order = sorted(range(len(markers)), key=lambda i: url.index(markers[i]))
        parts, at = [], 0
        for i in order:
            start = url.index(markers[i])
            parts.append(url[at:start])
            at = start + len(markers[i])
        parts.append(url[at:])
        found.append((tuple(order), tuple(parts)))
    return found[0] if found[0] == found[1] else None


def reverse(
    viewname: str,
    args: Sequence[Any] | None = None,
    kwargs: dict[str, Any] | None = None,
    current_app: str | None = None,
    urlconf: Any = None,
) -> str:
    """``django.urls.reverse`` for a name, positional or keyword arguments and a current app."""
    args = args or ()
    kwargs = kwargs or {}
    if not isinstance(viewname, str) or (args and kwargs):
        return django_reverse(viewname, urlconf, args, kwargs, current_app)
    keys = tuple(sorted(kwargs))
    values = [*args, *(kwargs[k] for k in keys)]
    kinds = tuple(_kind(v) for v in values)
    if None in kinds:
        return django_reverse(viewname, urlconf, args, kwargs, current_app)
    if urlconf is None:
        urlconf = get_urlconf() or settings.ROOT_URLCONF
    key = (viewname, kinds, keys, current_app, urlconf, get_script_prefix(), get_language())
    if key in _shapes:
        shape = _shapes[key]
    else:
        shape = _shape(viewname, kinds, keys, current_app, urlconf)  # type: ignore[arg-type]
        if len(_shapes) >= _MAX_SHAPES:
            _shapes.clear()
        _shapes[key] = shape
    if shape is None:
        return django_reverse(viewname, urlconf, args, kwargs, current_app)
    order, parts = shape
    pieces = [parts[0]]
    for i, literal in zip(order, parts[1:], strict=True):
        pieces.append(str(values[i]))
        pieces.append(literal)
    return "".join(pieces)


def forget() -> None:
    """Drop every shape (the URL configuration changed, as in tests that override it)."""
    _shapes.clear()
    _routes.clear()
