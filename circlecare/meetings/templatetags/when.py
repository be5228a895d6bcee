"""Show a moment in the viewer's zone, and in the group's own zone when that differs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from circlecare.meetings.schedule import format_for_viewer, format_local

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
    group_html = (
        format_html(' <span class="muted" data-group-time>({})</span>', theirs) if theirs else ""
    )
    return format_html(
        '<time datetime="{}" data-local-time data-zone-known="{}" data-group-zone="{}">{}</time>{}',
        iso,
        "1" if known else "0",
        group_zone or "",
        mine,
        group_html,
    )


@register.simple_tag
def in_zone(moment: datetime, zone: str) -> str:
    return format_local(moment, zone)
