"""Meeting notes: one group note (the shared narrative) and one individual note per attendee.

A note is a draft until signed; a signed note never changes (the model refuses, and on PostgreSQL
a trigger refuses too). A correction is an amendment: a new version that points at the version it
amends, which stays readable. Note text is encrypted at rest.
"""

from __future__ import annotations

from typing import Any, Self

from django.conf import settings
from django.db import models
from django.db.models import Q

from circlecare.clinic.errors import NoteSigned
from circlecare.crypto import EncryptedTextField


class NoteStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SIGNED = "signed", "Signed"


class Note(models.Model):
    """Fields and the read-only rule shared by group and individual notes."""

    version = models.PositiveSmallIntegerField(default=1)
    text = EncryptedTextField(blank=True, default="")
    status = models.CharField(max_length=8, choices=NoteStatus.choices, default=NoteStatus.DRAFT)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    #: Whether the row, as last read from or written to the database, is signed.
    _signed_in_db: bool = False

    class Meta:
        abstract = True

    kind: str = ""

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self._signed_in_db:
            raise NoteSigned()
        super().save(*args, **kwargs)
        self._signed_in_db = self.status == NoteStatus.SIGNED

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if self._signed_in_db:
            raise NoteSigned()
        return super().delete(*args, **kwargs)

    @classmethod
    def from_db(cls, *args: Any, **kwargs: Any) -> Self:
        instance = super().from_db(*args, **kwargs)
        instance._signed_in_db = instance.__dict__.get("status") == NoteStatus.SIGNED
        return instance

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        super().refresh_from_db(*args, **kwargs)
        self._signed_in_db = self.status == NoteStatus.SIGNED

    @property
    def is_signed(self) -> bool:
        return self.status == NoteStatus.SIGNED

    @property
    def is_amendment(self) -> bool:
        return self.version > 1


def _note_constraints(prefix: str) -> list[Any]:
    return [
        models.CheckConstraint(
            condition=Q(status__in=[s.value for s in NoteStatus]), name=f"{prefix}_status_valid"
        ),
        models.CheckConstraint(
            condition=Q(status=NoteStatus.DRAFT, signed_at__isnull=True, signed_by__isnull=True)
            | Q(status=NoteStatus.SIGNED, signed_at__isnull=False, signed_by__isnull=False),
            name=f"{prefix}_signed_has_signer",
        ),
        models.CheckConstraint(
            condition=Q(version=1, amends__isnull=True) | Q(version__gt=1, amends__isnull=False),
            name=f"{prefix}_amendment_has_original",
        ),
    ]


class GroupNote(Note):
    """The shared narrative of one meeting."""

    kind = "group"

    meeting = models.ForeignKey(
        "meetings.Meeting", on_delete=models.PROTECT, related_name="group_notes"
    )
    amends = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="amendment"
    )

    class Meta:
        ordering = ["meeting", "version"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "version"], name="group_note_version"),
            *_note_constraints("group_note"),
        ]

    def __str__(self) -> str:
        return f"Group note v{self.version} for meeting {self.meeting_id} ({self.status})"


class IndividualNote(Note):
    """One member's note for one meeting they attended, prefilled from the group note."""

    kind = "individual"

    meeting = models.ForeignKey(
        "meetings.Meeting", on_delete=models.PROTECT, related_name="individual_notes"
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="individual_notes"
    )
    #: The group note version whose text this note started from.
    prefilled_from = models.ForeignKey(
        GroupNote, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    amends = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="amendment"
    )

    class Meta:
        ordering = ["meeting", "member", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "member", "version"], name="individual_note_version"
            ),
            *_note_constraints("individual_note"),
        ]

    def __str__(self) -> str:
        return (
            f"Individual note v{self.version} for member {self.member_id} at meeting "
            f"{self.meeting_id} ({self.status})"
        )
