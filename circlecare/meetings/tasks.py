"""Background work of the meetings app, run by `manage.py db_worker`."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.template.loader import render_to_string
from django.utils import timezone
from django_tasks import task

from circlecare import emails
from circlecare.accounts.models import User
from circlecare.emails import group_named_for, member_footer
from circlecare.enrollment.models import EnrollmentStatus
from circlecare.meetings import reminders, schedule
from circlecare.meetings.models import Meeting, MeetingStatus

SUBJECTS = {
    "moved": "your group's meeting has moved",
    "cancelled": "a meeting of your group is cancelled",
    "skipped": "your group is skipping a week",
    "pattern": "your group has new meeting times",
}


@task()
def send_meeting_reminders(meeting_id: int, kind: str) -> int:
    """Queued for each meeting's reminder moments; checks the meeting's current time itself."""
    return reminders.send_reminders(meeting_id, kind)


@task()
def sweep_reminders() -> int:
    """Send every reminder that is due and not yet sent (after a restart, a missed task, …)."""
    return reminders.sweep()


def schedule_reminders(meeting_ids: Iterable[int]) -> None:
    """Queue delayed reminder tasks for these meetings' upcoming reminder moments.

    A moved meeting keeps its old queued tasks; they find the meeting no longer due and do
    nothing, while the tasks queued here fire at the new moments.
    """
    now = timezone.now()
    for meeting in Meeting.objects.filter(pk__in=list(meeting_ids), status=MeetingStatus.SCHEDULED):
        for kind in reminders.BEFORE:
            due = reminders.due_at(meeting, kind)
            if due + reminders.GRACE[kind] <= now or meeting.starts_at <= now:
                continue
            send_meeting_reminders.using(run_after=max(due, now)).enqueue(meeting.pk, kind)


def _recipients(meeting: Meeting) -> list[User]:
    people = list(
        User.objects.filter(
            enrollments__cohort_id=meeting.cohort_id,
            enrollments__status=EnrollmentStatus.CONFIRMED,
            is_active=True,
        )
        .defer("password")
        .distinct()
    )
    cohort = meeting.cohort
    for facilitator in (cohort.lead, cohort.co_facilitator):
        if facilitator is not None and facilitator.is_active:
            people.append(facilitator)
    unique = {person.pk: person for person in people}
    return [unique[pk] for pk in sorted(unique)]


@task()
def notify_meetings_changed(
    meeting_ids: list[int], change: str, sequences: dict[str, int] | None = None
) -> int:
    """E-mail members and facilitators that meetings moved or were cancelled. Times only.

    Each meeting is told as it is when the notice goes, and only while this change is the
    latest made to it: ``sequences`` maps each meeting's id to the calendar sequence the change
    left it at. A meeting changed again since (moved twice before this notice went) is left to
    the later change's own notice, which says the same time once rather than twice. A notice
    queued without ``sequences`` tells every meeting as it now is."""
    meetings = [
        meeting
        for meeting in Meeting.objects.filter(pk__in=meeting_ids)
        .select_related("cohort__program", "cohort__lead", "cohort__co_facilitator")
        .defer("cohort__lead__password", "cohort__co_facilitator__password")
        .order_by("starts_at")
        if sequences is None or sequences.get(str(meeting.pk)) == meeting.ics_sequence
    ]
    if not meetings:
        return 0
    cohort = meetings[0].cohort
    subject = emails.subject(SUBJECTS.get(change, "your group's meetings have changed"))
    sent = 0
    # Notices of changed meetings cannot be turned off: the ending says only where to get help.
    footer = member_footer()
    with get_connection() as connection:
        for person in _recipients(meetings[0]):
            rows = []
            for meeting in meetings:
                new, group_time = schedule.format_for_viewer(
                    meeting.starts_at, person.time_zone, cohort.time_zone
                )
                old = (
                    schedule.format_local(meeting.moved_from, person.time_zone)
                    if meeting.moved_from and change != "cancelled"
                    else None
                )
                rows.append(
                    {
                        "when": new,
                        "group_time": group_time,
                        "was": old,
                        "cancelled": meeting.status == MeetingStatus.CANCELLED,
                        "link": f"{settings.SITE_URL}{meeting.get_absolute_url()}",
                    }
                )
            body = (
                render_to_string(
                    "meetings/email/changed.txt",
                    {
                        "person": person,
                        "group": group_named_for(person, cohort),
                        "rows": rows,
                        "change": change,
                        "footer": footer,
                    },
                ).strip()
                + "\n"
            )
            EmailMessage(
                subject=subject, body=body, to=[person.email], connection=connection
            ).send()
            sent += 1
    return sent
