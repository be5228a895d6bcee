"""Assessments (one administration of an instrument to a member), risk alerts and measurement plans.

Answers are clinical text and are stored encrypted; the total, band and flags are stored plainly
beside them so that outcome figures can be computed with database aggregates without decrypting
anything.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from circlecare.crypto import EncryptedTextField


class Occasion(models.TextChoices):
    INTAKE = "intake", "Intake"
    WEEKLY = "weekly", "Weekly"
    FINAL = "final", "Final"
    CHECKIN = "checkin", "After-meeting check-in"


class AssessmentStatus(models.TextChoices):
    DUE = "due", "Due"
    COMPLETED = "completed", "Completed"
    MISSED = "missed", "Missed"


class Assessment(models.Model):
    """One administration of an instrument to a member, for one occasion of one cohort.

    ``meeting_week`` is the programme week the occasion belongs to (0 for intake). The meeting
    itself lives in the meetings app; ``meeting_ref`` may hold its id as a plain integer so the
    two apps stay independent.
    """

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assessments"
    )
    cohort = models.ForeignKey(
        "programs.Cohort", on_delete=models.PROTECT, related_name="assessments"
    )
    #: The cohort's program kind when the row was made: intake counts for any group of that kind.
    program_kind = models.CharField(max_length=16)
    instrument = models.CharField(max_length=12)
    occasion = models.CharField(max_length=8, choices=Occasion.choices)
    meeting_week = models.PositiveSmallIntegerField(default=0)
    meeting_ref = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=AssessmentStatus.choices, default=AssessmentStatus.DUE
    )
    due_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    #: JSON list of the answers as given (scored items, then any unscored one). Encrypted.
    answers = EncryptedTextField(blank=True, default="")
    total = models.PositiveSmallIntegerField(null=True, blank=True)
    percentage = models.PositiveSmallIntegerField(null=True, blank=True)
    band = models.CharField(max_length=40, blank=True)
    flags = models.JSONField(default=list, blank=True)
    has_risk = models.BooleanField(default=False)
    #: Made-up history seeded by the demo; never mixed with real answers.
    synthetic = models.BooleanField(default=False)
    #: An intake the member shared from another group's (the same answers, given then): see
    #: ``services.share_intake``.
    shared_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["member", "cohort", "due_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "cohort", "instrument", "occasion", "meeting_week"],
                name="assessment_once_per_occasion",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in AssessmentStatus]),
                name="assessment_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(occasion__in=[o.value for o in Occasion]),
                name="assessment_occasion_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status=AssessmentStatus.COMPLETED)
                | Q(completed_at__isnull=False, total__isnull=False),
                name="assessment_completed_has_score",
            ),
            models.CheckConstraint(
                condition=Q(status=AssessmentStatus.COMPLETED)
                | Q(completed_at__isnull=True, total__isnull=True),
                name="assessment_open_has_no_score",
            ),
        ]
        indexes = [
            # A member's scores in one cohort: the member chart and the FHIR export.
            models.Index(
                fields=["cohort", "member", "instrument", "status", "meeting_week"],
                name="assessment_cohort_member",
            ),
            models.Index(fields=["status", "due_at"], name="assessment_due"),
            models.Index(
                fields=["member", "program_kind", "occasion", "status", "completed_at"],
                name="assessment_intake_lookup",
            ),
            models.Index(
                fields=["cohort"], condition=Q(synthetic=True), name="assessment_synthetic"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} {self.occasion} w{self.meeting_week} ({self.status})"

    @classmethod
    def scored(
        cls,
        *,
        member_id: int,
        cohort: Any,
        code: str,
        occasion: str,
        week: int,
        answers: list[int],
        when: Any,
        synthetic: bool = False,
    ) -> Assessment:
        """An unsaved, completed assessment scored by its instrument (history loaded in bulk)."""
        from circlecare.measures.instruments import get

        score = get(code).score(answers)
        return cls(
            member_id=member_id,
            cohort=cohort,
            program_kind=cohort.program.kind,
            instrument=code,
            occasion=occasion,
            meeting_week=week,
            status=AssessmentStatus.COMPLETED,
            due_at=when,
            completed_at=when,
            answers=json.dumps(answers),
            total=score.total,
            percentage=score.percentage,
            band=score.band,
            flags=list(score.flags),
            has_risk=score.has_risk,
            synthetic=synthetic,
        )

    @property
    def is_completed(self) -> bool:
        return self.status == AssessmentStatus.COMPLETED

    @property
    def closes_at(self) -> Any:
        """When an open questionnaire stops taking answers (``plans.CLOSES_AFTER`` after it
        opened); None for the intake, which stays open until it is answered."""
        from circlecare.measures.plans import CLOSES_AFTER

        if self.occasion == Occasion.INTAKE:
            return None
        return self.due_at + CLOSES_AFTER

    @property
    def topic(self) -> str:
        """What this questionnaire asks about, in a member's words."""
        from circlecare.measures.instruments import get

        return get(self.instrument).topic

    @property
    def answer_list(self) -> list[int]:
        if not self.answers:
            return []
        value: Any = json.loads(self.answers)
        return [int(v) for v in value]


