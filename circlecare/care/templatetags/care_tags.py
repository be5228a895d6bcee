from __future__ import annotations

from django import template

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
