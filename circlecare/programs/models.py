"""What is offered (Program and its weekly curriculum) and each running group of it (Cohort)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from circlecare.accounts.validators import validate_time_zone
from circlecare.urlshapes import reverse

MAX_CAPACITY = 60


class ProgramKind(models.TextChoices):
    THERAPY = "therapy", "Therapy group"
    SKILLS = "skills", "Skills group"
    CARE_CIRCLE = "care_circle", "Care circle"


class Focus(models.TextChoices):
    RELATIONSHIPS = "relationships", "Relationships"
    EMOTIONS = "emotions", "Handling strong emotions"
    CONNECTION = "connection", "Connection and loneliness"
    ANXIETY = "anxiety", "Anxiety"
    MOOD = "mood", "Low mood"
    GRIEF = "grief", "Grief and loss"


class Program(models.Model):
    kind = models.CharField(max_length=16, choices=ProgramKind.choices)
    title = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80, unique=True)
    focus = models.CharField(max_length=20, choices=Focus.choices)
    summary = models.CharField(max_length=300, help_text="One or two sentences for the catalog.")
    description = models.TextField(max_length=5000, blank=True)
    audience = models.TextField("who it is for", max_length=2000)
    weeks = models.PositiveSmallIntegerField()
    minutes_per_meeting = models.PositiveSmallIntegerField(default=90)
    default_capacity = models.PositiveSmallIntegerField(default=10)
    min_group_size = models.PositiveSmallIntegerField(default=4)
    for_couples = models.BooleanField(
        default=False, help_text="Couples join together and take two seats at once."
    )
    is_published = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(weeks__gte=1, weeks__lte=52), name="program_weeks_range"
            ),
            models.CheckConstraint(
                condition=Q(minutes_per_meeting__gte=15, minutes_per_meeting__lte=240),
                name="program_minutes_range",
            ),
            models.CheckConstraint(
                condition=Q(default_capacity__gte=1, default_capacity__lte=MAX_CAPACITY),
                name="program_capacity_range",
            ),
            models.CheckConstraint(
                condition=Q(min_group_size__gte=1, min_group_size__lte=F("default_capacity")),
                name="program_min_le_capacity",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in ProgramKind]), name="program_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        fields = kwargs.get("update_fields")
        if not self._state.adding and (fields is None or "for_couples" in fields):
            stored = Program.objects.filter(pk=self.pk).values_list("for_couples", flat=True)
            if stored.first() not in (None, self.for_couples):
                # How many seats a place takes changes with it, and so whether each open group
                # is full: enrollment.services.change_for_couples makes the change under the
                # seat locks and works the groups' status out again.
                raise ValueError(
                    "Change whether a programme is for couples with "
                    "enrollment.services.change_for_couples."
                )
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("programs:detail", kwargs={"slug": self.slug})

    def clean(self) -> None:
        if (
            self.default_capacity
            and self.min_group_size
            and self.min_group_size > self.default_capacity
        ):
            raise ValidationError(
                {"min_group_size": "The minimum group size can't be larger than the capacity."}
            )

    @property
    def is_therapy(self) -> bool:
        return self.kind == ProgramKind.THERAPY

    @property
    def leader_word(self) -> str:
        """What members call the person who leads a group of this kind: a therapy group is led
        by its "clinician", a skills group or care circle by its "facilitator" (DESIGN.md's
        words). Add an "s" for the plural."""
        return "clinician" if self.is_therapy else "facilitator"

    @property
    def kind_noun(self) -> str:
        """What members call a group of this kind in a sentence: "therapy group", "skills
        group" or "care circle" (the kind's label, as the catalog shows it)."""
        return str(self.get_kind_display()).lower()


