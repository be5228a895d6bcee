"""Reminder e-mails 24 hours and 1 hour before a meeting, each sent exactly once.

How "exactly once" holds when a worker dies (SECURITY.md R3)
--------------------------------------------------------------
Each e-mail is sent inside the database transaction that inserts its `ReminderSent` row (the
claim; unique per member, meeting and kind), and that transaction commits only after the mail
server has accepted the message:

* killed before the send, or during it: the transaction never commits, the claim vanishes with
  it, and the next run (the sweep, or a restarted worker) sends the reminder;
* killed after the commit: the claim is there and nobody sends it again;
* two workers at once: the second insert waits on the first one's unique-index entry and then
  fails, so the second worker skips that member;
* a cancellation or a move at the same moment: the claim's transaction holds the meeting's row,
  which those changes lock first, so either the reminder goes out before the change (and a move
  then clears its claim, so the new time gets its own reminder) or the change comes first and
  the claim sees the meeting's new status or time and sends nothing;
* the mail server refuses: the exception rolls the claim back and a later sweep retries, as long
  as the reminder is still on time.

The one remaining window is a kill after the mail server accepted the message and before the
commit returns (a single round trip to the database); a reminder could then go out twice. That
was chosen over the other order (commit the claim, then send), whose window loses the e-mail
instead: for a member in distress a duplicate reminder is the smaller harm than a missing one.

On SQLite (development) the open claim holds the database's single write lock while the mail
server answers, so other writers wait up to the connection timeout; production runs PostgreSQL,
where only that one unique-index entry is held.

A reminder whose moment has passed is not sent late: it goes out only between its due moment and
`GRACE` after it (and never once the meeting has started).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from circlecare import emails
from circlecare.accounts.models import User
from circlecare.emails import group_named_for, member_footer
from circlecare.enrollment.consents import consents_missing
from circlecare.enrollment.models import EnrollmentStatus
from circlecare.meetings import schedule
from circlecare.meetings.models import Meeting, MeetingStatus, ReminderKind, ReminderSent

logger = logging.getLogger(__name__)

BEFORE: dict[str, timedelta] = {
    ReminderKind.DAY: timedelta(hours=24),
    ReminderKind.HOUR: timedelta(hours=1),
}
#: How long after its moment a reminder may still go out (a worker briefly behind).
GRACE: dict[str, timedelta] = {
    ReminderKind.DAY: timedelta(hours=1),
    ReminderKind.HOUR: timedelta(minutes=15),
}


def due_at(meeting: Meeting, kind: str) -> datetime:
    return meeting.starts_at - BEFORE[kind]


def is_on_time(meeting: Meeting, kind: str, now: datetime) -> bool:
    if meeting.status != MeetingStatus.SCHEDULED:
        return False
    due = due_at(meeting, kind)
    return due <= now < min(due + GRACE[kind], meeting.starts_at)


def recipients(meeting: Meeting, kind: str) -> list[User]:
    """Confirmed members, and the group's lead and co-facilitator, who want reminders and have
    not had this one yet."""
    cohort = meeting.cohort
    leaders = [pk for pk in (cohort.lead_id, cohort.co_facilitator_id) if pk is not None]
    return list(
        User.objects.filter(
            Q(
                enrollments__cohort_id=meeting.cohort_id,
                enrollments__status=EnrollmentStatus.CONFIRMED,
            )
            | Q(pk__in=leaders),
            email_reminders=True,
            is_active=True,
        )
        .defer("password")
        .exclude(pk__in=ReminderSent.objects.filter(meeting=meeting, kind=kind).values("member"))
        .distinct()
        .order_by("pk")
    )


def day_word(starts_at: datetime, now: datetime, zone: str) -> str:
    """ "today", "tomorrow" or "the day after tomorrow": the meeting's day as the recipient's own
    calendar reads it when the reminder goes out. A day reminder sent in its grace period, or
    across a clock change, can fall on either side of the recipient's midnight."""
    tz = ZoneInfo(zone)
    days = (starts_at.astimezone(tz).date() - now.astimezone(tz).date()).days
    return {0: "today", 1: "tomorrow"}.get(days, "the day after tomorrow")


