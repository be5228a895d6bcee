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


def record_restore(*, backup_name: str, sha256: str, run_by: str, events_gone: int) -> AuditEvent:
    """Write the event a restore leaves in the trail it brought back.

    A restore replaces every table in place, clinical data and this trail included, so the event
    names the backup (its file name and checksum), who ran the command on the server, and how many
    audit events written since that backup the restore took out of the trail.
    """
    return AuditEvent.objects.create(
        actor=None,
        action=AuditAction.DATABASE_RESTORED,
        target_type="database",
        target_id="default",
        data={
            "backup": backup_name,
            "sha256": sha256,
            "run_by": run_by,
            "audit_events_gone": events_gone,
        },
    )
