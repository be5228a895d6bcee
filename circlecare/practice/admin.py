from __future__ import annotations

from django.contrib import admin

from circlecare.practice.models import Clinician, CompactPrivilege, License


class LicenseInline(admin.TabularInline):
    model = License
    extra = 0


class PrivilegeInline(admin.TabularInline):
    model = CompactPrivilege
    extra = 0
    autocomplete_fields = ["home_license"]


@admin.register(Clinician)
class ClinicianAdmin(admin.ModelAdmin):
    list_display = ("user", "credentials")
    search_fields = ("user__display_name", "user__email", "credentials", "licenses__number")
    list_filter = ("licenses__state", "licenses__kind", "privileges__compact")
    autocomplete_fields = ["user"]
    inlines = [LicenseInline, PrivilegeInline]


@admin.register(License)
class LicenseAdmin(admin.ModelAdmin):
    list_display = ("clinician", "state", "kind", "number", "valid_from", "valid_to")
    list_filter = ("state", "kind")
    search_fields = ("number", "clinician__user__display_name")
    date_hierarchy = "valid_to"


@admin.register(CompactPrivilege)
class CompactPrivilegeAdmin(admin.ModelAdmin):
    list_display = ("clinician", "compact", "state", "valid_from", "valid_to")
    list_filter = ("compact", "state")
    search_fields = ("clinician__user__display_name", "identifier")
    autocomplete_fields = ["home_license"]
