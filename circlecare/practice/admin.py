"""Coordinators record clinicians' licences and compact privileges here.

Every save and deletion, on a licence's own page, in the list's delete action or in the rows on a
clinician's page, goes through ``practice.services``, which writes it to the audit trail: who may
join a therapy group depends on these rows.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest

from circlecare.accounts.models import User
from circlecare.admin_autocomplete import KeyedAutocompleteAdmin
from circlecare.practice import services
from circlecare.practice.models import Clinician, CompactPrivilege, License


def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)


def _warn_of_uncovered_groups(request: HttpRequest, clinician_id: int) -> None:
    """After a licence or privilege of a clinician changes or goes: each therapy group they lead
    where people live in a state they are no longer licensed in through its last meeting. The
    change is a fact to record, so it is not refused; but those people could not be seen there,
    and nothing else would tell the coordinator until a meeting refused them."""
    from circlecare.practice.eligibility import members_a_new_lead_could_not_serve
    from circlecare.programs.models import ACTIVE, Cohort, ProgramKind
    from circlecare.states import join_names

    groups = (
        Cohort.objects.filter(
            lead__clinician__pk=clinician_id, program__kind=ProgramKind.THERAPY, status__in=ACTIVE
        )
        .select_related("program", "lead")
        .order_by("first_meeting_date", "pk")
    )
    for cohort in groups:
        missing = members_a_new_lead_could_not_serve(cohort, cohort.lead)
        if missing:
            messages.warning(
                request,
                f"{cohort}: {cohort.lead.display_name} is not licensed in {join_names(missing)} "
                "through this group's last meeting, and people in it live there. Record the "
                "renewed licence, or hand the group to a clinician licensed there.",
            )


class LicenseInline(admin.TabularInline):
    model = License
    extra = 0


class PrivilegeInline(KeyedAutocompleteAdmin, admin.TabularInline):
    model = CompactPrivilege
    extra = 0
    autocomplete_fields = ["home_license"]


@admin.register(Clinician)
class ClinicianAdmin(KeyedAutocompleteAdmin, admin.ModelAdmin):
    list_display = ("user", "credentials")
    search_fields = ("user__display_name", "user__email", "credentials", "licenses__number")
    list_filter = ("licenses__state", "licenses__kind", "privileges__compact")
    autocomplete_fields = ["user"]
    inlines = [LicenseInline, PrivilegeInline]

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: BaseInlineFormSet, change: bool
    ) -> None:
        if formset.model not in (License, CompactPrivilege):
            super().save_formset(request, form, formset, change)
            return
        actor = _actor(request)
        rows = formset.save(commit=False)
        for gone in formset.deleted_objects:
            if isinstance(gone, License):
                services.delete_license(license=gone, actor=actor)
            else:
                services.delete_privilege(privilege=gone, actor=actor)
        for row in rows:
            if isinstance(row, License):
                services.save_license(license=row, actor=actor)
            else:
                services.save_privilege(privilege=row, actor=actor)
        formset.save_m2m()

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        _warn_of_uncovered_groups(request, form.instance.pk)

    def delete_model(self, request: HttpRequest, obj: Clinician) -> None:
        services.delete_clinician(clinician=obj, actor=_actor(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Clinician]) -> None:
        for clinician in queryset.order_by("pk"):
            services.delete_clinician(clinician=clinician, actor=_actor(request))


@admin.register(License)
class LicenseAdmin(admin.ModelAdmin):
    list_display = ("clinician", "state", "kind", "number", "valid_from", "valid_to")
    list_filter = ("state", "kind")
    search_fields = ("number", "clinician__user__display_name")
    date_hierarchy = "valid_to"

    def save_model(self, request: HttpRequest, obj: License, form: Any, change: bool) -> None:
        services.save_license(license=obj, actor=_actor(request))
        _warn_of_uncovered_groups(request, obj.clinician_id)

    def delete_model(self, request: HttpRequest, obj: License) -> None:
        services.delete_license(license=obj, actor=_actor(request))
        _warn_of_uncovered_groups(request, obj.clinician_id)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[License]) -> None:
        clinicians = set()
        for license in queryset.order_by("pk"):
            services.delete_license(license=license, actor=_actor(request))
            clinicians.add(license.clinician_id)
        for clinician_id in sorted(clinicians):
            _warn_of_uncovered_groups(request, clinician_id)


@admin.register(CompactPrivilege)
class CompactPrivilegeAdmin(KeyedAutocompleteAdmin, admin.ModelAdmin):
    list_display = ("clinician", "compact", "state", "valid_from", "valid_to")
    list_filter = ("compact", "state")
    search_fields = ("clinician__user__display_name", "identifier")
    autocomplete_fields = ["home_license"]

    def save_model(
        self, request: HttpRequest, obj: CompactPrivilege, form: Any, change: bool
    ) -> None:
        services.save_privilege(privilege=obj, actor=_actor(request))
        _warn_of_uncovered_groups(request, obj.clinician_id)

    def delete_model(self, request: HttpRequest, obj: CompactPrivilege) -> None:
        services.delete_privilege(privilege=obj, actor=_actor(request))
        _warn_of_uncovered_groups(request, obj.clinician_id)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CompactPrivilege]) -> None:
        clinicians = set()
        for privilege in queryset.order_by("pk"):
            services.delete_privilege(privilege=privilege, actor=_actor(request))
            clinicians.add(privilege.clinician_id)
        for clinician_id in sorted(clinicians):
            _warn_of_uncovered_groups(request, clinician_id)
