from django.db import migrations
from django.db.models import Count, F, Q

SEAT_HOLDING = ["confirmed", "offered"]


def mark_full(apps, schema_editor):
    """Open groups for couples with fewer than two free seats are full: no couple fits, and
    joining them is the waiting list. The rule of ``Cohort.is_full_with``, restated here because
    a migration runs on the models as they were; before it, such a group was labelled full only
    with no seat free, so none needs opening again."""
    Cohort = apps.get_model("programs", "Cohort")
    stale = (
        Cohort.objects.filter(status="open", program__for_couples=True)
        .annotate(held=Count("enrollments", filter=Q(enrollments__status__in=SEAT_HOLDING)))
        .filter(capacity__lt=F("held") + 2)
    )
    Cohort.objects.filter(pk__in=list(stale.values_list("pk", flat=True))).update(status="full")


class Migration(migrations.Migration):
    dependencies = [
        ("enrollment", "0003_constraint_messages"),
    ]

    operations = [
        migrations.RunPython(mark_full, migrations.RunPython.noop),
    ]
