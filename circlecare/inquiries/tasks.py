from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django_tasks import task

from circlecare import emails
from circlecare.accounts.queries import coordinator_addresses


@task()
def notify_new_inquiry(inquiry_id: int) -> int:
    """Tell coordinators an inquiry arrived. The e-mail holds a link, never what the visitor wrote."""
    recipients = coordinator_addresses()
    if not recipients:
        return 0
    link = settings.SITE_URL + reverse("admin:inquiries_inquiry_change", args=[inquiry_id])
    return send_mail(
        subject=emails.subject("a new inquiry"),
        message=(
            "Someone asked about upcoming groups.\n\n"
            f"Open the inquiry inbox to read it and reply:\n{link}\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=recipients,
    )
