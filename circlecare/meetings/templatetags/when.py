"""Show a moment in the viewer's zone, and in the group's own zone when that differs."""

from __future__ import annotations

from datetime import datetime, time
from html import escape
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from circlecare.meetings.schedule import clock_text, format_for_viewer, format_local, place_of

register = template.Library()


def _viewer(context: dict[str, Any]) -> tuple[str, bool]:
    request = context.get("request")
    zone = getattr(request, "viewer_zone", None)
    known = bool(getattr(request, "viewer_zone_known", False))
    return (str(zone) if zone else "UTC"), known


@register.simple_tag(takes_context=True)
def when(context: dict[str, Any], moment: datetime, group_zone: str | None = None) -> SafeString:
    """``{% when meeting_start cohort.time_zone %}`` → the time for the viewer, plus the group's.

    When the server does not know the viewer's zone yet, the element is marked so the page script
    can re-render it in the browser's own zone (and remember that zone for the next page).
    """
    viewer_zone, known = _viewer(context)
    if group_zone:
        mine, theirs = format_for_viewer(moment, viewer_zone, group_zone)
    else:
        mine, theirs = format_local(moment, viewer_zone), None
    iso = moment.isoformat().replace("+00:00", "Z")
    # Every value is escaped here; Python's own escape is what Django's wraps, without the lazy
    # string checks, which cost more than the escaping on a page with a time in every row.
    group_html = f' <span class="muted" data-group-time>({escape(theirs)})</span>' if theirs else ""
    # The place lets the page script write the group's time again in the browser's own zone.
    place = f' data-group-place="{escape(place_of(group_zone))}"' if group_zone else ""
    return mark_safe(  # nosec B308, B703  # noqa: S308 - built from escaped values only
        f'<time datetime="{escape(iso)}" data-local-time data-zone-known="{int(known)}" '
        f'data-group-zone="{escape(group_zone or "")}"{place}>{escape(mine)}</time>{group_html}'
    )


@register.simple_tag(takes_context=True)
def when_iso(context: dict[str, Any], value: str | None) -> SafeString | str:
    """``when`` for a moment written as ISO 8601 text (as in a data download); "—" for none."""
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return when(context, moment)


@register.simple_tag
def in_zone(moment: datetime, zone: str) -> str:
    return format_local(moment, zone)


@register.filter
def clock(value: time) -> str:
    """``{{ cohort.start_time|clock }}`` → "7:00 pm", as times are written on every page."""
    return clock_text(value)


@register.filter
def zone_place(zone: str) -> str:
    """``{{ cohort.time_zone|zone_place }}`` → "New York" for "America/New_York"."""
    return place_of(zone or "UTC")
