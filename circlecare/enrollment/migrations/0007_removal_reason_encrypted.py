"""Why staff removed a member was kept in ``end_reason``, in the clear, beside the product's own
words that the database selects on. It moves to ``removal_reason``, encrypted; ``end_reason`` of
those places becomes "removed by practice"."""

from typing import Any

import circlecare.crypto
from django.db import migrations

REMOVED_BY_PRACTICE = "removed by practice"
#: The product's own words for a removal that was not for the member themself (``NOT_OWN_REMOVAL``).
NOT_OWN_REMOVAL = ("group cancelled", "partner removed")


def move_out(apps: Any, schema_editor: Any) -> None:
    enrollment = apps.get_model("enrollment", "Enrollment")
    removed = enrollment.objects.filter(status="removed").exclude(
        end_reason__in=(*NOT_OWN_REMOVAL, REMOVED_BY_PRACTICE)
    )
    for e in removed.only("pk", "end_reason").iterator():
        e.removal_reason = e.end_reason
        e.end_reason = REMOVED_BY_PRACTICE
        e.save(update_fields=["removal_reason", "end_reason"])


def move_back(apps: Any, schema_editor: Any) -> None:
    enrollment = apps.get_model("enrollment", "Enrollment")
    for e in enrollment.objects.filter(end_reason=REMOVED_BY_PRACTICE).only("pk", "removal_reason"):
        e.end_reason = e.removal_reason
        e.removal_reason = ""
        e.save(update_fields=["removal_reason", "end_reason"])


class Migration(migrations.Migration):
    dependencies = [
        ("enrollment", "0006_readmitted"),
    ]

    operations = [
        migrations.AddField(
            model_name="enrollment",
            name="removal_reason",
            field=circlecare.crypto.EncryptedTextField(blank=True, default=""),
        ),
        migrations.RunPython(move_out, move_back),
    ]
