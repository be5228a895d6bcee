from __future__ import annotations

from django.contrib import admin

from circlecare.measures.models import MeasurementPlan


@admin.register(MeasurementPlan)
class MeasurementPlanAdmin(admin.ModelAdmin):
    """Only the plan is editable here. Answers and alerts are read on their own pages, which
    check who may see them and write the audit trail."""

    list_display = ["program", "weekly_instruments", "checkin_after_meetings"]
