from __future__ import annotations

from typing import Any

from django import template

from circlecare.measures.stats import Rate

register = template.Library()


@register.simple_tag
def due_for_group(user: Any, cohort: Any) -> list[Any]:
    """What this member has due for this group (one query), for the group page's panel."""
    from circlecare.measures.queries import due_for_member

    if not getattr(user, "is_authenticated", False) or cohort is None:
        return []
    if hasattr(cohort, "panel_due"):
        return list(cohort.panel_due)
    return list(due_for_member(user, cohort)[:10])


@register.filter
def instrument_name(code: str) -> str:
    """ "PHQ-9" for ``PHQ9``, "Check-in" for ``CHECKIN``: a questionnaire as people call it."""
    from circlecare.measures.instruments import REGISTRY

    instrument = REGISTRY.get(code)
    return instrument.name if instrument is not None else code


@register.filter
def rate_text(value: Rate | None) -> str:
    """ "43.8% (36.3–51.5)" — a rate with its 95 % interval."""
    if value is None:
        return ""
    pct, low, high = value.as_percentages(1)
    return f"{pct:.1f}% ({low:.1f}–{high:.1f})"
