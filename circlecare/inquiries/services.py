from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from circlecare.audit.models import AuditAction
from circlecare.audit.services import record
from circlecare.errors import RateLimited
from circlecare.inquiries.models import Inquiry, InquiryStatus
from circlecare.inquiries.tasks import notify_new_inquiry


def source_key(remote_addr: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), remote_addr.encode(), hashlib.sha256).hexdigest()


def submit_inquiry(*, data: dict[str, Any], remote_addr: str) -> Inquiry:
    """Store an inquiry and tell the coordinators, at most ``INQUIRY_RATE_PER_HOUR`` per address."""
    source = source_key(remote_addr)
    with transaction.atomic(durable=True):
        since = timezone.now() - timedelta(hours=1)
        if Inquiry.objects.filter(source=source, created_at__gte=since).count() >= (
            settings.INQUIRY_RATE_PER_HOUR
        ):
            raise RateLimited(
                "We've received several messages from you in the last hour. "
                "Please wait a little, or call the practice if it's urgent."
            )
        inquiry = Inquiry.objects.create(source=source, **data)
        transaction.on_commit(lambda: notify_new_inquiry.enqueue(inquiry.pk))
    return inquiry


def set_inquiry_status(*, inquiry: Inquiry, status: InquiryStatus, actor: Any) -> Inquiry:
    with transaction.atomic(durable=True):
        inquiry = Inquiry.objects.select_for_update().get(pk=inquiry.pk)
        inquiry.status = status
        inquiry.handled_by = actor
        inquiry.save(update_fields=["status", "handled_by", "updated_at"])
        record(
            actor=actor, action=AuditAction.INQUIRY_CHANGED, target=inquiry, data={"status": status}
        )
    return inquiry


def update_inquiry(
    *, inquiry: Inquiry, status: InquiryStatus | str, coordinator_notes: str, actor: Any
) -> Inquiry:
    """Save what a coordinator changed on one inquiry: its status and their notes.

    The coordinator becomes the one who handled it. The audit event says which fields changed and
    the status, never the notes' words. Not durable: the admin saves its form inside a transaction.
    """
    with transaction.atomic():
        locked = Inquiry.objects.select_for_update().get(pk=inquiry.pk)
        changed = [
            field
            for field, value in (("status", status), ("coordinator_notes", coordinator_notes))
            if getattr(locked, field) != value
        ]
        if not changed:
            return locked
        locked.status = status
        locked.coordinator_notes = coordinator_notes
        locked.handled_by = actor
        locked.save(update_fields=[*changed, "handled_by", "updated_at"])
        record(
            actor=actor,
            action=AuditAction.INQUIRY_CHANGED,
            target=locked,
            data={"status": locked.status, "changed": changed},
        )
    return locked
