"""Template helpers for pages of other apps that show a cohort's meetings."""

from __future__ import annotations

from datetime import datetime

from django import template

from circlecare.meetings.models import Meeting
from circlecare.meetings.queries import next_meeting
from circlecare.meetings.weeks import first_start
from circlecare.programs.models import Cohort

register = template.Library()


@register.simple_tag
def next_meeting_of(cohort: Cohort) -> Meeting | None:
    """``{% next_meeting_of cohort as upcoming %}``: the cohort's next meeting (one query, or
    none when the page loaded it for all its groups)."""
    if hasattr(cohort, "panel_next_meeting"):
        return cohort.panel_next_meeting
    return next_meeting(cohort)


@register.filter
def first_meeting_start(cohort: Cohort) -> datetime:
    """``{% when other|first_meeting_start other.time_zone %}``: the instant the group first
    meets (its first meeting that is not cancelled), to show in the viewer's zone as the rest of
    the page does; a date alone is the group's own day, which a viewer far away may not share.
    No query when the page loaded the group's meetings (``scheduled_meetings``)."""
    return first_start(cohort)
