"""A member's seat in a cohort, or their place on its waiting list."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q

from circlecare.crypto import EncryptedTextField


class EnrollmentStatus(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed"
    WAITLISTED = "waitlisted", "On the waiting list"
    OFFERED = "offered", "Seat offered"
    WITHDRAWN = "withdrawn", "Withdrawn"
    REMOVED = "removed", "Removed"
    COMPLETED = "completed", "Completed"


#: ``Enrollment.end_reason`` when a member leaves of their own accord, and when they say no to an
#: offered seat (both end as withdrawn).
WITHDREW = "withdrew"
DECLINED_OFFER = "declined offer"
#: ``end_reason`` of a waiting-list place or an offer still open when the group finished.
GROUP_FINISHED = "group finished"
#: ``end_reason`` of every place in a group the practice cancelled.
GROUP_CANCELLED = "group cancelled"
#: ``end_reason`` of a partner's place when the practice removed the other partner of the couple.
PARTNER_REMOVED = "partner removed"
#: ``end_reason`` of a partner's place when the other partner of the couple left (a couple's
#: places are given up together): the one who did not choose it did not leave of their own accord.
PARTNER_LEFT = "partner left"
#: ``end_reason`` of a waiting-list place taken off the list after this many seat offers lapsed,
#: so a seat nobody answers for is not offered to the same person every two days.
OFFERS_LAPSED = "offers lapsed"
LAPSED_OFFERS_LIMIT = 2

#: ``end_reason`` of a place the practice ended for the member themself. Why is kept apart, in
#: ``removal_reason``, encrypted: staff's words are part of the clinical record.
REMOVED_BY_PRACTICE = "removed by practice"

#: ``end_reason`` values of a removed place that the practice did not end for the member themself.
NOT_OWN_REMOVAL = (GROUP_CANCELLED, PARTNER_REMOVED)

#: Statuses that hold a seat: confirmed + offered ≤ capacity, always.
SEAT_HOLDING = (EnrollmentStatus.CONFIRMED, EnrollmentStatus.OFFERED)
#: Statuses that are still "in" the cohort in some way; a member has at most one of these per cohort.
LIVE = (EnrollmentStatus.CONFIRMED, EnrollmentStatus.OFFERED, EnrollmentStatus.WAITLISTED)


def removed_by_practice() -> Q:
    """Places the practice ended for the member themself: after one, the member cannot take a
    place in that group again by themselves (a cancelled group, or a partner's removal, is not
    one), until staff let them join it again (``readmitted_at``)."""
    return (
        Q(status=EnrollmentStatus.REMOVED)
        & ~Q(end_reason__in=NOT_OWN_REMOVAL)
        & Q(readmitted_at__isnull=True)
    )


def seat_held_during(starts_at: datetime, over_at: datetime) -> Q:
    """Places that held a seat at a meeting's time: confirmed before it was over, not ended
    before it began. A member who later left keeps the meetings they had a seat for; one who
    joined afterwards has none of them (``Enrollment.held_seat_during``, for one row)."""
    return Q(confirmed_at__isnull=False, confirmed_at__lt=over_at) & (
        Q(ended_at__isnull=True) | Q(ended_at__gte=starts_at)
    )


class Enrollment(models.Model):
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="enrollments"
    )
    cohort = models.ForeignKey(
        "programs.Cohort", on_delete=models.PROTECT, related_name="enrollments"
    )
    status = models.CharField(max_length=12, choices=EnrollmentStatus.choices)
    #: Waiting-list order: first come, first served. Set when the member joins and kept thereafter.
    queued_at = models.DateTimeField()
    offered_at = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    #: What ended the place, as one of the product's own words above and never free text: who may
    #: join a group again, calendar feeds and outcome figures select on it in the database.
    end_reason = models.CharField(max_length=500, blank=True)
    #: Why staff removed the member (``REMOVED_BY_PRACTICE``), as they wrote it.
    removal_reason = EncryptedTextField(blank=True, default="")
    #: How many seat offers this member let lapse; the waiting list orders by (passes, queued_at), so
    #: someone whose offer expired stays on the list behind those who have not had one yet.
    passes = models.PositiveSmallIntegerField(default=0)
    #: Set for a couple: both enrollments share it and move together.
    pairing = models.ForeignKey(
        "Pairing", on_delete=models.PROTECT, null=True, blank=True, related_name="enrollments"
    )
    #: When, and by whom, a member the practice removed was let join the group again: the place
    #: stays ended, and no longer keeps them from taking a new one (``removed_by_practice``).
    readmitted_at = models.DateTimeField(null=True, blank=True)
    readmitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    #: An optional goodbye to the group when leaving (shown to the group, never e-mailed).
    goodbye = EncryptedTextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["cohort", "queued_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "cohort"],
                condition=Q(status__in=[s.value for s in LIVE]),
                name="enrollment_one_live_per_member",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in EnrollmentStatus]),
                name="enrollment_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status=EnrollmentStatus.OFFERED) | Q(offer_expires_at__isnull=False),
                name="enrollment_offer_has_deadline",
            ),
        ]
        indexes = [models.Index(fields=["cohort", "status", "queued_at"])]

    #: The waiting-list order, first come, first served.
    WAITING_ORDER = ("passes", "queued_at", "pk")

    def __str__(self) -> str:
        return f"{self.member} in {self.cohort_id} ({self.status})"

    @property
    def holds_seat(self) -> bool:
        return self.status in SEAT_HOLDING

    @property
    def is_live(self) -> bool:
        return self.status in LIVE

    def held_seat_during(self, starts_at: datetime, over_at: datetime) -> bool:
        """``seat_held_during``, for one row."""
        return (
            self.confirmed_at is not None
            and self.confirmed_at < over_at
            and (self.ended_at is None or self.ended_at >= starts_at)
        )

    @property
    def bars_joining(self) -> bool:
        """The practice ended this place for the member themself and nobody has let them join
        the group again since (``removed_by_practice``, for one row)."""
        return (
            self.status == EnrollmentStatus.REMOVED
            and self.end_reason not in NOT_OWN_REMOVAL
            and self.readmitted_at is None
        )

    @property
    def ended_label(self) -> str:
        """How an ended enrollment ended, in the roster's words: someone who said no to an offer or
        left the waiting list never had a seat, so they did not "withdraw" from the group."""
        if self.status == EnrollmentStatus.WITHDRAWN:
            if self.end_reason == DECLINED_OFFER:
                return "Declined a seat offer"
            if self.end_reason == GROUP_FINISHED:
                return "Still waiting when the group finished"
            if self.end_reason == OFFERS_LAPSED:
                return f"Taken off the waiting list after {LAPSED_OFFERS_LIMIT} offers lapsed"
            if self.end_reason == PARTNER_LEFT:
                return "Ended when their partner left"
            if self.confirmed_at is None:
                return "Left the waiting list"
            return "Left the group"
        if self.status == EnrollmentStatus.COMPLETED:
            return "Completed the group"
        if self.end_reason == GROUP_CANCELLED:
            return "The group was cancelled"
        if self.end_reason == PARTNER_REMOVED:
            return "Ended with their partner's removal"
        return str(self.get_status_display())

    @property
    def ended_label_for_member(self) -> str:
        """How it ended, told to the member themself (My groups): a cancelled group is not a
        removal, and the roster's third person becomes "your"."""
        if self.end_reason == PARTNER_REMOVED:
            return "Ended when your partner's place was ended"
        if self.end_reason == PARTNER_LEFT:
            return "Ended when your partner left"
        if self.status == EnrollmentStatus.REMOVED and self.end_reason != GROUP_CANCELLED:
            return "Your place was ended by the practice"
        return self.ended_label


