"""Where a row falls: each depot's share of a period, and the SQL that groups rows.

A depot's window runs from its own local midnight on ``date_from`` to its local midnight after ``date_to``;
day and hour groups are depot-local too. Rows are grouped by depot code, reason code, postal code (area),
or their depot-local day or hour; and, for what is priced, by the currency of their depot's cost model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Aggregate, CharField, DateField, DateTimeField, F, FloatField, Func, Q, QuerySet, Value
from django.db.models.expressions import Combinable
from django.db.models.functions import Cast, Coalesce

from dispatch.models import Depot
from exceptions.analytics.figures import GroupBy


@dataclass(frozen=True)
class DepotPeriod:
    """One depot's share of a period: [start, end) in UTC, from its local midnights."""

    depot_id: int
    start: dt.datetime
    end: dt.datetime


def depot_periods(*, depots: Iterable[Depot], date_from: dt.date, date_to: dt.date) -> list[DepotPeriod]:
    day_after = date_to + dt.timedelta(days=1)
    return [
        DepotPeriod(
            depot_id=depot.pk,
            start=dt.datetime.combine(date_from, dt.time(), tzinfo=depot.time_zone),
            end=dt.datetime.combine(day_after, dt.time(), tzinfo=depot.time_zone),
        )
        for depot in depots
    ]


def within(periods: Sequence[DepotPeriod], *, at: str, depot: str) -> Q:
    """Rows whose ``at`` falls in their own depot's window: one index range per depot."""
    condition = Q(pk__in=[])
    for period in periods:
        condition |= Q(**{depot: period.depot_id, f"{at}__gte": period.start, f"{at}__lt": period.end})
    return condition


def finished_within(periods: Sequence[DepotPeriod]) -> Q:
    """Cases finished in the period: resolved in it, or, without a resolution, closed in it."""
    # Written as two ranges rather than one on COALESCE so the resolved_at index can serve the first.
    return within(periods, at="resolved_at", depot="depot_id") | Q(resolved_at__isnull=True) & within(
        periods, at="closed_at", depot="depot_id"
    )


def finished_at() -> Combinable:
    """When a case finished: its resolution, else its closing."""
    return Coalesce("resolved_at", "closed_at")


def on_service_dates(periods: Sequence[DepotPeriod], *, run: str) -> Q:
    """Rows whose run's service date lies in the period, at the run's depot.

    A depot's window starts at its local midnight on date_from and ends at its local midnight after
    date_to, so the window's dates in the depot's zone are the period's dates.
    """
    condition = Q(pk__in=[])
    for period in periods:
        condition |= Q(
            **{
                f"{run}__depot_id": period.depot_id,
                f"{run}__service_date__gte": period.start.date(),
                f"{run}__service_date__lt": period.end.date(),
            }
        )
    return condition


class Epoch(Func):
    """An interval in seconds, as a float."""

    template = "EXTRACT(EPOCH FROM %(expressions)s)::double precision"
    output_field = FloatField()


class Median(Aggregate):
    function = "percentile_cont"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def local_date(at: Combinable, *, depot: str) -> Combinable:
    """The depot-local date of a moment, in SQL."""
    return Cast(_local(at, depot=depot), DateField())


def _local(at: Combinable, *, depot: str) -> Combinable:
    # timezone(zone, timestamptz) is the wall-clock time there (a timestamp without zone), so what is read
    # from it is the depot's whatever the session's time zone.
    return Func(F(f"{depot}__time_zone"), at, function="timezone", output_field=DateTimeField())


def group_key(
    group_by: GroupBy | None, *, at: str | Combinable, depot: str, reason: str, address: str
) -> Combinable | None:
    """The SQL for a row's group: depot code, reason code, postal code, or its depot-local day or hour."""
    if group_by is None:
        return None
    if group_by == "depot":
        return F(f"{depot}__code")
    if group_by == "reason_code":
        return F(f"{reason}__code")
    if group_by == "area":
        return F(f"{address}__postal_code")
    local = _local(F(at) if isinstance(at, str) else at, depot=depot)
    pattern = "YYYY-MM-DD" if group_by == "day" else 'YYYY-MM-DD"T"HH24:00'
    return Func(local, Value(pattern), function="to_char", output_field=CharField())


def grouped(
    queryset: QuerySet[Any], key: Combinable | None, **aggregates: Aggregate
) -> list[tuple[Any, dict[str, Any]]]:
    if key is None:
        return [(None, queryset.aggregate(**aggregates))]
    rows = queryset.order_by().values(key=key).annotate(**aggregates)
    return [(row.pop("key"), row) for row in rows]


def grouped_by_currency(
    queryset: QuerySet[Any], key: Combinable | None, currency: Combinable, **aggregates: Aggregate
) -> list[tuple[Any, str, dict[str, Any]]]:
    """Like ``grouped``, and by the currency each row's depot is priced in: (group, currency, aggregates)."""
    keys: dict[str, Combinable] = {"currency": currency} if key is None else {"currency": currency, "key": key}
    rows = queryset.order_by().values(**keys).annotate(**aggregates)
    return [(row.pop("key", None), row.pop("currency"), row) for row in rows]
