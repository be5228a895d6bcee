"""Coordinators set up programmes and their groups here.

A group is made as a draft; its schedule page (``meetings:schedule``) opens it, which makes its
meetings. Once it is open, what its members and meetings depend on changes through the pages
made for it, which tell the people concerned: capacity on the roster, times on the schedule.
Here remain its name, its people and its joining rules.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from circlecare.programs.models import Cohort, CohortStatus, Program, ProgramWeek


class ProgramWeekInline(admin.TabularInline):
    model = ProgramWeek
    extra = 0


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ("title", "kind", "focus", "weeks", "for_couples", "is_published")
    list_filter = ("kind", "focus", "is_published")
    search_fields = ("title", "slug")
    prepopulated_fields = {"slug": ("title",)}
    inlines = [ProgramWeekInline]


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


@admin.register(Cohort)
class CohortAdmin(admin.ModelAdmin):
    list_display = ("__str__", "lead", "first_meeting_date", "status", "capacity")
    list_filter = ("status", "program__kind")
    search_fields = ("name", "program__title", "lead__display_name")
    autocomplete_fields = ["program", "lead", "co_facilitator"]
    fields = (
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

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None or obj.status == CohortStatus.DRAFT:
            return ("status",)
        return ("status", *SCHEDULE_FIELDS)
