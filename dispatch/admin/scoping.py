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

from dispatch.masking import phone_masked
from dispatch.models import User
from dispatch.selectors import user_depots
from dispatch.tenancy import within_depots


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

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        """A depot-owned foreign key offers only the user's depots' rows: nothing can be pointed elsewhere."""
        depots = user_depots(user=cast(User, request.user))
        if depots is not None and "queryset" not in kwargs:
            kwargs["queryset"] = within_depots(db_field.remote_field.model._default_manager.all(), depots)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class PhonesMaskedAdmin(admin.ModelAdmin):
    """Desk users who are not admins see the ``phone_fields`` as the board shows them (the last two digits),
    in lists and on the page, and cannot change them; admins see and edit them whole."""

    phone_fields: tuple[str, ...] = ()

    def _masked(self, request: HttpRequest) -> bool:
        return user_depots(user=cast(User, request.user)) is not None

    def _swap(self, names: Any) -> list[Any]:
        return [f"{name}_masked" if name in self.phone_fields else name for name in names]

    def get_list_display(self, request: HttpRequest) -> Any:
        names = super().get_list_display(request)
        return self._swap(names) if self._masked(request) else names

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if not self._masked(request):
            return fieldsets
        return [(title, {**options, "fields": self._swap(options["fields"])}) for title, options in fieldsets]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        names = tuple(super().get_readonly_fields(request, obj))
        return (*names, *(f"{name}_masked" for name in self.phone_fields)) if self._masked(request) else names

    @admin.display(description="Phone")
    def phone_masked(self, obj: Any) -> str:
        return phone_masked(obj.phone)

    @admin.display(description="Alternative phone")
    def alt_phone_masked(self, obj: Any) -> str:
        return phone_masked(obj.alt_phone)
