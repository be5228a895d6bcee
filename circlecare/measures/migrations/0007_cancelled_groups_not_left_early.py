"""A group the practice cancelled ended every seat in it; that is not its members leaving early.
Summaries written before that rule keep ``left_early`` only where a seat ended otherwise."""

from typing import Any

from django.db import migrations
from django.db.models import Exists, OuterRef


def forward(apps: Any, schema_editor: Any) -> None:
    summary = apps.get_model("measures", "ScoreSummary")
    enrollment = apps.get_model("enrollment", "Enrollment")
    left_otherwise = enrollment.objects.filter(
        member_id=OuterRef("member_id"),
        cohort_id=OuterRef("cohort_id"),
        confirmed_at__isnull=False,
        status__in=["withdrawn", "removed"],
    ).exclude(end_reason="group cancelled")
    summary.objects.filter(left_early=True).exclude(Exists(left_otherwise)).update(
        left_early=False
    )


class Migration(migrations.Migration):
    dependencies = [
        ("measures", "0006_assessment_shared_from"),
        ("enrollment", "0006_readmitted"),
    ]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
