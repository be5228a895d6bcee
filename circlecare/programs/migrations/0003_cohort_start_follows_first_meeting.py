from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import migrations

CANCELLED = "cancelled"


def follow_first_meetings(apps, schema_editor):
    """Groups whose meetings moved before their start followed them: the start (first meeting
    date, weekday and time) and ``joinable_until`` re-derived from the first meeting that is not
    cancelled.

    The rule of ``programs.services.follow_first_meeting`` and ``Cohort.joinable_until_for``,
    restated here because a migration runs on the models as they were. A group already in step
    is not written. A group whose first meeting now comes before its joining deadline is left
    as it is: the service refuses that change, and a coordinator decides which date is right.
    """
    Cohort = apps.get_model("programs", "Cohort")
    Meeting = apps.get_model("meetings", "Meeting")
    firsts = {}
    for cohort_id, local_date, local_time in (
        Meeting.objects.exclude(status=CANCELLED)
        .order_by("cohort_id", "-starts_at", "-pk")
        .values_list("cohort_id", "local_date", "local_time")
    ):
        firsts[cohort_id] = (local_date, local_time)  # the last one written is the earliest
    for cohort in Cohort.objects.filter(pk__in=list(firsts)).order_by("pk"):
        local_date, local_time = firsts[cohort.pk]
        if cohort.enrollment_deadline is not None and local_date < cohort.enrollment_deadline:
            continue
        deadline = cohort.enrollment_deadline
        last_day = min(deadline, local_date) if deadline else local_date
        until = datetime.combine(
            last_day + timedelta(days=1), time(0), tzinfo=ZoneInfo(cohort.time_zone)
        )
        wanted = (local_date, local_date.weekday(), local_time, until)
        if (
            cohort.first_meeting_date,
            cohort.weekday,
            cohort.start_time,
            cohort.joinable_until,
        ) == wanted:
            continue
        (
            cohort.first_meeting_date,
            cohort.weekday,
            cohort.start_time,
            cohort.joinable_until,
        ) = wanted
        cohort.save(
            update_fields=["first_meeting_date", "weekday", "start_time", "joinable_until"]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("programs", "0002_cohort_joinable_until"),
        ("meetings", "0002_meeting_ended_at"),
    ]

    operations = [
        migrations.RunPython(follow_first_meetings, migrations.RunPython.noop),
    ]
