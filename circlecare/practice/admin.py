"""Coordinators record clinicians' licences and compact privileges here.

Every save and deletion, on a licence's own page, in the list's delete action or in the rows on a
clinician's page, goes through ``practice.services``, which writes it to the audit trail: who may
join a therapy group depends on these rows.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest

from circlecare.accounts.models import User
from circlecare.admin_autocomplete import KeyedAutocompleteAdmin
from circlecare.practice import services
from circlecare.practice.models import Clinician, CompactPrivilege, License


def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)


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

    def delete_model(self, request: HttpRequest, obj: License) -> None:
        services.delete_license(license=obj, actor=_actor(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[License]) -> None:
        for license in queryset.order_by("pk"):
            services.delete_license(license=license, actor=_actor(request))


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

    def delete_model(self, request: HttpRequest, obj: CompactPrivilege) -> None:
        services.delete_privilege(privilege=obj, actor=_actor(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CompactPrivilege]) -> None:
        for privilege in queryset.order_by("pk"):
            services.delete_privilege(privilege=privilege, actor=_actor(request))
