"""When instruments are asked: intake per program kind, the weekly plan and the check-in.

Intake is PHQ-9 + GAD-7 for therapy groups and WHO-5 + UCLA-3 for skills groups and care
circles. Answers to the same questionnaires given while joining another group in the last
``INTAKE_VALID_DAYS`` days may be shared into the new group instead (``services.share_intake``),
so someone moving from one therapy group to another is not asked again within a month.
The weekly instruments default to the intake pair; a ``MeasurementPlan`` row overrides them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from circlecare.programs.models import Program, ProgramKind

INTAKE_VALID_DAYS: Final = 30
INTAKE_VALID_FOR: Final = timedelta(days=INTAKE_VALID_DAYS)

#: How long before each meeting the weekly questionnaire opens.
WEEKLY_OPENS_BEFORE: Final = timedelta(hours=48)
#: An assessment still open this long after it became due is marked missed.
CLOSES_AFTER: Final = timedelta(days=7)

_THERAPY: Final = ("PHQ9", "GAD7")
_WELLBEING: Final = ("WHO5", "UCLA3")

CHECKIN_CODE: Final = "CHECKIN"


def intake_codes(kind: str) -> tuple[str, ...]:
    """The instruments a member completes before a seat in a group of this kind."""
    return _THERAPY if kind == ProgramKind.THERAPY else _WELLBEING


def default_weekly_codes(kind: str) -> tuple[str, ...]:
    return intake_codes(kind)


def weekly_codes(program: Program) -> tuple[str, ...]:
    """The program's weekly instruments (one query when no plan was prefetched)."""
    from circlecare.measures.models import MeasurementPlan

    plan = MeasurementPlan.objects.filter(program=program).first()
    if plan is not None and plan.codes:
        return plan.codes
    return default_weekly_codes(program.kind)


def checkin_enabled(program: Program) -> bool:
    from circlecare.measures.models import MeasurementPlan

    plan = MeasurementPlan.objects.filter(program=program).first()
    return True if plan is None else plan.checkin_after_meetings


def primary_code(kind: str) -> str:
    """The instrument an outcome sentence leads with: PHQ-9 for therapy, WHO-5 otherwise."""
    return intake_codes(kind)[0]
