"""Admin for the driver API's records: tokens, the instruction feed, GPS batches, the reveal audit."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from dispatch.admin.scoping import DepotScopedAdmin
from dispatch.models import AccessRevealAudit, ApiToken, DriverInstruction, DriverSignInCode, LocationBatch
from dispatch.services.tokens import api_token_revoke


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the API: visible, never edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ("name", "prefix", "kind", "user", "depot", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("kind", "depot", ("revoked_at", admin.EmptyFieldListFilter))
    list_select_related = ("user", "depot")
    search_fields = ("name", "prefix", "user__username")
    exclude = ("key_hash",)
    actions = ["revoke"]

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            api_token_revoke(token=token)
        self.message_user(request, f"Revoked {queryset.count()} tokens.", messages.SUCCESS)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Revoking is a change; editing fields is not offered (all are read-only below).
        return bool(request.user.has_perm("dispatch.change_apitoken"))

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [field.name for field in ApiToken._meta.fields if field.name != "key_hash"]


@admin.register(DriverSignInCode)
class DriverSignInCodeAdmin(DepotScopedAdmin, ReadOnlyAdmin):
    """Who signed which driver's phone in, when, and the token it became (revoked under API tokens)."""

    depot_path = "driver__depot"
    list_display = ("driver", "issued_by", "created_at", "expires_at", "used_at", "token")
    list_filter = (("used_at", admin.EmptyFieldListFilter),)
    list_select_related = ("driver__user", "issued_by", "token")
    search_fields = ("driver__user__username",)
    exclude = ("code_hash",)
    date_hierarchy = "created_at"


@admin.register(DriverInstruction)
class DriverInstructionAdmin(DepotScopedAdmin, ReadOnlyAdmin):
    depot_path = "driver__depot"
    list_display = ("driver", "seq", "kind", "stop", "text", "created_at", "acked_at")
    list_filter = ("kind", ("acked_at", admin.EmptyFieldListFilter))
    list_select_related = ("driver__user", "stop__order")
    search_fields = ("driver__user__username", "text")
    date_hierarchy = "created_at"


@admin.register(LocationBatch)
class LocationBatchAdmin(DepotScopedAdmin, ReadOnlyAdmin):
    depot_path = "driver__depot"
    list_display = ("driver", "first_at", "last_at", "point_count", "received_at")
    list_select_related = ("driver__user",)
    search_fields = ("driver__user__username",)
    date_hierarchy = "first_at"


@admin.register(AccessRevealAudit)
class AccessRevealAuditAdmin(DepotScopedAdmin, ReadOnlyAdmin):
    depot_path = "stop__run__depot"
    list_display = ("at", "user", "stop", "result", "distance_m")
    list_filter = ("result",)
    list_select_related = ("user", "stop__order")
    search_fields = ("user__username", "stop__order__reference")
    date_hierarchy = "at"
