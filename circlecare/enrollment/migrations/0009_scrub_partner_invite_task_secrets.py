"""Take the link secrets out of finished partner-invitation e-mail tasks.

Before the e-mail task minted the secret itself, the request queued it as the task's second
argument, and the task table keeps what a task was queued with in clear, finished or not.
A finished task never runs again, so its stored arguments are cut to the invitation's id: a
secret already e-mailed still works from the e-mail, and no longer sits in the table.

Tasks still waiting or running are left as they are. This release's worker ignores the secret
they carry and mints a new one, which makes the stored one worthless; a worker of the previous
release, still draining the queue while the deploy rolls out, needs it to send the e-mail at
all. Copies already in backups are beyond reach: the secrets expire with their invitations.
"""

from django.db import migrations

TASK_PATH = "circlecare.enrollment.tasks.send_partner_invite"
UNFINISHED = ["READY", "RUNNING"]


def scrub(apps, schema_editor):
    DBTaskResult = apps.get_model("django_tasks_database", "DBTaskResult")
    finished = DBTaskResult.objects.filter(task_path=TASK_PATH).exclude(status__in=UNFINISHED)
    for pk, stored in finished.values_list("pk", "args_kwargs").iterator():
        args = list((stored or {}).get("args") or [])
        kwargs = dict((stored or {}).get("kwargs") or {})
        if len(args) <= 1 and "token" not in kwargs:
            continue
        kwargs.pop("token", None)
        DBTaskResult.objects.filter(pk=pk).update(
            args_kwargs={"args": args[:1], "kwargs": kwargs}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("enrollment", "0008_partnerinvite_could_not_join_at"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [
        migrations.RunPython(scrub, migrations.RunPython.noop),
    ]
