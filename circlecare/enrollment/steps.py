"""What a member must do before taking a seat, as an ordered list of steps other apps add to.

Each step is a function ``(member, cohort) -> Requirement | None``: ``None`` when the member has done
it, else what is still needed and where to do it. The join flow walks the steps in order and shows
the first unmet one; ``enrollment.services.enroll`` refuses a seat while any step is unmet, so the
rule holds for the API and for anyone skipping pages.

Apps register their steps in ``AppConfig.ready()`` with an ``order``: eligibility 10, consents 20,
intake questionnaires 30.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Requirement:
    code: str  # e.g. "not_eligible", "consent", "intake"
    message: str  # plain words for the member
    url: str | None = None  # where to do it; None when nothing can be done (then show alternatives)
    blocking: bool = True  # False: shown as a reminder, does not stop the seat


Step = Callable[[Any, Any], Requirement | None]

_steps: list[tuple[int, str, Step]] = []


def register(name: str, step: Step, *, order: int) -> None:
    """Add a step once (re-registering the same name replaces it, so reloads stay idempotent)."""
    global _steps
    _steps = sorted([s for s in _steps if s[1] != name] + [(order, name, step)], key=lambda s: s[0])


def unmet(member: Any, cohort: Any) -> list[Requirement]:
    found = []
    for _order, _name, step in _steps:
        requirement = step(member, cohort)
        if requirement is not None:
            found.append(requirement)
    return found


def first_unmet(member: Any, cohort: Any, *, before: str | None = None) -> Requirement | None:
    """The first unmet blocking step; with ``before``, only among the steps that come before the
    step of that name, so a later step (intake questionnaires, say) is not taken for a group the
    member may not join yet."""
    for _order, step_name, step in _steps:
        if step_name == before:
            return None
        requirement = step(member, cohort)
        if requirement is not None and requirement.blocking:
            return requirement
    return None


def registered() -> list[str]:
    return [name for _order, name, _step in _steps]
