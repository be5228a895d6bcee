"""Background work: alert e-mails, escalation, scheduling and reminders (django-tasks)."""

from __future__ import annotations

from django_tasks import task


@task()
def notify_new_alert(alert_id: int) -> int:
    """E-mail who must follow up, unless someone already has by the time the worker runs."""
    from circlecare.measures.models import RiskAlert
    from circlecare.measures.notifications import send_new_alert

    alert = (
        RiskAlert.objects.select_related(
            "cohort__program", "cohort__lead", "cohort__co_facilitator"
        )
        .defer("cohort__lead__password", "cohort__co_facilitator__password")
        .filter(pk=alert_id, acknowledged_at__isnull=True)
        .first()
    )
    if alert is None:
        return 0
    return send_new_alert(alert)


@task()
def notify_handed_alert(alert_id: int) -> int:
    """E-mail a group's new lead about an open alert handed to them, unless it was acknowledged
    or handed on again since."""
    from circlecare.measures.models import RiskAlert
    from circlecare.measures.notifications import send_handed_alert

    alert = (
        RiskAlert.objects.select_related("assignee", "cohort")
        .defer("assignee__password")
        .filter(pk=alert_id, acknowledged_at__isnull=True)
        .first()
    )
    if alert is None or alert.assignee_id != alert.cohort.lead_id:
        return 0
    return send_handed_alert(alert)


@task()
def notify_escalation(alert_id: int) -> int:
    """E-mail the coordinators, unless the alert was acknowledged since it escalated."""
    from circlecare.measures.models import RiskAlert
    from circlecare.measures.notifications import send_escalation

    alert = RiskAlert.objects.filter(pk=alert_id, acknowledged_at__isnull=True).first()
    if alert is None:
        return 0
    return send_escalation(alert)


@task()
def escalate_alert_if_open(alert_id: int) -> bool:
    """Runs when an alert's acknowledgement time is up; does nothing if it was acknowledged."""
    from circlecare.measures.services import escalate_alert

    return escalate_alert(alert_id=alert_id)


@task()
def escalate_overdue(limit: int = 500) -> int:
    """The idempotent sweep that backs up the per-alert delayed task."""
    from circlecare.measures.services import escalate_overdue_alerts

    return escalate_overdue_alerts(limit=limit)


@task()
def schedule_and_remind() -> int:
    from circlecare.measures.services import schedule_all_cohorts, send_due_reminders

    created = schedule_all_cohorts()
    send_due_reminders()
    return created


@task()
def schedule_cohort(cohort_id: int) -> int:
    """Bring one group's questionnaires and check-ins in line with its meetings now, rather than
    at the next sweep: a meeting its leader ended early makes its check-in due at once."""
    from circlecare.measures.services import schedule_due_assessments
    from circlecare.programs.models import Cohort

    cohort = Cohort.objects.select_related("program").filter(pk=cohort_id).first()
    if cohort is None:
        return 0
    return schedule_due_assessments(cohort=cohort)


@task()
def send_reminder(member_id: int, count: int) -> int:
    from django.contrib.auth import get_user_model

    from circlecare.measures.notifications import send_due_reminder

    member = get_user_model().objects.get(pk=member_id)
    return send_due_reminder(member, count)