class Pairing(models.Model):
    """Two enrollments of a couple: their seats are taken, offered and given up together."""

    cohort = models.ForeignKey("programs.Cohort", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"couple #{self.pk} in {self.cohort_id}"


class ConsentKind(models.TextChoices):
    TELEHEALTH = "telehealth", "Consent to telehealth"
    GROUP_CONFIDENTIALITY = "group_confidentiality", "Group confidentiality agreement"
    INFORMED_CONSENT = "informed_consent", "Informed consent for therapy"


class ConsentDocument(models.Model):
    """One version of an agreement. Published versions are never edited: a change is a new version."""

    kind = models.CharField(max_length=32, choices=ConsentKind.choices)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=160)
    body = models.TextField(max_length=20000)
    effective_at = models.DateTimeField(help_text="From this moment members must have signed it.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "version"],
                name="consent_version_unique",
                violation_error_message="This agreement already has a version with this number: a change is a new version.",
            ),
            models.CheckConstraint(
                condition=Q(version__gte=1),
                name="consent_version_positive",
                violation_error_message="Versions are numbered from 1.",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in ConsentKind]), name="consent_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} (version {self.version})"


SIGNED_NAME_MAX = 120


class ConsentSignature(models.Model):
    """Who signed which version of which agreement, and when."""

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="consent_signatures"
    )
    document = models.ForeignKey(
        ConsentDocument, on_delete=models.PROTECT, related_name="signatures"
    )
    signed_at = models.DateTimeField()
    #: The name the member typed as their signature: who they are, so kept encrypted. The
    #: signing form and ``sign_consents`` hold it to ``SIGNED_NAME_MAX`` characters.
    signed_name = EncryptedTextField(max_length=SIGNED_NAME_MAX)

    class Meta:
        ordering = ["-signed_at"]
        constraints = [
            models.UniqueConstraint(fields=["member", "document"], name="consent_signed_once")
        ]

    def __str__(self) -> str:
        return f"{self.member_id} signed {self.document_id}"