class ProgramWeek(models.Model):
    """One week of a program's curriculum."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="curriculum")
    number = models.PositiveSmallIntegerField()
    module = models.CharField(max_length=80, blank=True, help_text="e.g. 'Distress tolerance'.")
    topic = models.CharField(max_length=160)
    skill = models.CharField(max_length=300, blank=True)
    practice = models.TextField("practice between meetings", max_length=2000, blank=True)
    reflection_prompt = models.TextField(max_length=1000, blank=True)

    class Meta:
        ordering = ["program", "number"]
        constraints = [
            models.UniqueConstraint(fields=["program", "number"], name="program_week_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="program_week_positive"),
        ]

    def __str__(self) -> str:
        return f"Week {self.number}: {self.topic}"


class CohortStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open for joining"
    FULL = "full", "Full"
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    CANCELLED = "cancelled", "Cancelled"


#: A cohort taking members: open, or full with its waiting list open.
JOINABLE = (CohortStatus.OPEN, CohortStatus.FULL)
#: A cohort that has not ended: taking members, or meeting.
ACTIVE = (*JOINABLE, CohortStatus.RUNNING)
#: A cohort that has ended: finished, or cancelled.
ENDED = (CohortStatus.FINISHED, CohortStatus.CANCELLED)


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


#: A group whose meetings, or the end of its joining day, fall past the last date Python holds.
SERIES_PAST_CALENDAR = "The meeting series runs past the dates the calendar can hold."
PAST_CALENDAR_FIX = (
    "The group's meetings would run past the last date the calendar can hold; check the year."
)

#: A group for couples seats two at a time: an odd capacity leaves a seat nobody can take.
COUPLES_EVEN_CAPACITY = (
    "This group is for couples, who take their seats two at a time: please choose an even number "
    "of seats."
)


class Cohort(models.Model):
    """One running group of a program. The UI calls it a *group*."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="cohorts")
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="led_cohorts"
    )
    co_facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="co_led_cohorts",
        null=True,
        blank=True,
    )
    name = models.CharField(max_length=120, blank=True, help_text="e.g. 'Tuesday evenings'.")
    first_meeting_date = models.DateField()
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField(help_text="Local time in the group's time zone.")
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    capacity = models.PositiveSmallIntegerField()
    min_size = models.PositiveSmallIntegerField("minimum group size", default=1)
    status = models.CharField(
        max_length=12, choices=CohortStatus.choices, default=CohortStatus.DRAFT
    )
    enrollment_deadline = models.DateField(null=True, blank=True)
    #: The moment the group stops taking new members by its own calendar: midnight, in its zone,
    #: after its joining deadline (or after its first meeting's day). Kept by ``save()`` so the
    #: catalog can compare it with the time now in SQL, whatever the group's zone.
    joinable_until = models.DateTimeField(null=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    #: The fields ``joinable_until`` is worked out from.
    JOINABLE_UNTIL_FROM = frozenset({"first_meeting_date", "enrollment_deadline", "time_zone"})

    class Meta:
        ordering = ["first_meeting_date", "start_time", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(capacity__gte=1, capacity__lte=MAX_CAPACITY),
                name="cohort_capacity_range",
            ),
            models.CheckConstraint(
                condition=Q(min_size__gte=1, min_size__lte=F("capacity")),
                name="cohort_min_le_capacity",
            ),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="cohort_weekday_range"),
            models.CheckConstraint(
                condition=~Q(co_facilitator=F("lead")), name="cohort_cofacilitator_not_lead"
            ),
            models.CheckConstraint(
                condition=Q(enrollment_deadline__isnull=True)
                | Q(enrollment_deadline__lte=F("first_meeting_date")),
                name="cohort_deadline_before_start",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in CohortStatus]), name="cohort_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["status", "first_meeting_date"])]

    def __str__(self) -> str:
        return f"{self.title} (from {self.first_meeting_date:%d %b %Y})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.joinable_until = self.joinable_until_for(
            self.first_meeting_date, self.enrollment_deadline, self.time_zone
        )
        fields = kwargs.get("update_fields")
        if fields is not None and self.JOINABLE_UNTIL_FROM & set(fields):
            kwargs["update_fields"] = {*fields, "joinable_until"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("programs:cohort", kwargs={"pk": self.pk})

    @staticmethod
    def joinable_until_for(first_meeting_date: date, deadline: date | None, zone: str) -> datetime:
        """Midnight in ``zone`` at the end of the last day someone new may join: the deadline's
        day, else the first meeting's. The one statement of that rule: ``closed_for_joining``
        and the catalog (through the stored ``joinable_until``) both go by it."""
        last_day = min(deadline, first_meeting_date) if deadline else first_meeting_date
        try:
            day_after = last_day + timedelta(days=1)
        except OverflowError:
            # The last day the calendar holds (a first meeting moved to 31 December 9999).
            raise ValueError(SERIES_PAST_CALENDAR) from None
        return datetime.combine(day_after, time(0), tzinfo=ZoneInfo(zone))

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if (
            self.first_meeting_date
            and self.weekday is not None
            and self.first_meeting_date.weekday() != self.weekday
        ):
            errors["weekday"] = "The weekday must match the date of the first meeting."
        if self.first_meeting_date and self.program_id:
            try:
                # A week's margin past the last meeting: its moment, in any zone, and the end
                # of the joining day must all be dates the calendar holds.
                self.first_meeting_date + timedelta(weeks=self.program.weeks)
            except OverflowError:
                errors["first_meeting_date"] = PAST_CALENDAR_FIX
        if self.capacity and self.min_size and self.min_size > self.capacity:
            errors["min_size"] = "The minimum group size can't be larger than the capacity."
        if self.capacity and self.program_id and self.program.for_couples and self.capacity % 2:
            errors["capacity"] = COUPLES_EVEN_CAPACITY
        if self.co_facilitator_id and self.co_facilitator_id == self.lead_id:
            errors["co_facilitator"] = "The co-facilitator must be someone other than the lead."
        if (
            self.enrollment_deadline
            and self.first_meeting_date
            and self.enrollment_deadline > self.first_meeting_date
        ):
            errors["enrollment_deadline"] = "The deadline must be on or before the first meeting."
        if errors:
            raise ValidationError(errors)

    @property
    def title(self) -> str:
        """The group as people name it: its programme, and its own name when it has one."""
        return f"{self.program.title} — {self.name}" if self.name else self.program.title

    @property
    def planned_last_date(self) -> date:
        """The date of the last meeting in the plain weekly pattern (skips move it later)."""
        return self.first_meeting_date + timedelta(weeks=self.program.weeks - 1)

    @property
    def seats_held(self) -> int:
        """Confirmed plus offered seats. Catalog queries annotate this; otherwise one query."""
        annotated = getattr(self, "held_count", None)
        if annotated is not None:
            return int(annotated)
        from circlecare.enrollment.models import SEAT_HOLDING

        return self.enrollments.filter(status__in=SEAT_HOLDING).count()

    @property
    def seats_left(self) -> int:
        return max(self.capacity - self.seats_held, 0)

    @property
    def waiting_count(self) -> int:
        """Places on the waiting list. Catalog queries annotate this; otherwise one query."""
        annotated = getattr(self, "waitlist_count", None)
        if annotated is not None:
            return int(annotated)
        from circlecare.enrollment.models import EnrollmentStatus

        return self.enrollments.filter(status=EnrollmentStatus.WAITLISTED).count()

    @property
    def seats_per_place(self) -> int:
        """The seats one new place takes: two in a group for couples (a couple joins together),
        else one."""
        return 2 if self.program.for_couples else 1

    def is_full_with(self, held: int) -> bool:
        """Whether the group, holding ``held`` seats, has no room for one more place: fewer free
        seats than a place takes. A group for couples with one free seat is full, as joining it
        would be a place on the waiting list. The open/full status follows this."""
        return self.capacity - held < self.seats_per_place

    @property
    def couples_left(self) -> int:
        """How many more couples can take seats in a group for couples right now, as
        ``enrollment.services.accept_partner_invite`` decides: a couple needs two free seats, and
        while anyone is on the waiting list a couple joins it behind them. One free seat is
        room for nobody."""
        if self.seats_left < 2 or self.waiting_count:
            return 0
        return self.seats_left // 2

    @property
    def is_joinable(self) -> bool:
        return self.status in JOINABLE

    @property
    def has_ended(self) -> bool:
        """Finished or cancelled: nothing about its seats changes any more."""
        return self.status in ENDED

    def local_today(self) -> date:
        """Today by the group's own calendar."""
        return timezone.localtime(timezone.now(), ZoneInfo(self.time_zone)).date()

    @property
    def closed_for_joining(self) -> str:
        """Why someone new cannot join now, in plain words; empty while they can. By its status,
        then by its own calendar: from ``joinable_until`` on (worked out from the fields as they
        are now, which is what ``save()`` stores for the catalog), the joining deadline has
        passed, or, without one, the group has started meeting."""
        if self.status == CohortStatus.CANCELLED:
            return "This group has been cancelled."
        if self.status == CohortStatus.FINISHED:
            return "This group has finished."
        if not self.is_joinable:
            return "This group isn't taking new members."
        deadline, first = self.enrollment_deadline, self.first_meeting_date
        if timezone.now() < self.joinable_until_for(first, deadline, self.time_zone):
            return ""
        if deadline is not None and deadline <= first:
            return "The deadline for joining this group has passed."
        return "This group has already started meeting."

    def is_led_by(self, user: object) -> bool:
        user_id = getattr(user, "pk", None)
        return user_id is not None and user_id in {self.lead_id, self.co_facilitator_id}
