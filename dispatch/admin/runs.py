"""Admin for a driver's day: runs with their stops in driving order, stops with their scans, orders with their stops."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from dispatch import ports
from dispatch.admin.common import EMPTY, ReadOnlyInline, _count_of, _local, _local_range
from dispatch.admin.scoping import DepotScopedAdmin
from dispatch.models import Order, Run, ScanEvent, Stop

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class _RunCounts(TypedDict):
    stop_count: int
    failed_stop_count: int


class RunStopInline(admin.TabularInline):
    """The run's stops in driving order.

    The order is a read-only link rather than an autocomplete: an autocomplete
    widget looks its selected row up once per stop, and runs have a hundred
    stops. New stops are added from the stop page (see the link on the run).
    Stops are not deleted here: their scans are the delivery record.
    """

    model = Stop
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ("sequence",)
    fields = (
        "sequence",
        "order",
        "address",
        "status",
        "planned_arrival",
        "window_start",
        "window_end",
        "service_minutes",
        "attempt_count",
    )
    readonly_fields = ("order", "address", "attempt_count")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Stop]:
        return super().get_queryset(request).select_related("order__address")

    def has_add_permission(self, request: HttpRequest, obj: Run | None) -> bool:  # type: ignore[override]
        return False

    @admin.display(description="Address")
    def address(self, obj: Stop) -> str:
        return str(obj.order.address)


@admin.register(Run)
class RunAdmin(DepotScopedAdmin):
    depot_path = "depot"
    list_display = (
        "service_date",
        "driver",
        "depot",
        "shift_local",
        "status",
        "stop_count",
        "failed_stop_count",
        "plan_version",
        "external_ref",
    )
    list_filter = ("status", "depot", "service_date")
    list_select_related = ("depot", "driver__user")
    search_fields = ("external_ref", "driver__user__username", "driver__user__first_name", "driver__user__last_name")
    date_hierarchy = "service_date"
    autocomplete_fields = ("driver",)
    readonly_fields = ("shift_local", "plan_version", "created_at", "add_stop_link")
    fieldsets = (
        (None, {"fields": ("depot", "driver", "service_date", "status", "external_ref")}),
        ("Shift", {"fields": ("shift_start", "shift_end", "shift_local")}),
        ("Plan", {"fields": ("plan_version", "created_at", "add_stop_link")}),
    )
    inlines = (RunStopInline,)
    actions = ("resequence",)

    @admin.action(description="Re-sequence the remaining stops of the selected runs")
    def resequence(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        runs = list(
            queryset.exclude(status__in=(Run.Status.COMPLETED, Run.Status.CANCELLED)).values_list("pk", flat=True)
        )
        requested_by = f"Admin {request.user.get_username()}"
        if not ports.routing().runs_resequence(run_ids=runs, requested_by=requested_by, user_id=request.user.pk):
            self.message_user(request, "Automatic re-sequencing is not set up.", level=messages.WARNING)
            return
        self.message_user(
            request,
            f"{len(runs)} run(s) queued for re-sequencing; drivers get the new order if it is better. "
            "Completed and cancelled runs are left as they are.",
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Run]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                stop_count=_count_of(Stop.objects.all(), fk="run"),
                failed_stop_count=_count_of(Stop.objects.filter(status=Stop.Status.FAILED), fk="run"),
            )
        )

    @admin.display(description="Shift (depot time)", ordering="shift_start")
    def shift_local(self, obj: Run) -> str:
        if obj.pk is None:
            return EMPTY
        return _local_range(obj.shift_start, obj.shift_end, obj.depot.time_zone)

    @admin.display(description="Stops", ordering="stop_count")
    def stop_count(self, obj: WithAnnotations[Run, _RunCounts]) -> int:
        return obj.stop_count

    @admin.display(description="Failed", ordering="failed_stop_count")
    def failed_stop_count(self, obj: WithAnnotations[Run, _RunCounts]) -> int:
        return obj.failed_stop_count

    @admin.display(description="New stop")
    def add_stop_link(self, obj: Run) -> str:
        if obj.pk is None:
            return EMPTY
        return format_html('<a href="{}?run={}">Add a stop to this run</a>', reverse("admin:dispatch_stop_add"), obj.pk)


class StopScanInline(ReadOnlyInline):
    """Scans are the driver app's record of what happened: shown, never edited here."""

    model = ScanEvent
    ordering = ("received_at",)
    fields = ("received_at", "device_time", "driver", "outcome", "reason_code", "notes", "photo", "idempotency_key")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[ScanEvent]:
        return super().get_queryset(request).select_related("driver__user", "reason_code")


@admin.register(Stop)
class StopAdmin(DepotScopedAdmin):
    depot_path = "run__depot"
    list_display = (
        "__str__",
        "run",
        "order",
        "sequence",
        "status",
        "planned_arrival_local",
        "window_local",
        "attempt_count",
        "updated_at",
    )
    list_filter = ("status", "run__depot", "run__service_date")
    list_select_related = ("order", "run__depot", "run__driver__user")
    search_fields = ("order__reference", "run__external_ref", "run__driver__user__username")
    date_hierarchy = "run__service_date"
    autocomplete_fields = ("run", "order")
    readonly_fields = ("attempt_count", "updated_at")
    fieldsets = (
        (None, {"fields": ("run", "order", "sequence", "status")}),
        ("Timing", {"fields": ("planned_arrival", "window_start", "window_end", "service_minutes")}),
        ("Record", {"fields": ("attempt_count", "updated_at")}),
    )
    inlines = (StopScanInline,)
    show_full_result_count = False

    @admin.display(description="Planned arrival", ordering="planned_arrival")
    def planned_arrival_local(self, obj: Stop) -> str:
        return _local(obj.planned_arrival, obj.run.depot.time_zone, "%H:%M %Z")

    @admin.display(description="Window (depot time)", ordering="window_start")
    def window_local(self, obj: Stop) -> str:
        return _local_range(obj.window_start, obj.window_end, obj.run.depot.time_zone)


class OrderStopInline(ReadOnlyInline):
    """Every run this order has been on, so an admin sees its attempts at a glance."""

    model = Stop
    show_change_link = True
    verbose_name_plural = "Stops (one per run the order was on)"
    ordering = ("run__service_date", "run__shift_start")
    fields = ("run", "sequence", "status", "planned_arrival", "attempt_count", "updated_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Stop]:
        # "order" for each row's title, str(stop), which names the order.
        return super().get_queryset(request).select_related("order", "run__driver__user", "run__depot")


@admin.register(Order)
class OrderAdmin(DepotScopedAdmin):
    depot_path = "depot"
    list_display = (
        "reference",
        "status",
        "depot",
        "recipient",
        "address",
        "window_local",
        "parcel_count",
        "declared_value",
        "signature_required",
        "created_at",
    )
    list_filter = ("status", "depot", "signature_required", "safe_drop_allowed", "created_at")
    list_select_related = ("depot", "recipient", "address")
    search_fields = ("reference", "recipient__name", "recipient__phone", "address__line1", "address__postal_code")
    date_hierarchy = "created_at"
    autocomplete_fields = ("recipient", "address")
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("reference", "depot", "status")}),
        ("Delivery", {"fields": ("recipient", "address", "window_start", "window_end")}),
        (
            "Parcel",
            {
                "fields": (
                    "parcel_count",
                    "declared_value",
                    "signature_required",
                    "safe_drop_allowed",
                    "neighbour_allowed",
                )
            },
        ),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )
    inlines = (OrderStopInline,)
    show_full_result_count = False

    @admin.display(description="Window (depot time)", ordering="window_start")
    def window_local(self, obj: Order) -> str:
        return _local_range(obj.window_start, obj.window_end, obj.depot.time_zone)
