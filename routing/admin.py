"""Admin for routing: the solver's settings and the travel-time model, one row."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from routing.models import RoutingSettings


@admin.register(RoutingSettings)
class RoutingSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "reinsert_time_limit_s", "resequence_time_limit_s", "first_solution_strategy",
                    "metaheuristic", "circuity", "osrm_url", "updated_at")  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        # One row, created with the defaults on first use.
        return not RoutingSettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: RoutingSettings | None = None) -> bool:
        return False
