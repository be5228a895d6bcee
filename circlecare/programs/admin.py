"""Coordinators set up programmes and their groups here.

A group is made as a draft; its schedule page (``meetings:schedule``) opens it, which makes its
meetings. Once it is open, what its members and meetings depend on changes through the pages
made for it, which tell the people concerned: capacity on the roster, times on the schedule.
Here remain its name, its people and its joining rules.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from circlecare.admin_autocomplete import KeyedAutocompleteAdmin
from circlecare.enrollment.models import LIVE
from circlecare.practice.eligibility import clinician_of, members_a_new_lead_could_not_serve
from circlecare.programs.models import MAX_CAPACITY, Cohort, CohortStatus, Program, ProgramWeek
from circlecare.states import join_names

#: The ranges the database holds these numbers to, each with the words a coordinator sees when a
#: number falls outside it (rather than the name of the constraint it would break).
SEATS = (
    1,
    MAX_CAPACITY,
    "A group needs at least one seat.",
    f"A group can have at most {MAX_CAPACITY} seats.",
)
LIMITS: dict[str, tuple[int, int, str, str]] = {
    "capacity": SEATS,
    "default_capacity": SEATS,
    "min_size": (1, MAX_CAPACITY, "The minimum group size must be at least 1.", SEATS[3]),
    "min_group_size": (1, MAX_CAPACITY, "The minimum group size must be at least 1.", SEATS[3]),
    "weeks": (
        1,
        52,
        "A programme runs for at least 1 week.",
        "A programme runs for at most 52 weeks.",
    ),
    "minutes_per_meeting": (
        15,
        240,
        "A meeting lasts at least 15 minutes.",
        "A meeting lasts at most 240 minutes.",
    ),
}


class LimitedNumbersForm(forms.ModelForm):
    """Says in words when a number is out of its range, on the field it belongs to."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, (low, high, too_low, too_high) in LIMITS.items():
            field = self.fields.get(name)
            if not isinstance(field, forms.IntegerField):
                continue
            field.min_value, field.max_value = low, high
            field.validators = [
                v
                for v in field.validators
                if not isinstance(v, MinValueValidator | MaxValueValidator)
            ]
            field.validators += [MinValueValidator(low), MaxValueValidator(high)]
            field.error_messages.update({"min_value": too_low, "max_value": too_high})
            field.widget.attrs.update({"min": low, "max": high})


class ProgramForm(LimitedNumbersForm):
    def clean_kind(self) -> Any:
        kind = self.cleaned_data.get("kind")
        if self.instance.pk and kind != self.instance.kind and self.instance.cohorts.exists():
            # Who may join its groups (a clinician's licences, or everyone), who may lead them
            # and which questionnaires their members answer all follow from it.
            raise forms.ValidationError(
                "This programme already has groups, and its kind decides who may join them, who "
                "may lead them and which questionnaires their members answer, so it can't "
                "change now. Make a new programme of the other kind instead."
            )
        return kind

    def clean_weeks(self) -> Any:
        weeks = self.cleaned_data.get("weeks")
        if (
            self.instance.pk
            and weeks != self.instance.weeks
            and self.instance.cohorts.filter(meetings__isnull=False).exists()
        ):
            # Their meetings were made for its length, and their questionnaires (the final one
            # at the last week) and outcome figures ("by week N") follow it.
            raise forms.ValidationError(
                f"Groups of this programme already have their {self.instance.weeks} weeks of "
                "meetings, and their questionnaires and outcome figures follow its length, so it "
                "can't change now. Make a new programme of the new length instead."
            )
        return weeks


