"""Admin for the cost model that prices failed attempts, texts and what is averted in the metrics. Admins edit;
dispatchers view.

Kept apart from ``exceptions.admin`` (cases, playbooks, rules) and registered from
``ExceptionsConfig.ready``.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import F
from django.http import HttpRequest

from exceptions.models import CostModel

CURRENCY = re.compile(r"[A-Z]{3}")


class CostModelForm(forms.ModelForm):
    # No max_length here: "DOLLAR" gets the same explanation as "usd", not "at most 3 characters".
    currency = forms.CharField(help_text="ISO 4217 code in capitals, e.g. USD.")

    class Meta:
        model = CostModel
        fields = (
            "depot",
            "currency",
            "driver_minute_cost",
            "distance_cost_per_km",
            "redelivery_cost",
            "sms_segment_cost",
            "failed_delivery_cost",
        )

    def clean_currency(self) -> str:
        currency: str = self.cleaned_data["currency"]
        if not CURRENCY.fullmatch(currency):
            raise forms.ValidationError(
                "Use the three-letter ISO 4217 code in capitals, e.g. USD, CAD or EUR.", code="currency"
            )
        return currency


@admin.register(CostModel)
class CostModelAdmin(admin.ModelAdmin):
    form = CostModelForm
    list_display = (
        "scope",
        "currency",
        "driver_minute_cost",
        "distance_cost_per_km",
        "redelivery_cost",
        "sms_segment_cost",
        "failed_delivery_cost",
        "updated_at",
    )
    list_select_related = ("depot",)
    # The default row first, then depots by name.
    ordering = (F("depot__name").asc(nulls_first=True),)
    fieldsets = (
        (None, {"fields": ("depot", "currency")}),
        (
            "What a failed attempt costs",
            {
                "fields": ("driver_minute_cost", "distance_cost_per_km", "redelivery_cost", "updated_at"),
                "description": (
                    "Each failed scan costs the stop's service minutes times the driver minute cost; when its case "
                    "ends rescheduled (same day or later) the parcel goes out again, which adds the redelivery "
                    "cost plus the distance cost per km times the depot-address round trip in straight-line km."
                ),
            },
        ),
        (
            "What the desk is worth",
            {
                "fields": ("sms_segment_cost", "failed_delivery_cost"),
                "description": (
                    "The metrics' value: every failed attempt averted (an exception prevented ahead of the driver, "
                    "or a failed parcel rescued without a dispatcher, taken to save one more attempt) at the "
                    "failed delivery cost, less every text segment sent at the SMS segment cost."
                ),
            },
        ),
    )
    readonly_fields = ("updated_at",)

    @admin.display(description="Applies to", ordering="depot__name")
    def scope(self, obj: CostModel) -> str:
        return str(obj.depot) if obj.depot_id else "Default (every depot without its own)"

    def has_delete_permission(self, request: HttpRequest, obj: CostModel | None = None) -> bool:
        # Depots without a row of their own are priced by the default one: it can be edited, never removed.
        if obj is not None and obj.depot_id is None:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # The bulk delete would not ask has_delete_permission per row, and could take the default with it.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions
