"""Admin lists and pages show a dispatcher only the depots they work; admins see every depot.

A dispatcher has view (and some change) permissions on the operational models,
so without this they would read other depots' orders, recipients' phone numbers
and cases in admin. Each scoped admin names the path from its model to the
depot; the filter is a subquery on the primary key, so a path through a
many-valued relation (a recipient's orders) never repeats a row. Change and
delete pages go through the same queryset, so another depot's object is "not
found" there too.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from dispatch.models import User
from dispatch.selectors import user_depots


class DepotScopedAdmin(admin.ModelAdmin):
    """Set ``depot_path`` to the lookup from the model to its ``Depot`` (``"pk"`` for the depot itself)."""

    depot_path: str = "depot"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        user = cast(User, request.user)
        depots = user_depots(user=user)
        if depots is None:
            return queryset
        ids = depots.values("pk")
        mine = queryset.model._default_manager.filter(**{f"{self.depot_path}__in": ids}).values("pk")
        return queryset.filter(pk__in=mine)
