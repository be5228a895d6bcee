"""A member's questionnaires for their data download (circlecare.accounts.data_rights)."""

from __future__ import annotations

import json
from typing import Any

from circlecare.measures.instruments import get
from circlecare.measures.models import Assessment


def export(member: Any) -> dict[str, Any]:
    rows = []
    for a in (
        Assessment.objects.filter(member=member).select_related("cohort").order_by("due_at", "pk")
    ):
        rows.append(
            {
                "instrument": get(a.instrument).name,
                "occasion": a.occasion,
                "group": a.cohort.name if a.cohort else "",
                "due": a.due_at.isoformat(),
                "completed": a.completed_at.isoformat() if a.completed_at else None,
                "answers": json.loads(a.answers) if a.answers else None,
                "total": a.total,
                "band": a.band,
            }
        )
    return {"questionnaires": rows}
