"""Relational care between meetings: the weekly programme, the care board, nudges, the journal."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from circlecare.crypto import EncryptedTextField

TITLE_MAX = 120
DETAILS_MAX = 1000
WHEN_MAX = 120
WHERE_MAX = 120
THANKS_MAX = 500
REASON_MAX = 500
RESOLUTION_NOTE_MAX = 300
REFLECTION_MAX = 10_000


class CohortWeek(models.Model):
    """A facilitator's adaptation of one programme week for their own cohort.

    Blank fields fall back to the program's curriculum, so a facilitator can change only the
    practice, say, and keep the rest.
    """

    cohort = models.ForeignKey(
        "programs.Cohort", on_delete=models.CASCADE, related_name="adapted_weeks"
    )
    number = models.PositiveSmallIntegerField()
    topic = models.CharField(max_length=160, blank=True)
    skill = models.CharField(max_length=300, blank=True)
    practice = models.TextField("practice between meetings", max_length=2000, blank=True)
    reflection_prompt = models.TextField(max_length=1000, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["cohort", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["cohort", "number"],
                name="care_cohort_week_unique",
                violation_error_message="This group already has a plan for this week.",
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1),
                name="care_cohort_week_positive",
                violation_error_message="Weeks are numbered from 1.",
            ),
        ]

    def __str__(self) -> str:
        return f"Cohort {self.cohort_id}, week {self.number} (adapted)"


class CareBoardSetting(models.Model):
    """Turns the care board on for a cohort that is not a care circle (care circles always have one)."""

    cohort = models.OneToOneField(
        "programs.Cohort", on_delete=models.CASCADE, related_name="care_board_setting"
    )
    enabled = models.BooleanField(default=False)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Care board for cohort {self.cohort_id}: {'on' if self.enabled else 'off'}"


class PostKind(models.TextChoices):
    OFFER = "offer", "Offer"
    REQUEST = "request", "Request"


class Support(models.TextChoices):
    CONVERSATION = "conversation", "A conversation"
    CHILDCARE = "childcare", "Childcare"
    WALK = "walk", "A walk"
    GAME_NIGHT = "game_night", "A game night"
    MEAL = "meal", "A meal"
    RIDE = "ride", "A ride"
    OTHER = "other", "Something else"


class PostStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class CarePost(models.Model):
    """An offer or request of support inside a circle."""

    cohort = models.ForeignKey(
        "programs.Cohort", on_delete=models.CASCADE, related_name="care_posts"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="care_posts"
    )
    kind = models.CharField(max_length=8, choices=PostKind.choices)
    support = models.CharField(max_length=16, choices=Support.choices)
    # A member's own words about what they need or can give: encrypted at rest, so never
    # searched, filtered or ordered by in the database.
    title = EncryptedTextField(max_length=TITLE_MAX)
    details = EncryptedTextField(max_length=DETAILS_MAX, blank=True)
    when_text = models.CharField("when", max_length=WHEN_MAX, blank=True)
    when_date = models.DateField("on a date", null=True, blank=True)
    where = models.CharField("roughly where", max_length=WHERE_MAX, blank=True)
    status = models.CharField(max_length=8, choices=PostStatus.choices, default=PostStatus.OPEN)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    hidden_reason = EncryptedTextField(max_length=REASON_MAX, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in PostKind]), name="care_post_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(support__in=[s.value for s in Support]),
                name="care_post_support_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in PostStatus]),
                name="care_post_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(hidden_at__isnull=True) | ~Q(hidden_reason=""),
                name="care_post_hidden_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["cohort", "created_at"]),
            models.Index(fields=["author", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    @property
    def is_request(self) -> bool:
        return self.kind == PostKind.REQUEST


class MatchStatus(models.TextChoices):
    AGREED = "agreed", "Agreed"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Called off"


class CallOff(models.TextChoices):
    """Why an agreed match was called off."""

    BY_ONE_OF_THEM = "by_one", "One of the two called it off"
    LEFT_GROUP = "left_group", "One of the two left the group"
    GROUP_ENDED = "group_ended", "The group ended"
    POST_HIDDEN = "post_hidden", "The facilitators took the post off the board"


class CareMatch(models.Model):
    """Someone took up a care post. ``giver`` and ``receiver`` say which way the care flows."""

    post = models.ForeignKey(CarePost, on_delete=models.CASCADE, related_name="matches")
    cohort = models.ForeignKey(
        "programs.Cohort", on_delete=models.CASCADE, related_name="care_matches"
    )
    responder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    giver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="care_given"
    )
    receiver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="care_received"
    )
    status = models.CharField(
        max_length=10, choices=MatchStatus.choices, default=MatchStatus.AGREED
    )
    giver_done_at = models.DateTimeField(null=True, blank=True)
    receiver_done_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=12, choices=CallOff.choices, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who called it off, or who left the group.",
    )
    #: Encrypted at rest, as the post's own words are.
    thanks = EncryptedTextField(max_length=THANKS_MAX, blank=True)
    thanked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["post", "responder"],
                condition=~Q(status="cancelled"),
                name="care_match_one_live_per_responder",
            ),
            models.CheckConstraint(condition=~Q(giver=F("receiver")), name="care_match_two_people"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in MatchStatus]),
                name="care_match_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="done")
                | Q(
                    done_at__isnull=False,
                    giver_done_at__isnull=False,
                    receiver_done_at__isnull=False,
                ),
                name="care_match_done_by_both",
            ),
            models.CheckConstraint(
                condition=Q(thanked_at__isnull=True) | Q(status="done"),
                name="care_match_thanks_after_done",
            ),
            models.CheckConstraint(
                condition=Q(cancel_reason="") | Q(cancel_reason__in=[c.value for c in CallOff]),
                name="care_match_cancel_reason_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["cohort", "status"]),
            models.Index(fields=["giver", "status"]),
            models.Index(fields=["receiver", "status"]),
        ]

    def __str__(self) -> str:
        return f"Match {self.pk} on post {self.post_id} ({self.status})"

    def involves(self, user: object) -> bool:
        user_id = getattr(user, "pk", None)
        return user_id is not None and user_id in {self.giver_id, self.receiver_id}

    def other_person_id(self, user: object) -> int:
        return self.receiver_id if getattr(user, "pk", None) == self.giver_id else self.giver_id

    def done_by(self, user: object) -> bool:
        user_id = getattr(user, "pk", None)
        if user_id == self.giver_id:
            return self.giver_done_at is not None
        if user_id == self.receiver_id:
            return self.receiver_done_at is not None
        return False


class CareReport(models.Model):
    """A member's report of a post, for the circle's facilitators, open until one resolves it."""

    post = models.ForeignKey(CarePost, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    reason = EncryptedTextField(max_length=REASON_MAX)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    resolution_note = EncryptedTextField(max_length=RESOLUTION_NOTE_MAX, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["post", "reporter"], name="care_report_once"),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=False) | Q(resolution_note=""),
                name="care_report_note_when_resolved",
            ),
        ]

    def __str__(self) -> str:
        return f"Report on post {self.post_id}"


class BlockKind(models.TextChoices):
    BLOCK = "block", "Blocked"
    MUTE = "mute", "Muted"


class MemberBlock(models.Model):
    """One member blocks or mutes another.

    Muting hides the other person's posts from you. Blocking also stops the two of you responding
    to each other's posts. Neither is ever suggested to the other in a nudge.
    """

    blocker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="care_blocks"
    )
    blocked = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=8, choices=BlockKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="care_block_once"),
            models.CheckConstraint(condition=~Q(blocker=F("blocked")), name="care_block_other"),
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in BlockKind]), name="care_block_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.blocker_id} {self.kind}s {self.blocked_id}"


class NudgeSent(models.Model):
    """Claimed before a "just because" e-mail goes out: one per member per ISO week, the week
    as it is in the member's own time zone (see nudges.py)."""

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="care_nudges_sent"
    )
    week = models.CharField(max_length=8, help_text="ISO week, e.g. 2026-W47.")
    suggested = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    cohort = models.ForeignKey(
        "programs.Cohort", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "week"], name="care_nudge_once_a_week"),
        ]

    def __str__(self) -> str:
        return f"Nudge for {self.member_id} in {self.week}"


