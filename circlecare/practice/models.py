"""Who may lead which group: clinicians, their state licences and interstate compact privileges."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from circlecare.states import STATE_CHOICES


class Clinician(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="clinician"
    )
    credentials = models.CharField(
        max_length=80, help_text="As shown publicly, e.g. 'LCSW' or 'PsyD'."
    )
    bio = models.TextField("short bio", max_length=1500, blank=True)
    photo = models.ImageField(upload_to="clinicians/", blank=True)

    class Meta:
        ordering = ["user__display_name"]

    def __str__(self) -> str:
        return f"{self.user.display_name}, {self.credentials}"


class LicenseKind(models.TextChoices):
    LCSW = "LCSW", "Licensed Clinical Social Worker"
    LMHC = "LMHC", "Licensed Mental Health Counselor"
    LPC = "LPC", "Licensed Professional Counselor"
    LMFT = "LMFT", "Licensed Marriage and Family Therapist"
    PSYCHOLOGIST = "PSY", "Licensed Psychologist (PhD/PsyD)"
    PMHNP = "PMHNP", "Psychiatric Mental Health Nurse Practitioner"


class License(models.Model):
    clinician = models.ForeignKey(Clinician, on_delete=models.CASCADE, related_name="licenses")
    state = models.CharField(max_length=2, choices=STATE_CHOICES)
    kind = models.CharField(max_length=8, choices=LicenseKind.choices)
    number = models.CharField(max_length=40)
    valid_from = models.DateField()
    valid_to = models.DateField(help_text="The last day the licence is valid.")

    class Meta:
        ordering = ["state", "valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__gte=F("valid_from")),
                name="license_dates_ordered",
                violation_error_message="The licence's last valid day can't be before its first.",
            ),
            models.UniqueConstraint(
                fields=["state", "kind", "number"],
                name="license_number_unique",
                violation_error_message="A licence of this kind with this number is already recorded for this state.",
            ),
        ]
        indexes = [models.Index(fields=["state", "valid_to"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.state} #{self.number}"

    def covers(self, start: date, end: date) -> bool:
        return self.valid_from <= start and end <= self.valid_to


class Compact(models.TextChoices):
    PSYPACT = "PSYPACT", "PSYPACT (psychologists)"
    COUNSELING = "COUNSELING", "Counseling Compact"
    SOCIAL_WORK = "SOCIAL_WORK", "Social Work Licensure Compact"


class CompactPrivilege(models.Model):
    """A privilege to practise in another state, granted through a compact and backed by a home licence.

    It is only as good as the home-state licence behind it: eligibility requires both to be valid.
    """

    clinician = models.ForeignKey(Clinician, on_delete=models.CASCADE, related_name="privileges")
    compact = models.CharField(max_length=16, choices=Compact.choices)
    state = models.CharField("remote state", max_length=2, choices=STATE_CHOICES)
    home_license = models.ForeignKey(License, on_delete=models.CASCADE, related_name="privileges")
    identifier = models.CharField(
        max_length=40, blank=True, help_text="e.g. the E.Passport or APIT number."
    )
    valid_from = models.DateField()
    valid_to = models.DateField()

    class Meta:
        ordering = ["state"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__gte=F("valid_from")),
                name="privilege_dates_ordered",
                violation_error_message="The privilege's last valid day can't be before its first.",
            ),
            models.UniqueConstraint(
                fields=["clinician", "compact", "state"],
                name="privilege_unique",
                violation_error_message="This clinician already has a privilege under this compact for this state.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_compact_display()} privilege in {self.state}"

    def covers(self, start: date, end: date) -> bool:
        return (
            self.valid_from <= start
            and end <= self.valid_to
            and self.home_license.clinician_id == self.clinician_id
            and self.home_license.covers(start, end)
        )
