"""'Tell me about upcoming groups': what a visitor sent, and where a coordinator is with it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from circlecare.crypto import EncryptedTextField, lookup_digest
from circlecare.programs.models import ProgramKind
from circlecare.states import HOME_STATE_CHOICES

NAME_MAX = 100
EMAIL_MAX = 254
MESSAGE_MAX = 5000


class InquiryStatus(models.TextChoices):
    NEW = "new", "New"
    CONTACTED = "contacted", "Contacted"
    CLOSED = "closed", "Closed"


class InterestKind(models.TextChoices):
    ANY = "any", "Not sure yet"
    THERAPY = ProgramKind.THERAPY.value, "Therapy group"
    SKILLS = ProgramKind.SKILLS.value, "Skills group"
    CARE_CIRCLE = ProgramKind.CARE_CIRCLE.value, "Care circle"


class Inquiry(models.Model):
    # Who wrote is kept encrypted, as what they wrote is: the lengths are held by the form.
    name = EncryptedTextField(max_length=NAME_MAX)
    email = EncryptedTextField(max_length=EMAIL_MAX)
    #: ``crypto.lookup_digest`` of the address, kept up to date by ``save()``: how the messages
    #: someone sent are found (their data download, closing their account) without the address.
    email_digest = models.CharField(max_length=64, db_index=True, editable=False, default="")
    state = models.CharField("where you live", max_length=2, choices=HOME_STATE_CHOICES)
    interest = models.CharField("kind of group", max_length=16, choices=InterestKind.choices)
    message = EncryptedTextField(max_length=MESSAGE_MAX, blank=True)
    status = models.CharField(
        max_length=12, choices=InquiryStatus.choices, default=InquiryStatus.NEW
    )
    coordinator_notes = EncryptedTextField(blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    #: A keyed hash of the sender's address: enough to rate-limit, not enough to track anyone.
    source = models.CharField(max_length=64, db_index=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "inquiries"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in InquiryStatus]),
                name="inquiry_status_valid",
            )
        ]

    #: Each lookup digest and the field it is the digest of (``rotate_encryption_key`` rewrites
    #: them under the new key).
    LOOKUP_DIGESTS = {"email_digest": "email"}

    def __str__(self) -> str:
        # Not the name: this is how the admin's history names an inquiry, in a table kept in
        # the clear.
        return f"Inquiry {self.pk} ({self.get_interest_display()}, {self.created_at:%d %b %Y})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "email" in update_fields:
            self.email_digest = lookup_digest(self.email)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "email_digest"}
        super().save(*args, **kwargs)
