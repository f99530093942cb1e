"""What the delivery domain's admins share: correlated counts, times as the depot sees them, read-only inlines.

Three things shape every admin of the delivery domain (people, runs, places, scans):

* Changelists never run a query per row: foreign keys shown in a column are in
  ``list_select_related``, counts are annotated, and many-to-many columns are
  prefetched.
* A foreign key to a big table (orders, recipients, addresses, runs, stops,
  drivers, users) is an autocomplete or a read-only link, never a ``<select>``
  of every row. Depots and reason codes are few, so they stay plain selects.
* The access-code vault never renders a secret: not in a list, an inline, a
  read-only view or a form's initial value. Admins can only replace a code.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone

EMPTY = "-"


def _count_of(queryset: QuerySet[Any], *, fk: str) -> Coalesce:
    """A correlated COUNT of the rows of ``queryset`` that point at the outer row.

    A subquery rather than Count() over a join: several counts never multiply
    each other's rows, and the outer query has no GROUP BY, which would drop
    the model's default ordering (autocomplete paginates on it).
    """
    # order_by() drops the counted model's default ordering, which would otherwise join and group by it.
    counted = queryset.filter(**{fk: OuterRef("pk")}).order_by().values(fk).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _local(moment: dt.datetime | None, zone: dt.tzinfo | None, fmt: str = "%H:%M") -> str:
    """A stored UTC time as the depot sees it."""
    if moment is None:
        return EMPTY
    return timezone.localtime(moment, zone).strftime(fmt)


def _local_range(start: dt.datetime | None, end: dt.datetime | None, zone: dt.tzinfo | None) -> str:
    known = start or end
    if known is None:
        return EMPTY
    return f"{_local(start, zone)}-{_local(end, zone)} {timezone.localtime(known, zone):%Z}"


class ReadOnlyInline(admin.TabularInline):
    """A list of related rows shown for reference: nothing is added or edited from it."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
