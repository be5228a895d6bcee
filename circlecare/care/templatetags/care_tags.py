from __future__ import annotations

from datetime import date

from django import template
from django.utils import dateformat, timezone

from circlecare.care import queries
from circlecare.programs.models import Cohort

register = template.Library()


@register.simple_tag
def care_this_week(cohort: Cohort) -> queries.ThisWeek:
    """``{% care_this_week cohort as week %}``: where the group is and what this week holds."""
    return queries.this_week(cohort)


@register.simple_tag
def care_board_on(cohort: Cohort) -> bool:
    return queries.board_enabled(cohort)


@register.filter
def how_often(count: int) -> str:
    """A count of times in words, not a tally: "once", "twice", "3 times"."""
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


#: Date formats on the board: (this year, another year).
BOARD_DATE_FORMATS = {
    "moment": ("j M, g:i a T", "j M Y, g:i a T"),
    "moment_long": ("j F, g:i a T", "j F Y, g:i a T"),
    "day": ("D j M", "D j M Y"),
    "day_long": ("l j F", "l j F Y"),
    "short": ("j M", "j M Y"),
    "full": ("l j F Y, g:i a T", "l j F Y, g:i a T"),
}


@register.filter(expects_localtime=True)
def board_date(value: date | None, style: str = "moment") -> str:
    """``{{ post.created_at|board_date:"moment" }}``: a date on the board, with its year when
    that is not this year where the viewer is (a moment is already in the viewer's zone)."""
    if not value:
        return ""
    this_year, other_year = BOARD_DATE_FORMATS[style]
    fmt = this_year if value.year == timezone.localdate().year else other_year
    # "7:05 pm", as times are written everywhere else (schedule.clock_text), not Django's "p.m.".
    return dateformat.format(value, fmt).replace("a.m.", "am").replace("p.m.", "pm")
