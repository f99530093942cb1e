"""Admin for exception cases: read-mostly; cases change state only through the workflow."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from exceptions.models import CaseEvent, ExceptionCase


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    can_delete = False
    fields = ("at", "kind", "actor", "actor_user", "from_state", "to_state", "summary")
    readonly_fields = fields
    ordering = ("at", "id")

    def has_add_permission(self, request: HttpRequest, obj: ExceptionCase | None = None) -> bool:
        return False


@admin.register(ExceptionCase)
class ExceptionCaseAdmin(admin.ModelAdmin):
    list_display = ("id", "order", "reason_code", "state", "outcome", "priority", "depot", "opened_at", "sla_due_at")
    list_filter = ("state", "outcome", "reason_code", "depot", "touched_by_dispatcher")
    list_select_related = ("order", "reason_code", "depot")
    search_fields = ("order__reference",)
    date_hierarchy = "opened_at"
    inlines = [CaseEventInline]

    def has_change_permission(self, request: HttpRequest, obj: ExceptionCase | None = None) -> bool:
        # Every change goes through exceptions.workflow, which keeps the timeline whole.
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Cases open from failed scans, never by hand.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ExceptionCase | None = None) -> bool:
        return False
