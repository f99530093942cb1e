"""Admin for routing: the solver's settings and the travel-time model, one row."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from dispatch.admin.scoping import DepotScopedAdmin
from routing.models import PlanVersion, RoutingSettings


@admin.register(RoutingSettings)
class RoutingSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "reinsert_time_limit_s", "resequence_time_limit_s", "first_solution_strategy",
                    "metaheuristic", "circuity", "handover_minutes", "later_run_days", "osrm_url",
                    "updated_at")  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        # One row, created with the defaults on first use.
        return not RoutingSettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: RoutingSettings | None = None) -> bool:
        return False


@admin.register(PlanVersion)
class PlanVersionAdmin(DepotScopedAdmin):
    """Every change to a run's plan, read-only: the record of who moved what."""

    depot_path = "run__depot"

    list_display = ("created_at", "run", "version", "operation", "requested_by", "added_minutes", "added_km", "summary")
    list_filter = ("operation", "run__depot", "run__service_date")
    list_select_related = ("run__driver__user", "run__depot")
    search_fields = ("requested_by", "summary", "run__driver__user__username")
    date_hierarchy = "created_at"

    @admin.display(description="Added min", ordering="added_seconds")
    def added_minutes(self, obj: PlanVersion) -> str:
        return f"{obj.added_seconds / 60:+.0f}"

    @admin.display(description="Added km", ordering="added_metres")
    def added_km(self, obj: PlanVersion) -> str:
        return f"{obj.added_metres / 1000:+.1f}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: PlanVersion | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: PlanVersion | None = None) -> bool:
        return False
