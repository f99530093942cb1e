"""Admin for the reason codes a failed scan gives and the scan log the driver app writes, which is read only."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from dispatch.admin.scoping import DepotScopedAdmin
from dispatch.models import ReasonCode, ReasonCodeWording, ScanEvent


class ReasonCodeWordingInline(admin.TabularInline):
    """What a recipient reads about the code, per language: the standard codes' wording is in the catalogues, a
    code added here needs its own (without one, recipients read a general phrase, never the label)."""

    model = ReasonCodeWording
    extra = 1
    verbose_name = "wording for recipients"
    verbose_name_plural = 'Wording for recipients (completes "we tried to deliver your parcel but ...")'


@admin.register(ReasonCode)
class ReasonCodeAdmin(admin.ModelAdmin):
    inlines = [ReasonCodeWordingInline]
    list_display = ("code", "label", "category", "photo_required", "active")
    list_filter = ("category", "active", "photo_required")
    search_fields = ("code", "label")

    def get_readonly_fields(self, request: HttpRequest, obj: ReasonCode | None = None) -> tuple[str, ...]:
        # The driver app and integrations send the code itself; renaming one would orphan them.
        return ("code",) if obj is not None else ()


@admin.register(ScanEvent)
class ScanEventAdmin(DepotScopedAdmin):
    """The driver app's log. Nothing here writes: a corrected outcome is a new scan, not an edit."""

    depot_path = "stop__run__depot"

    list_display = (
        "received_at",
        "outcome",
        "reason_code",
        "order_reference",
        "driver",
        "device_time",
        "has_photo",
        "idempotency_key",
    )
    list_filter = ("outcome", "reason_code", "driver__depot", "received_at")
    list_select_related = ("stop__order", "driver__user", "reason_code")
    search_fields = ("idempotency_key", "stop__order__reference", "driver__user__username")
    date_hierarchy = "received_at"
    fieldsets = (
        (None, {"fields": ("stop", "driver", "outcome", "reason_code", "notes", "photo")}),
        ("Where and when", {"fields": ("latitude", "longitude", "device_time", "received_at")}),
        ("Delivery", {"fields": ("idempotency_key",)}),
    )
    readonly_fields = ("received_at", "idempotency_key")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ScanEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ScanEvent | None = None) -> bool:
        return False

    @admin.display(description="Order", ordering="stop__order__reference")
    def order_reference(self, obj: ScanEvent) -> str:
        return obj.stop.order.reference

    @admin.display(description="Photo", boolean=True)
    def has_photo(self, obj: ScanEvent) -> bool:
        return bool(obj.photo)
