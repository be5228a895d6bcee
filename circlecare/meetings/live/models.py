"""What the live room keeps: who was in the room when (attendance), and removals with their reason.

Nothing said, shown or typed in the room is kept: no recording, and chat lives only in the browsers.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from circlecare.crypto import EncryptedTextField


class RoomPresence(models.Model):
    """One stay in the room: from admission to leaving (or the connection dropping).

    ``last_seen_at`` is when the person's browser was last heard from. A connection can die
    without closing (a server process crashes, a network goes): such a stay is no longer
    counted once it has not been heard from for ``ROOM_PRESENCE_STALE_SECONDS``, and ends at
    the moment it was last heard from.
    """

    meeting = models.ForeignKey(
        "meetings.Meeting", on_delete=models.CASCADE, related_name="presences"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    joined_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["joined_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(left_at__isnull=True) | Q(left_at__gte=F("joined_at")),
                name="presence_left_after_joined",
            ),
            models.CheckConstraint(
                condition=Q(last_seen_at__gte=F("joined_at")), name="presence_seen_after_joined"
            ),
        ]
        indexes = [models.Index(fields=["meeting", "user"])]

    def __str__(self) -> str:
        return f"{self.user_id} in meeting {self.meeting_id} from {self.joined_at:%H:%M}"


class RoomRemoval(models.Model):
    """A facilitator removed someone from a meeting; they cannot come back into that meeting."""

    meeting = models.ForeignKey(
        "meetings.Meeting", on_delete=models.CASCADE, related_name="removals"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = EncryptedTextField(max_length=500)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "user"], name="room_removal_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} removed from meeting {self.meeting_id}"
