"""Weekly meetings of a cohort, who came, where therapy members were, and what was sent to them."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from circlecare import states
from circlecare.urlshapes import reverse

#: The Join button is live from this long before the start until the end.
JOIN_OPENS_BEFORE = timedelta(minutes=10)
#: A member who joins later than this after the start is recorded as late.
LATE_AFTER = timedelta(minutes=10)


def new_uid() -> str:
    # RFC 5545 asks for globally unique UIDs; a random UUID with our domain-like suffix is.
    return f"{uuid.uuid4()}@circlecare"


class MeetingStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CANCELLED = "cancelled", "Cancelled"
    HELD = "held", "Held"


def over_by(now: datetime, via: str = "") -> Q:
    """Meetings over by ``now`` (``Meeting.is_over_at``, as a query): their time has passed, or
    a facilitator ended them for everyone. ``via`` is the path to the meeting ("meeting__")."""
    return Q(**{f"{via}ends_at__lte": now}) | Q(**{f"{via}ended_at__lte": now})


class Meeting(models.Model):
    """One weekly occurrence of a cohort. Times are stored in UTC."""

    cohort = models.ForeignKey("programs.Cohort", on_delete=models.CASCADE, related_name="meetings")
    #: The programme week this meeting covers (1-based); kept when the meeting moves.
    number = models.PositiveSmallIntegerField()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    #: The intended wall-clock date and time in the cohort's zone; `starts_at` follows from them
    #: by the schedule's rule, so a meeting set for 2:30 am keeps 2:30 am when moved a week on,
    #: even if one date's 2:30 am fell in a clock change.
    local_date = models.DateField()
    local_time = models.TimeField()
    status = models.CharField(
        max_length=12, choices=MeetingStatus.choices, default=MeetingStatus.SCHEDULED
    )
    #: iCalendar SEQUENCE: grows with every change calendars must pick up.
    ics_sequence = models.PositiveIntegerField(default=0)
    #: iCalendar UID: the same for the life of the meeting, so calendars update it in place.
    uid = models.CharField(max_length=80, unique=True, default=new_uid, editable=False)
    #: Where the meeting was before its latest move, for "moved from …" notes.
    moved_from = models.DateTimeField(null=True, blank=True)
    #: When a facilitator ended it for everyone before its time: nobody comes back in after.
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["cohort", "number"], name="meeting_week_unique"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="meeting_ends"),
            models.CheckConstraint(condition=Q(number__gte=1), name="meeting_number_positive"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in MeetingStatus]),
                name="meeting_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["status", "starts_at"])]

    def __str__(self) -> str:
        return (
            f"Meeting {self.number} of cohort {self.cohort_id} at {self.starts_at:%Y-%m-%d %H:%M}Z"
        )

    def get_absolute_url(self) -> str:
        return reverse("meetings:detail", kwargs={"pk": self.pk})

    @property
    def join_opens_at(self) -> datetime:
        return self.starts_at - JOIN_OPENS_BEFORE

    def window_state(self, now: datetime) -> str:
        """ "before", "open" or "ended": the join window is [start − 10 min, end), or until a
        facilitator ended the meeting for everyone."""
        if self.status == MeetingStatus.CANCELLED:
            return "cancelled"
        if self.ended_at is not None and now >= self.ended_at:
            return "ended"
        if now < self.join_opens_at:
            return "before"
        if now < self.ends_at:
            return "open"
        return "ended"

    def is_over_at(self, now: datetime) -> bool:
        """Its time has passed, or a facilitator ended it for everyone before then
        (``over_by``, as a query)."""
        return now >= self.ends_at or (self.ended_at is not None and now >= self.ended_at)

    @property
    def over_at(self) -> datetime:
        """When it was (or will be) over: its end, or earlier if a facilitator ended it early."""
        if self.ended_at is not None and self.ended_at < self.ends_at:
            return self.ended_at
        return self.ends_at

    @property
    def ended_early(self) -> bool:
        """A facilitator ended it for everyone before its planned end."""
        return self.over_at < self.ends_at

    def is_joinable_at(self, now: datetime) -> bool:
        return self.window_state(now) == "open"

    @property
    def is_cancelled(self) -> bool:
        return self.status == MeetingStatus.CANCELLED

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at


class AttendanceStatus(models.TextChoices):
    ATTENDED = "attended", "Attended"
    LATE = "late", "Late"
    ABSENT = "absent", "Absent"
    EXCUSED = "excused", "Excused"


#: Marks that say the member was at the meeting, and that they were not.
PRESENT = (AttendanceStatus.ATTENDED, AttendanceStatus.LATE)
AWAY = (AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED)


class Attendance(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendance")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="attendance"
    )
    status = models.CharField(max_length=10, choices=AttendanceStatus.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["meeting", "member_id"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "member"], name="attendance_unique"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in AttendanceStatus]),
                name="attendance_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} {self.status} at meeting {self.meeting_id}"


class LocationAttestation(models.Model):
    """A therapy member's statement of the state they were in when they asked to join."""

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="location_attestations"
    )
    meeting = models.ForeignKey(
        Meeting, on_delete=models.CASCADE, related_name="location_attestations"
    )
    state = models.CharField(max_length=2)
    at = models.DateTimeField()
    allowed = models.BooleanField()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["meeting", "member", "at"])]

    def __str__(self) -> str:
        verdict = "allowed" if self.allowed else "refused"
        return f"{self.member_id} in {self.state} for meeting {self.meeting_id}: {verdict}"

    @property
    def where(self) -> str:
        """'in Texas', or 'outside the US'."""
        return states.where(self.state)


class ReminderKind(models.TextChoices):
    DAY = "day", "24 hours before"
    HOUR = "hour", "1 hour before"


class ReminderSent(models.Model):
    """The claim on one reminder: its row exists exactly when that e-mail went out."""

    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="reminders_sent")
    kind = models.CharField(max_length=4, choices=ReminderKind.choices)
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member", "meeting", "kind"], name="reminder_once_per_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} reminder to {self.member_id} for meeting {self.meeting_id}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class CalendarFeed(models.Model):
    """A member's secret calendar address. Only a hash of the token is stored."""

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(revoked_at__isnull=True),
                name="calendar_feed_one_active",
            ),
        ]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "active"
        return f"Calendar feed of {self.member_id} ({state})"
