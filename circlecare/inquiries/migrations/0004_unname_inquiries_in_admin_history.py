"""The admin's history names each inquiry changed there as the inquiry read then, which was by the
sender's name: a copy of the name, in the clear, beside the one now encrypted. Inquiries read by
their number now; the history written before is renamed here to match."""

from typing import Any

from django.db import migrations


def rename(apps: Any, schema_editor: Any) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    log_entry = apps.get_model("admin", "LogEntry")
    inquiry = apps.get_model("inquiries", "Inquiry")
    try:
        kind = content_type.objects.get(app_label="inquiries", model="inquiry")
    except content_type.DoesNotExist:
        return  # nothing was ever changed in the admin
    entries = log_entry.objects.filter(content_type=kind)
    # The history keeps ids as text: matched to the inquiries here, not in the database.
    ids = set(entries.values_list("object_id", flat=True).distinct())
    found = {
        str(row.pk): row
        for row in inquiry.objects.filter(pk__in=[int(i) for i in ids if i.isdigit()]).only(
            "pk", "interest", "created_at"
        )
    }
    for object_id in sorted(ids):
        row = found.get(object_id)
        # As the model names an inquiry now (the historical model has no __str__).
        name = (
            f"Inquiry {row.pk} ({row.get_interest_display()}, {row.created_at:%d %b %Y})"
            if row is not None
            else f"Inquiry {object_id} (deleted)"
        )
        entries.filter(object_id=object_id).update(object_repr=name)


class Migration(migrations.Migration):
    dependencies = [
        ("inquiries", "0003_encrypt_name_and_email"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        # Nothing to restore on the way back: the names are still on the inquiries themselves.
        migrations.RunPython(rename, migrations.RunPython.noop),
    ]
