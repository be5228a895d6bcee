from django.db import migrations, models
from django.db.models import F


def seen_when_joined(apps, schema_editor):
    # Stays recorded before this field existed were last known of when they began.
    RoomPresence = apps.get_model("live", "RoomPresence")
    RoomPresence.objects.filter(last_seen_at__isnull=True).update(last_seen_at=F("joined_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("live", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="roompresence",
            name="last_seen_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(seen_when_joined, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="roompresence",
            name="last_seen_at",
            field=models.DateTimeField(),
        ),
        migrations.AddConstraint(
            model_name="roompresence",
            constraint=models.CheckConstraint(
                condition=models.Q(("last_seen_at__gte", models.F("joined_at"))),
                name="presence_seen_after_joined",
            ),
        ),
    ]