class PartnerInviteStatus(models.TextChoices):
    PENDING = "pending", "Waiting for your partner"
    ACCEPTED = "accepted", "Accepted"
    CANCELLED = "cancelled", "Cancelled"


class PartnerInviteEnd(models.TextChoices):
    """Why an invitation was called off: what its link says to the partner who opens it."""

    WITHDRAWN = "withdrawn", "Called off by whoever sent it"
    REPLACED = "replaced", "Replaced by a newer invitation to the same address"
    NOT_FOR_COUPLES = "not_for_couples", "The group stopped being for couples"


#: The longest e-mail address a partner can be invited at (the column's limit before it was
#: encrypted, and the standard's).
PARTNER_EMAIL_MAX = 254


class PartnerInvite(models.Model):
    """A member's invitation to their partner to join a couples group together."""

    cohort = models.ForeignKey("programs.Cohort", on_delete=models.PROTECT, related_name="+")
    inviter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="partner_invites_sent"
    )
    #: Whom the member is in couples therapy with, and perhaps someone with no account: kept
    #: encrypted, so it cannot be compared in the database. The invitation form and
    #: ``invite_partner`` hold it to an address of at most ``PARTNER_EMAIL_MAX`` characters.
    email = EncryptedTextField(max_length=PARTNER_EMAIL_MAX)
    #: SHA-256 of the secret in the link; the secret itself is only ever in the e-mail. The
    #: e-mail task mints it (never the request, whose task arguments are stored in clear);
    #: until then this hashes a secret nobody holds.
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(
        max_length=12, choices=PartnerInviteStatus.choices, default=PartnerInviteStatus.PENDING
    )
    #: Set when it is called off (blank on invitations called off before reasons were kept).
    end_reason = models.CharField(
        max_length=16, choices=PartnerInviteEnd.choices, blank=True, default=""
    )
    expires_at = models.DateTimeField()
    #: When the partner first tried to accept and could not join yet for a reason of their own
    #: that no step of the join flow resolves (where they live, say). The invitation still
    #: waits: they may put it right before it expires. Why is not kept, nor told to the inviter.
    could_not_join_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="partner_invites_accepted",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["cohort", "inviter"],
                condition=Q(status="pending"),
                name="partner_invite_one_pending",
            ),
            models.CheckConstraint(
                condition=Q(status="cancelled") | Q(end_reason=""),
                name="partner_invite_reason_only_when_called_off",
            ),
        ]

    def __str__(self) -> str:
        return f"invite #{self.pk} to {self.cohort_id} ({self.status})"


class CohortNotice(models.Model):
    """A once-only notice about a cohort (e.g. the under-minimum alert): the row makes it idempotent."""

    cohort = models.ForeignKey("programs.Cohort", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cohort", "kind"], name="cohort_notice_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.cohort_id}"