class ScoreSummary(models.Model):
    """A member's first and last score on one instrument in one cohort: what outcome reports
    read instead of every score (see ``summaries`` and ``outcomes``).

    ``baseline_*`` is the first completed score in programme order (``timepoints``: by week,
    then by completion time, then by id). ``last_*`` is the last one in that order up to
    ``weeks``, the program's last week when the row was written; it is empty when every score
    lies beyond that week. Each names its assessment and keeps its completion time, so that a
    new score can be placed before or after it. ``seated`` and ``left_early`` say where the
    member stands in the cohort. Derived data: ``summaries.rebuild`` recomputes it from the
    assessments and enrollments.
    """

    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    #: Looked up through the unique constraint, which leads with the cohort.
    cohort = models.ForeignKey(
        "programs.Cohort", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    instrument = models.CharField(max_length=12)
    #: The program's number of weeks ``last_*`` was capped at.
    weeks = models.PositiveSmallIntegerField()
    baseline_week = models.PositiveSmallIntegerField()
    baseline_total = models.PositiveSmallIntegerField()
    baseline_at = models.DateTimeField()
    #: Completed scores are kept for good (see ``summaries``); no index or database constraint
    #: is needed to follow these from a summary.
    baseline_assessment = models.ForeignKey(
        Assessment,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    last_week = models.PositiveSmallIntegerField(null=True, blank=True)
    last_total = models.PositiveSmallIntegerField(null=True, blank=True)
    last_at = models.DateTimeField(null=True, blank=True)
    last_assessment = models.ForeignKey(
        Assessment,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,
        null=True,
        blank=True,
    )
    #: They took a seat in the cohort (an enrollment with ``confirmed_at``).
    seated = models.BooleanField(db_default=False)
    #: A seat of theirs ended as withdrawn or removed, and they are not back in the group.
    left_early = models.BooleanField(db_default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cohort", "member", "instrument"], name="score_summary_once"
            ),
            models.CheckConstraint(
                condition=Q(
                    last_week__isnull=True,
                    last_total__isnull=True,
                    last_at__isnull=True,
                    last_assessment__isnull=True,
                )
                | Q(
                    last_week__isnull=False,
                    last_total__isnull=False,
                    last_at__isnull=False,
                    last_assessment__isnull=False,
                ),
                name="score_summary_last_whole",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} w{self.baseline_week}→w{self.last_week}"


class RiskAlert(models.Model):
    """A risk answer that needs a person: raised with the answer, acknowledged by the assignee.

    Not acknowledged within ``RISK_ALERT_ESCALATE_AFTER`` (default one hour), it escalates to the
    coordinators.
    """

    #: None when the questionnaire had been taken back (its meeting moved later, the member was
    #: recorded as away, or left the group) while its form was open: the answer was still given.
    assessment = models.OneToOneField(
        Assessment, on_delete=models.PROTECT, related_name="risk_alert", null=True, blank=True
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="risk_alerts"
    )
    cohort = models.ForeignKey(
        "programs.Cohort", on_delete=models.PROTECT, related_name="risk_alerts"
    )
    #: The cohort's lead (clinician for therapy, facilitator for skills groups and care circles).
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assigned_risk_alerts"
    )
    #: Skills groups and care circles alert the coordinators at once as well as the facilitator.
    coordinators_alerted = models.BooleanField(default=False)
    #: False when the risk answer came in a form that could not be stored (sent twice, with
    #: other answers missing, or after the questionnaire was taken back): the member's scores do
    #: not show it, but it was given.
    answer_saved = models.BooleanField(default=True)
    raised_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="acknowledged_risk_alerts",
        null=True,
        blank=True,
    )
    #: What was done, written by whoever acknowledged it. Encrypted.
    action_note = EncryptedTextField(blank=True, default="")
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["acknowledged_at", "-raised_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True, acknowledged_by__isnull=True)
                | Q(acknowledged_at__isnull=False, acknowledged_by__isnull=False),
                name="risk_alert_ack_has_actor",
            ),
        ]
        indexes = [models.Index(fields=["acknowledged_at", "raised_at"], name="risk_alert_open")]

    def __str__(self) -> str:
        state = "acknowledged" if self.acknowledged_at else "open"
        return f"Risk alert #{self.pk} ({state})"

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None

    @property
    def risk_answer_label(self) -> str:
        """How often the member said they had these thoughts ("Nearly every day"), in the
        form's own words, when the answer was stored; "" when it was not."""
        from circlecare.measures.instruments.phq9 import FREQUENCY_OPTIONS, RISK_ITEM

        row = self.assessment
        if not self.answer_saved or row is None or not row.is_completed or row.instrument != "PHQ9":
            return ""
        answers = row.answer_list
        if len(answers) < RISK_ITEM:
            return ""
        return dict(FREQUENCY_OPTIONS).get(answers[RISK_ITEM - 1], "")


class MeasurementPlan(models.Model):
    """Which validated instruments a program asks weekly; without a row the defaults apply."""

    program = models.OneToOneField(
        "programs.Program", on_delete=models.CASCADE, related_name="measurement_plan"
    )
    #: Instrument codes, comma-separated, e.g. "PHQ9,GAD7".
    weekly_instruments = models.CharField(max_length=60)
    checkin_after_meetings = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"Plan for {self.program_id}: {self.weekly_instruments}"

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c.strip() for c in self.weekly_instruments.split(",") if c.strip())
