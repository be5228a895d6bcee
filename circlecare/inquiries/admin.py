from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from circlecare.audit.models import AuditAction
from circlecare.audit.services import record
from circlecare.crypto import lookup_digests
from circlecare.inquiries.models import Inquiry, InquiryStatus
from circlecare.inquiries.services import set_inquiry_status, update_inquiry


@admin.register(Inquiry)
class InquiryAdmin(admin.ModelAdmin):
    """The coordinators' inbox: new, contacted, closed."""

    list_display = ("created_at", "name", "email", "state", "interest", "status", "handled_by")
    list_filter = ("status", "interest", "state")
    # Not by name or address: the database holds them encrypted, so it would sort ciphertext.
    sortable_by = ("created_at", "state", "interest", "status")
    # Names and addresses are encrypted, so the database cannot search them: only an exact
    # address is found, through its digest (get_search_results).
    search_fields = ("email_digest",)
    search_help_text = "Find the messages sent from one e-mail address: type it in full."
    date_hierarchy = "created_at"
    readonly_fields = ("name", "email", "state", "interest", "message", "created_at", "handled_by")
    fields = (*readonly_fields, "status", "coordinator_notes")
    actions = ["mark_contacted", "mark_closed"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Inquiry], search_term: str
    ) -> tuple[QuerySet[Inquiry], bool]:
        if not search_term.strip():
            return queryset, False
        return queryset.filter(email_digest__in=lookup_digests(search_term)), False

    def save_model(self, request: HttpRequest, obj: Inquiry, form: Any, change: bool) -> None:
        # Through the service, as the list's actions do: who handled it, and an audit event.
        saved = update_inquiry(
            inquiry=obj,
            status=obj.status,
            coordinator_notes=obj.coordinator_notes,
            actor=request.user,
        )
        obj.handled_by = saved.handled_by

    def change_view(
        self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        response = super().change_view(request, object_id, *args, **kwargs)
        if request.method == "GET" and response.status_code == 200:
            obj = self.get_object(request, object_id)
            if obj is not None:
                record(actor=request.user, action=AuditAction.INQUIRY_VIEWED, target=obj)
        return response

    def _mark(
        self, request: HttpRequest, queryset: QuerySet[Inquiry], status: InquiryStatus
    ) -> None:
        for inquiry in queryset:
            set_inquiry_status(inquiry=inquiry, status=status, actor=request.user)
        self.message_user(
            request, f"{queryset.count()} marked {status.label.lower()}.", messages.SUCCESS
        )

    @admin.action(description="Mark as contacted")
    def mark_contacted(self, request: HttpRequest, queryset: QuerySet[Inquiry]) -> None:
        self._mark(request, queryset, InquiryStatus.CONTACTED)

    @admin.action(description="Mark as closed")
    def mark_closed(self, request: HttpRequest, queryset: QuerySet[Inquiry]) -> None:
        self._mark(request, queryset, InquiryStatus.CLOSED)
