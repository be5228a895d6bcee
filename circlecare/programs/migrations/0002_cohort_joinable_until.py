from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import migrations, models


def fill(apps, schema_editor):
    """Existing groups: midnight in their zone after the last day someone new may join."""
    Cohort = apps.get_model("programs", "Cohort")
    for cohort in Cohort.objects.all().only("first_meeting_date", "enrollment_deadline", "time_zone"):
        deadline = cohort.enrollment_deadline
        last_day = min(deadline, cohort.first_meeting_date) if deadline else cohort.first_meeting_date
        cohort.joinable_until = datetime.combine(
            last_day + timedelta(days=1), time(0), tzinfo=ZoneInfo(cohort.time_zone)
        )
        cohort.save(update_fields=["joinable_until"])


class Migration(migrations.Migration):
    dependencies = [
        ("programs", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="cohort",
            name="joinable_until",
            field=models.DateTimeField(editable=False, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