class ProgramWeekInline(admin.TabularInline):
    model = ProgramWeek
    extra = 0


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    form = ProgramForm
    list_display = ("title", "kind", "focus", "weeks", "for_couples", "is_published")
    list_filter = ("kind", "focus", "is_published", "for_couples")
    search_fields = ("title", "slug")
    prepopulated_fields = {"slug": ("title",)}
    inlines = [ProgramWeekInline]
    actions = ["make_for_couples", "make_not_for_couples"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # Whether couples join together decides how many seats a place takes in its open
        # groups: once the programme exists, it changes through the actions on the programme
        # list, which work out each group's status again (see change_for_couples).
        return () if obj is None else ("for_couples",)

    @admin.action(description="Make the selected programmes for couples", permissions=["change"])
    def make_for_couples(self, request: HttpRequest, queryset: QuerySet[Program]) -> None:
        self._change_for_couples(request, queryset, for_couples=True)

    @admin.action(
        description="Make the selected programmes no longer for couples", permissions=["change"]
    )
    def make_not_for_couples(self, request: HttpRequest, queryset: QuerySet[Program]) -> None:
        self._change_for_couples(request, queryset, for_couples=False)

    def _change_for_couples(
        self, request: HttpRequest, queryset: QuerySet[Program], *, for_couples: bool
    ) -> None:
        from circlecare.enrollment.services import change_for_couples
        from circlecare.errors import DomainError

        for program in queryset.order_by("pk"):
            if program.for_couples == for_couples:
                continue
            try:
                done = change_for_couples(
                    program=program, for_couples=for_couples, actor=request.user
                )
            except DomainError as error:
                self.message_user(request, f"{program}: {error.message}", messages.WARNING)
                continue
            said = [
                f"{program} is now for couples: couples join its groups together."
                if for_couples
                else f"{program} is no longer for couples: each person joins on their own. "
                "Couples already in its groups keep their places together."
            ]
            if done.now_full:
                said.append(f"Now full: {_titles(done.now_full)}.")
            if done.now_open:
                said.append(f"Now open: {_titles(done.now_open)}.")
            if done.invitations_called_off:
                said.append(
                    f"{done.invitations_called_off} invitation(s) to a partner were called off; "
                    "whoever sent them is told by e-mail."
                )
            self.message_user(request, " ".join(said), messages.SUCCESS)


def _titles(cohorts: list[Cohort]) -> str:
    return "; ".join(str(c) for c in cohorts)


#: What a group's members and meetings depend on: set while it is a draft, then changed only
#: through the roster (capacity) and the schedule page (times), which tell those concerned.
SCHEDULE_FIELDS = (
    "program",
    "first_meeting_date",
    "weekday",
    "start_time",
    "time_zone",
    "capacity",
)


COHORT_FIELDS = (
    "program",
    "name",
    "lead",
    "co_facilitator",
    "first_meeting_date",
    "weekday",
    "start_time",
    "time_zone",
    "capacity",
    "min_size",
    "enrollment_deadline",
    "status",
)


class CohortForm(LimitedNumbersForm):
    class Meta:
        model = Cohort
        fields = COHORT_FIELDS

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in ("lead", "co_facilitator"):
            refusal = self._why_not_leading(cleaned.get(name))
            if refusal:
                self.add_error(name, refusal)
        if self.errors:
            return cleaned
        lead = cleaned.get("lead")
        program = cleaned.get("program", self.instance.program if self.instance.pk else None)
        if (
            program is not None
            and program.is_therapy
            and lead is not None
            and clinician_of(lead.pk) is None
        ):
            # Nobody could ever join: eligibility asks for the lead's licences.
            self.add_error(
                "lead",
                f"A therapy group is led by a licensed clinician, and {lead.display_name} isn't "
                "recorded as one. Record them as a clinician with their licences first, or "
                "choose another lead.",
            )
            return cleaned
        if self.instance.pk and lead is not None and lead.pk != self.instance.lead_id:
            # Handing a therapy group to another clinician: they must be able to see everyone
            # in it, where they live, through its last meeting.
            missing = members_a_new_lead_could_not_serve(self.instance, lead)
            if missing:
                self.add_error(
                    "lead",
                    f"{lead.display_name} isn't licensed in {join_names(missing)} through this "
                    "group's last meeting, and people in it live there. Choose a clinician "
                    "licensed there, or record their licence first.",
                )
        return cleaned

    def _why_not_leading(self, person: Any) -> str:
        """Why ``person`` may not lead this group or help lead it; empty when they may. Those who
        lead a group see its members' answers and notes: a member of it, or anyone who is not
        a facilitator, clinician or coordinator, would see other people's clinical data."""
        if person is None:
            return ""
        if not (person.is_facilitator or person.is_staff or clinician_of(person.pk)):
            return (
                f"{person.display_name} isn't recorded as a facilitator or a clinician, and "
                "whoever leads a group sees its members' answers and notes. Tick 'Is "
                "facilitator' on their account, or record them as a clinician, first."
            )
        if (
            self.instance.pk
            and self.instance.enrollments.filter(member=person, status__in=LIVE).exists()
        ):
            return (
                f"{person.display_name} has a place in this group as a member, so they can't "
                "also lead it: they would see the other members' answers and notes."
            )
        return ""


@admin.register(Cohort)
class CohortAdmin(KeyedAutocompleteAdmin, admin.ModelAdmin):
    form = CohortForm
    fields = COHORT_FIELDS
    list_display = ("__str__", "lead", "first_meeting_date", "status", "capacity")
    list_filter = ("status", "program__kind")
    search_fields = ("name", "program__title", "lead__display_name")
    autocomplete_fields = ["program", "lead", "co_facilitator"]

    actions = ["cancel_groups"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None or obj.status == CohortStatus.DRAFT:
            return ("status",)
        return ("status", *SCHEDULE_FIELDS)

    def save_model(self, request: HttpRequest, obj: Cohort, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and {"lead", "co_facilitator"} & set(form.changed_data):
            # A meeting of the group may be going on: whoever no longer leads it loses the
            # room's controls at once (after the admin's transaction commits).
            from circlecare.meetings.live.services import leaders_changed

            leaders_changed(cohort=obj)
        if change and "lead" in form.changed_data:
            # The group's open alerts go with it to its new lead (in the admin's transaction).
            from circlecare.measures.services import lead_changed

            moved = lead_changed(cohort=obj, actor=request.user)
            if moved:
                self.message_user(
                    request,
                    f"{moved} open alert{'' if moved == 1 else 's'} about members of this group "
                    f"{'is' if moved == 1 else 'are'} now assigned to {obj.lead.display_name}.",
                    messages.INFO,
                )

    @admin.action(description="Cancel the selected groups (members are told)")
    def cancel_groups(
        self, request: HttpRequest, queryset: QuerySet[Cohort]
    ) -> HttpResponse | None:
        """Asks first, on a page of its own: cancelling ends everyone's place and e-mails them."""
        from circlecare.enrollment.services import cancel_cohort
        from circlecare.errors import DomainError

        groups = list(queryset.select_related("program").order_by("first_meeting_date", "pk"))
        if request.POST.get("confirm") != "yes":
            return TemplateResponse(
                request,
                "admin/programs/cohort/cancel_confirm.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Cancel these groups?",
                    "groups": groups,
                    "opts": self.model._meta,
                    "action": "cancel_groups",
                    "action_checkbox_name": ACTION_CHECKBOX_NAME,
                },
            )
        for cohort in groups:
            try:
                ended = cancel_cohort(cohort=cohort, actor=request.user)
            except DomainError as error:
                self.message_user(request, f"{cohort}: {error.message}", messages.WARNING)
            else:
                self.message_user(
                    request, f"{cohort} is cancelled; {ended} member(s) are told.", messages.SUCCESS
                )
        return None
