from __future__ import annotations

from typing import Any

from django.db import models

from circlecare.audit.models import AuditAction, AuditEvent


def record(
    *,
    actor: Any,
    action: AuditAction,
    target: models.Model,
    subject: Any = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit event. ``data`` carries ids and status words only, never clinical text."""
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        subject=subject if getattr(subject, "pk", None) else None,
        data=data or {},
    )
