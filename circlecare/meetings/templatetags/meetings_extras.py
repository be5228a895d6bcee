"""Template helpers for pages of other apps that show a cohort's meetings."""

from __future__ import annotations

from django import template

from circlecare.meetings.models import Meeting
from circlecare.meetings.queries import next_meeting
from circlecare.programs.models import Cohort

register = template.Library()


@register.simple_tag
def next_meeting_of(cohort: Cohort) -> Meeting | None:
    """``{% next_meeting_of cohort as upcoming %}``: the cohort's next meeting (one query, or
    none when the page loaded it for all its groups)."""
    if hasattr(cohort, "panel_next_meeting"):
        return cohort.panel_next_meeting
    return next_meeting(cohort)
