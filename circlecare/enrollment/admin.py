"""Coordinators read enrollments here; seat changes go through the roster (the services), not edits."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from circlecare.enrollment.models import (
    ConsentDocument,
    ConsentSignature,
    Enrollment,
    PartnerInvite,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Enrollment)
class EnrollmentAdmin(ReadOnlyAdmin):
    list_display = ["member", "cohort", "status", "queued_at", "offer_expires_at"]
    list_filter = ["status"]
    search_fields = ["member__display_name", "member__email"]
    list_select_related = ["member", "cohort", "cohort__program"]
    exclude = ["goodbye"]


@admin.register(ConsentDocument)
class ConsentDocumentAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "version", "effective_at"]
    list_filter = ["kind"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A version members may have signed is never edited: publish a new version instead.
        if obj is not None and obj.pk:
            return ["kind", "version", "title", "body", "effective_at"]
        return []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ConsentSignature)
class ConsentSignatureAdmin(ReadOnlyAdmin):
    list_display = ["member", "document", "signed_at"]
    list_select_related = ["member", "document"]
    search_fields = ["member__email"]


@admin.register(PartnerInvite)
class PartnerInviteAdmin(ReadOnlyAdmin):
    list_display = ["inviter", "cohort", "status", "end_reason", "expires_at"]
    exclude = ["token_hash"]
