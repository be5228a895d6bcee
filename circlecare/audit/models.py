"""An append-only record of who read or changed what. It never holds clinical text."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


class AuditAction(models.TextChoices):
    ENROLLMENT_CREATED = "enrollment.created"
    ENROLLMENT_CHANGED = "enrollment.changed"
    COHORT_CHANGED = "cohort.changed"
    LICENSE_CREATED = "license.created"
    LICENSE_CHANGED = "license.changed"
    LICENSE_DELETED = "license.deleted"
    PRIVILEGE_CREATED = "privilege.created"
    PRIVILEGE_CHANGED = "privilege.changed"
    PRIVILEGE_DELETED = "privilege.deleted"
    INQUIRY_VIEWED = "inquiry.viewed"
    INQUIRY_CHANGED = "inquiry.changed"
    MEETING_CHANGED = "meeting.changed"
    ASSESSMENT_VIEWED = "assessment.viewed"
    NOTE_VIEWED = "note.viewed"
    NOTE_CHANGED = "note.changed"
    ALERT_VIEWED = "alert.viewed"
    ALERT_CHANGED = "alert.changed"
    REFLECTION_VIEWED = "reflection.viewed"
    CONSENT_SIGNED = "consent.signed"
    CARE_POST_HIDDEN = "care_post.hidden"
    CARE_POST_SHOWN = "care_post.shown"
    CARE_REPORT_RESOLVED = "care_report.resolved"
    ACCOUNT_EXPORTED = "account.exported"
    ACCOUNT_DELETED = "account.deleted"
    ACCOUNT_PASSWORD_CHANGED = "account.password_changed"  # nosec B105  # noqa: S105 - an action, not a secret
    ACCOUNT_MFA_REMOVED = "account.mfa_removed"
    ACCOUNT_TOKEN_REVOKED = "account.token_revoked"  # nosec B105  # noqa: S105 - an action, not a secret
    DATABASE_RESTORED = "database.restored"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    """Refuses changes in bulk as the model refuses them one by one (``update()`` and
    ``delete()`` on a query skip ``save()`` and ``delete()``); PostgreSQL refuses them again."""

    def update(self, **kwargs: Any) -> int:
        raise PermissionError("Audit events cannot be changed.")

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        raise PermissionError("Audit events cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    action = models.CharField(max_length=40, choices=AuditAction.choices)
    target_type = models.CharField(max_length=60)
    target_id = models.CharField(max_length=40)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The member whose data this is, when there is one.",
    )
    data = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["subject", "at"]),
            models.Index(fields=["target_type", "target_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.target_type}#{self.target_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("Audit events cannot be deleted.")
