"""Made-up questionnaire history for the demo practice, clearly marked ``synthetic``.

Every confirmed member of the demo groups gets the history their group's calendar allows: an
intake before the first meeting, and a weekly score and a check-in after each meeting already
held but the latest (whose questionnaires are left for the member to answer, as they come due).
A group that has not started has only intakes. Pages label these figures as demo data. Seeding
twice adds nothing.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from circlecare.enrollment.models import Enrollment, EnrollmentStatus
from circlecare.measures import summaries
from circlecare.measures.instruments import get
from circlecare.measures.models import Assessment, AssessmentStatus, Occasion, RiskAlert
from circlecare.measures.plans import CHECKIN_CODE, weekly_codes
from circlecare.meetings.schedule import meeting_times

DEMO_DOMAIN = "demo.circlecare.example"


def _answers_for(code: str, total: int, rng: random.Random) -> list[int]:
    """Item answers that add up to ``total`` (PHQ-9 item 9 kept at 0)."""
    instrument = get(code)
    low, high = instrument.min_answer, instrument.max_answer
    count = len(instrument.items)
    slots = list(range(count - 1)) if code == "PHQ9" else list(range(count))
    answers = [low] * count
    remaining = total - low * count
    while remaining > 0:
        open_slots = [i for i in slots if answers[i] < high]
        if not open_slots:
            break
        i = rng.choice(open_slots)
        answers[i] += 1
        remaining -= 1
    return answers


def _path(code: str, points: int, rng: random.Random) -> list[int]:
    instrument = get(code)
    low, high = instrument.min_total, instrument.max_total
    span = high - low
    if instrument.higher_is_worse:
        start = low + int(span * rng.uniform(0.35, 0.75))
        step = -span * rng.choice([0.06, 0.04, 0.02, 0.0, -0.02])
    else:
        start = low + int(span * rng.uniform(0.2, 0.5))
        step = span * rng.choice([0.06, 0.04, 0.02, 0.0, -0.02])
    values = []
    for i in range(points):
        value = round(start + step * i + rng.uniform(-span * 0.05, span * 0.05))
        values.append(max(low, min(high, value)))
    return values


def _store(
    enrollment: Enrollment, code: str, occasion: str, week: int, total: int, when, rng
) -> Assessment:
    return Assessment.scored(
        member_id=enrollment.member_id,
        cohort=enrollment.cohort,
        code=code,
        occasion=occasion,
        week=week,
        answers=_answers_for(code, total, rng),
        when=when,
        synthetic=True,
    )


@transaction.atomic
def seed_demo() -> str:
    now = timezone.now()
    enrollments = Enrollment.objects.select_related("cohort__program", "cohort__lead").filter(
        member__email__endswith=f"@{DEMO_DOMAIN}", status=EnrollmentStatus.CONFIRMED
    )
    made = 0
    members = 0
    pairs: list[tuple[int, int]] = []
    for enrollment in enrollments:
        cohort = enrollment.cohort
        if Assessment.objects.filter(
            member_id=enrollment.member_id, cohort=cohort, synthetic=True
        ).exists():
            continue
        rng = random.Random(f"{enrollment.member_id}-{cohort.pk}")
        meetings = meeting_times(cohort)  # by the group's weekly pattern
        held = sum(1 for start in meetings if start < now)
        answered = max(0, held - 1)  # the latest meeting's questionnaires are still to come
        intake_at = min(now - timedelta(hours=1), meetings[0] - timedelta(days=2))
        rows = []
        for code in weekly_codes(cohort.program):
            path = _path(code, answered + 1, rng)
            for week, total in enumerate(path):
                occasion = Occasion.INTAKE if week == 0 else Occasion.WEEKLY
                when = (
                    intake_at
                    if week == 0
                    else meetings[week - 1] + timedelta(hours=rng.randint(2, 40))
                )
                rows.append(_store(enrollment, code, occasion, week, total, min(when, now), rng))
        for week in range(1, answered + 1):
            when = min(meetings[week - 1] + timedelta(hours=2), now)
            lines = [
                max(0, min(10, rng.randint(5, 10) - (1 if week == 2 else 0))) for _ in range(4)
            ]
            score = get(CHECKIN_CODE).score(lines)
            rows.append(
                Assessment(
                    member_id=enrollment.member_id,
                    cohort=cohort,
                    program_kind=cohort.program.kind,
                    instrument=CHECKIN_CODE,
                    occasion=Occasion.CHECKIN,
                    meeting_week=week,
                    status=AssessmentStatus.COMPLETED,
                    due_at=when,
                    completed_at=when,
                    answers=json.dumps(lines),
                    total=score.total,
                    band=score.band,
                    flags=list(score.flags),
                    synthetic=True,
                )
            )
        Assessment.objects.bulk_create(rows)
        pairs.append((enrollment.member_id, cohort.pk))
        made += len(rows)
        members += 1
    alerts = _demo_alert(now)  # changes one score: before the summaries are built from them
    # bulk_create bypasses Assessment.save: build the new members' score summaries in one go.
    summaries.rebuild(pairs=pairs)
    if not made and not alerts:
        return "Measures: demo history already there."
    return (
        f"Measures: made-up questionnaire history for {members} members ({made} scores"
        f"{', 1 acknowledged alert' if alerts else ''}), marked as demo data."
    )


def _demo_alert(now) -> int:
    """One acknowledged alert, so the clinician's alert history is not empty."""
    if RiskAlert.objects.filter(assessment__synthetic=True).exists():
        return 0
    row = (
        Assessment.objects.select_related("cohort__lead", "cohort__program")
        .filter(synthetic=True, instrument="PHQ9")
        .order_by("pk")
        .first()
    )
    if row is None:
        return 0
    answers = row.answer_list
    answers[8] = 1
    score = get("PHQ9").score(answers)
    row.answers = json.dumps(answers)
    row.total, row.band, row.flags, row.has_risk = score.total, score.band, list(score.flags), True
    row.save(update_fields=["answers", "total", "band", "flags", "has_risk"])
    assert row.completed_at is not None
    RiskAlert.objects.create(
        assessment=row,
        member_id=row.member_id,
        cohort=row.cohort,
        assignee=row.cohort.lead,
        raised_at=row.completed_at,
        acknowledged_at=row.completed_at + timedelta(minutes=25),
        acknowledged_by=row.cohort.lead,
        action_note="Demo note: called the member the same evening; reviewed their safety plan.",
    )
    return 1
