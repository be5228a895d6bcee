"""E-mails about questionnaires and alerts. They say only that something needs attention and
link to it: never a score, an answer or a name of a questionnaire's subject matter."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from circlecare import emails
from circlecare.accounts.queries import coordinator_addresses
from circlecare.emails import member_footer, site_link
from circlecare.measures.models import RiskAlert
from circlecare.programs.models import ProgramKind


def alert_link(alert: RiskAlert) -> str:
    return settings.SITE_URL + reverse("measures:alert", args=[alert.pk])


def leaders_reachable(cohort: object) -> list[str]:
    """The addresses of the cohort's lead and co-facilitator whose accounts are still active."""
    people = (getattr(cohort, "lead", None), getattr(cohort, "co_facilitator", None))
    return sorted({p.email for p in people if p is not None and p.is_active and p.email})


def first_recipients(alert: RiskAlert) -> list[str]:
    """Who hears of a new alert: the group's clinicians (the lead and a co-facilitator) for
    therapy; for skills groups and care circles the facilitator(s) and the coordinators. When
    nobody who leads the group can be reached (a closed account), the coordinators at once."""
    cohort = alert.cohort
    addresses = set(leaders_reachable(cohort))
    if cohort.program.kind != ProgramKind.THERAPY or not addresses:
        addresses.update(coordinator_addresses())
    return sorted(a for a in addresses if a)


def _send(subject: str, body: str, recipients: Iterable[str]) -> int:
    to = sorted(set(recipients))
    if not to:
        return 0
    return send_mail(
        subject=subject,
        message=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=to,
    )


def send_new_alert(alert: RiskAlert) -> int:
    return _send(
        emails.subject("a member needs follow-up"),
        "A member of a group you lead or oversee needs follow-up today.\n\n"
        f"Open the alert to see what is needed and to record what you did:\n{alert_link(alert)}\n",
        first_recipients(alert),
    )


def send_handed_alert(alert: RiskAlert) -> int:
    """To a group's new lead, for an open alert handed to them with the group."""
    lead = alert.assignee
    if not (lead.is_active and lead.email):
        return 0
    return _send(
        emails.subject("a member needs follow-up"),
        "You now lead a group in which a member still needs follow-up: the alert was raised "
        "before the group was handed to you, and nobody has acknowledged it yet.\n\n"
        f"Open the alert to see what is needed and to record what you did:\n{alert_link(alert)}\n",
        [lead.email],
    )


def send_escalation(alert: RiskAlert) -> int:
    return _send(
        emails.subject("a follow-up alert is still open"),
        "An alert that a member needs follow-up has not been acknowledged in time.\n\n"
        f"Please make sure someone follows up, and record it here:\n{alert_link(alert)}\n",
        coordinator_addresses(),
    )


def send_due_reminder(member: Any, count: int) -> int:
    """Tell a member questionnaires are waiting: how many, and where; never which ones."""
    link = site_link("measures:due")
    if count == 1:
        subject = "a short check-in is waiting"
        # "For you", not "for your group": one e-mail counts what is due in all their groups.
        what = "a short questionnaire waiting for you. It takes a few minutes."
        it = "it"
    else:
        subject = "short check-ins are waiting"
        what = f"{count} short questionnaires waiting for you. Each takes a few minutes."
        it = "them"
    # The same setting stops meeting reminders and these; the profile form names both.
    return _send(
        emails.subject(subject),
        f"Hello {member.display_name},\n\nYou have {what}\n\n"
        f"You'll find {it} here, after signing in:\n{link}\n\n" + member_footer("these reminders"),
        [member.email],
    )
