"""A member's questionnaires for their data download (circlecare.accounts.data_rights)."""

from __future__ import annotations

import json
from typing import Any

from circlecare.measures.instruments import get
from circlecare.measures.models import Assessment, RiskAlert


def export(member: Any) -> dict[str, Any]:
    rows = []
    for a in (
        Assessment.objects.filter(member=member)
        .select_related("cohort__program")
        .order_by("due_at", "pk")
    ):
        rows.append(
            {
                "instrument": get(a.instrument).name,
                "occasion": a.occasion,
                # Named as the follow-up alerts below name it: never empty.
                "group": a.cohort.name or a.cohort.program.title,
                "due": a.due_at.isoformat(),
                "completed": a.completed_at.isoformat() if a.completed_at else None,
                "answers": json.loads(a.answers) if a.answers else None,
                "total": a.total,
                # The WHO-5 is read, and shown on the progress page, as a percentage (total × 4).
                "percentage": a.percentage,
                "band": a.band,
            }
        )
    # When an answer asked the group's clinician to follow up, and whether they recorded that
    # they did; what they wrote is part of the clinical record, given through the practice.
    alerts = [
        {
            "group": alert.cohort.name or alert.cohort.program.title,
            "raised": alert.raised_at.isoformat(),
            "followed_up": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
        }
        for alert in RiskAlert.objects.filter(member=member)
        .select_related("cohort__program")
        .order_by("raised_at", "pk")
    ]
    return {"questionnaires": rows, "follow_up_alerts": alerts}
