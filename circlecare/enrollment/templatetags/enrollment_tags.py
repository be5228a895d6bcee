"""Template tags for the join flow and "My groups"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import template
from django.template import Engine, TemplateDoesNotExist
from django.utils.safestring import SafeString

from circlecare.enrollment import queries, steps
from circlecare.enrollment.models import Enrollment
from circlecare.practice import eligibility
from circlecare.programs.models import Cohort

register = template.Library()


@register.simple_tag(takes_context=True)
def include_if_exists(context: template.Context, name: str) -> SafeString:
    """``{% include_if_exists "meetings/_member_group_panel.html" %}``: nothing if it isn't there.

    Other apps add panels to a member's group card by providing the template; it renders in the
    current context (``cohort``, ``enrollment``, ``request``, ``user``), as ``{% include %}`` does,
    without running the context processors again for every panel of every card.
    """
    engine = context.template.engine if context.template is not None else Engine.get_default()
    try:
        tmpl = engine.get_template(name)
    except TemplateDoesNotExist:
        return SafeString("")
    with context.push():  # what the panel sets stays in the panel
        # A template's output, escaped as it rendered.
        return SafeString(tmpl.render(context))  # nosec B703


@dataclass
class JoinState:
    enrollment: Enrollment | None = None
    position: int | None = None
    decision: eligibility.Decision | None = None
    requirement: steps.Requirement | None = None
    #: The practice ended the viewer's place in this group: they cannot join it again themselves.
    removed: bool = False

    @property
    def eligible(self) -> bool:
        return self.decision is None or self.decision.allowed


@register.simple_tag(takes_context=True)
def join_state(context: template.Context, cohort: Cohort) -> JoinState:
    """Where the viewer stands with this cohort: enrolled, not eligible, a step to do, or ready."""
    user: Any = context.get("user")
    if user is None or not user.is_authenticated:
        return JoinState()
    enrollment = queries.standing_enrollment(user, cohort)
    if enrollment is not None and not enrollment.is_live:
        return JoinState(removed=True)
    if enrollment is not None:
        return JoinState(enrollment=enrollment, position=queries.waiting_position(enrollment))
    decision = eligibility.check(user, cohort)
    if not decision.allowed:
        return JoinState(decision=decision)
    return JoinState(decision=decision, requirement=steps.first_unmet(user, cohort))