def _message(meeting: Meeting, member: User, kind: str, now: datetime) -> EmailMessage:
    when, group_time = schedule.format_for_viewer(
        meeting.starts_at, member.time_zone, meeting.cohort.time_zone
    )
    day = day_word(meeting.starts_at, now, member.time_zone)
    cohort = meeting.cohort
    # A member who has not signed an agreement's new version is turned back at the Join button;
    # the reminder says so first, while there is time to read it. It counts the agreements and
    # does not name them: "Informed consent for group therapy", on a lock screen or in a shared
    # inbox, would say that the member is in therapy (SECURITY.md D5).
    unsigned = (
        []
        if member.pk in (cohort.lead_id, cohort.co_facilitator_id)
        else consents_missing(member, cohort, at=now)
    )
    agreements = reverse("enrollment:consents", kwargs={"cohort_id": cohort.pk})
    context = {
        "member": member,
        "group": group_named_for(member, cohort),
        "when": when,
        "group_time": group_time,
        "kind": kind,
        "day": day,
        "link": f"{settings.SITE_URL}{meeting.get_absolute_url()}",
        "footer": member_footer("these reminders"),
        "unsigned": unsigned,
        "agreements_link": f"{settings.SITE_URL}{agreements}?next={meeting.get_absolute_url()}",
    }
    subject = emails.subject(
        f"your group meets {day}"
        if kind == ReminderKind.DAY
        else "your group meets in about an hour"
    )
    body = render_to_string("meetings/email/reminder.txt", context).strip() + "\n"
    return EmailMessage(subject=subject, body=body, to=[member.email])


def send_one(
    meeting: Meeting, member: User, kind: str, now: datetime, connection: Any = None
) -> bool:
    """Claim and send one reminder; False when it was already claimed by someone else, or when
    the meeting has been cancelled or moved since `meeting` was read."""
    try:
        with transaction.atomic():
            # The meeting row is held until this reminder is sent: a cancellation or move waits
            # for it (and then clears the claims of the old time), and one that came first is
            # seen here, so no reminder gives a time the meeting no longer has.
            current = (
                Meeting.objects.select_for_update(no_key=True)
                .filter(pk=meeting.pk)
                .values_list("status", "starts_at")
                .first()
            )
            if current != (MeetingStatus.SCHEDULED, meeting.starts_at):
                return False
            ReminderSent.objects.create(member=member, meeting=meeting, kind=kind, sent_at=now)
            # Sent while the claim is uncommitted: see the module docstring for why.
            message = _message(meeting, member, kind, now)
            message.connection = connection
            message.send(fail_silently=False)
    except IntegrityError:
        return False
    return True


def send_reminders(meeting_id: int, kind: str, now: datetime | None = None) -> int:
    """Send the `kind` reminder of one meeting to everyone who should have it. Safe to repeat."""
    now = now or timezone.now()
    if kind not in BEFORE:
        return 0
    meeting = Meeting.objects.select_related("cohort__program").filter(pk=meeting_id).first()
    if meeting is None or not is_on_time(meeting, kind, now):
        return 0
    sent = 0
    # One SMTP connection for the whole batch; each message still commits on its own.
    with get_connection() as connection:
        for member in recipients(meeting, kind):
            try:
                if send_one(meeting, member, kind, now, connection):
                    sent += 1
            except Exception:
                # One refused address must not stop the others; the sweep retries it.
                logger.exception(
                    "Reminder to member %s for meeting %s failed", member.pk, meeting.pk
                )
    return sent


def due_meetings(now: datetime) -> list[tuple[Meeting, str]]:
    """Every (meeting, kind) whose reminder is on time right now."""
    horizon = now + max(BEFORE.values())
    meetings = Meeting.objects.select_related("cohort").filter(
        status=MeetingStatus.SCHEDULED, starts_at__gt=now, starts_at__lte=horizon
    )
    return [(m, kind) for m in meetings for kind in BEFORE if is_on_time(m, kind, now)]


def sweep(now: datetime | None = None) -> int:
    now = now or timezone.now()
    return sum(send_reminders(meeting.pk, kind, now) for meeting, kind in due_meetings(now))