def unread_by_facilitators() -> Q:
    """Shared entries that wait for their group's facilitators: never read as they stand, or
    read only by someone who no longer leads the group. (A read from before readers were kept
    has no reader and stands.)"""
    return Q(read_at__isnull=True) | (
        Q(read_by__isnull=False)
        & ~Q(read_by=F("cohort__lead"))
        & (Q(cohort__co_facilitator__isnull=True) | ~Q(read_by=F("cohort__co_facilitator")))
    )


class Reflection(models.Model):
    """A private journal entry. The text is encrypted at rest."""

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reflections"
    )
    cohort = models.ForeignKey(
        "programs.Cohort",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The group whose week this answers, if any.",
    )
    week_number = models.PositiveSmallIntegerField(null=True, blank=True)
    prompt = models.TextField(max_length=1000, blank=True)
    body = EncryptedTextField()
    shared_with_facilitator = models.BooleanField(default=False)
    shared_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a facilitator first read the entry as it is now shared; cleared when the "
        "member changes it, stops sharing it or shares it again.",
    )
    read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who read it then. The read stands for the group's facilitators only while "
        "that person still leads the group: a new facilitator has not read it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(shared_with_facilitator=False) | Q(cohort__isnull=False),
                name="care_reflection_share_needs_group",
            ),
        ]
        indexes = [models.Index(fields=["member", "created_at"])]

    def __str__(self) -> str:
        return f"Reflection {self.pk}"
