from __future__ import annotations

from django.contrib import admin

from circlecare.care.models import (
    CareBoardSetting,
    CohortWeek,
    NudgeSent,
)


@admin.register(CohortWeek)
class CohortWeekAdmin(admin.ModelAdmin):
    list_display = ("cohort", "number", "topic", "updated_at")
    raw_id_fields = ("cohort", "updated_by")


@admin.register(CareBoardSetting)
class CareBoardSettingAdmin(admin.ModelAdmin):
    list_display = ("cohort", "enabled", "changed_at")
    raw_id_fields = ("cohort", "changed_by")


@admin.register(NudgeSent)
class NudgeSentAdmin(admin.ModelAdmin):
    list_display = ("member", "week", "sent_at")
    raw_id_fields = ("member", "suggested", "cohort")


# Care posts, matches, reports, blocks and reflections are deliberately absent: only a group's
# members and facilitators see its board, and journal text is read only by its author (or by a
# facilitator, audited, when the member shares an entry).
