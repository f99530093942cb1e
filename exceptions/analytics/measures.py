"""The desk's measures over a period: read-only selectors, each one bulk SQL aggregate.

A period is a range of dates as each depot lives them: a depot's window runs
from its own local midnight on ``date_from`` to its local midnight after
``date_to``. Day and hour buckets are depot-local too, so a query over depots
in several zones adds up local wall-clock hours (09:00 in Chicago and 09:00 in
Denver share the "09:00" bucket).

Which clock places a row in the period:

* a scan: ``received_at``, the server's clock. ``device_time`` may lag by days
  for a phone that was offline (the API accepts up to 7), and only
  ``received_at`` is indexed;
* a case: the timestamp of what is counted (opened, escalated, resolved;
  closed stands in for resolved on a case that was closed without one);
* a pre-arrival text: its stop's service date (``Run.service_date``, already
  the depot's local date), so the text, its reply and the attempt it helped
  count on the one delivery day.

* a failed parcel: its first failed scan's ``received_at`` (``exceptions.analytics.endings``);
* a text: when it went out (``exceptions.analytics.value``).

No query runs per row: each measure is one GROUP BY over the period, or one
pass over the period's failed parcels (about fifteen queries in all, however
many rows), and the totals add the groups up, except the median and the
open-now snapshot, which have a query of their own.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

from django.db.models import Avg, CharField, Count, Exists, F, Func, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.expressions import Combinable
from django.db.models.lookups import Exact

from dispatch import roles
from dispatch.models import Address, Depot, ScanEvent, User
from exceptions.analytics.costs import cost_of_failed_scan, depot_cost_models, depot_currency, depot_rate
from exceptions.analytics.endings import parcel_endings, untouched_endings
from exceptions.analytics.figures import GROUP_BY, Group, GroupBy, MetricsSummary, Tally, useful_reply
from exceptions.analytics.periods import (
    DepotPeriod,
    Epoch,
    Median,
    depot_periods,
    finished_at,
    finished_within,
    group_key,
    grouped,
    grouped_by_currency,
    on_service_dates,
    within,
)
from exceptions.analytics.requests import requests_unanswered
from exceptions.analytics.value import texts_sent
from exceptions.models import CostModel, ExceptionCase, PreArrivalContact

# --- The measures -----------------------------------------------------------------------------------------------------


def _first_attempts(
    periods: Sequence[DepotPeriod], group_by: GroupBy | None, into: defaultdict[Any, Tally], *, default: CostModel
) -> None:
    """Orders whose first scan, over all their stops and days, fell in the period; and how it went.

    They are also the parcels attempted that the value per 1,000 parcels is over, so they are counted by
    the currency their depot is priced in too.
    """
    earlier = ScanEvent.objects.filter(stop__order_id=OuterRef("stop__order_id")).filter(
        Q(received_at__lt=OuterRef("received_at")) | Q(received_at=OuterRef("received_at"), pk__lt=OuterRef("pk"))
    )
    first_scans = ScanEvent.objects.filter(within(periods, at="received_at", depot="stop__run__depot_id")).filter(
        ~Exists(earlier)
    )
    key = group_key(
        group_by, at="received_at", depot="stop__run__depot", reason="reason_code", address="stop__order__address"
    )
    for value, currency, row in grouped_by_currency(
        first_scans,
        key,
        depot_currency(default),
        attempts=Count("pk"),
        delivered=Count("pk", filter=Q(outcome=ScanEvent.Outcome.DELIVERED)),
    ):
        into[value].attempts += row["attempts"]
        into[value].delivered += row["delivered"]
        into[value].count("parcels", currency, row["attempts"])


def _failed_attempt_costs(
    periods: Sequence[DepotPeriod], group_by: GroupBy | None, into: defaultdict[Any, Tally], *, default: CostModel
) -> None:
    failed = ScanEvent.objects.filter(outcome=ScanEvent.Outcome.FAILED).filter(
        within(periods, at="received_at", depot="stop__run__depot_id")
    )
    key = group_key(
        group_by, at="received_at", depot="stop__run__depot", reason="reason_code", address="stop__order__address"
    )
    for value, currency, row in grouped_by_currency(
        failed, key, depot_currency(default), failed_attempts=Count("pk"), cost=Sum(cost_of_failed_scan(default))
    ):
        tally = into[value]
        tally.failed[currency] = tally.failed.get(currency, 0) + row["failed_attempts"]
        tally.cost[currency] = tally.cost.get(currency, Decimal(0)) + row["cost"]


def _resolutions(
    periods: Sequence[DepotPeriod], group_by: GroupBy | None, into: defaultdict[Any, Tally]
) -> float | None:
    """Cases resolved in the period and how long each took; returns the median over all of them."""
    resolved = ExceptionCase.objects.filter(within(periods, at="resolved_at", depot="depot_id"))
    seconds = Epoch(F("resolved_at") - F("opened_at"))
    key = group_key(group_by, at="resolved_at", depot="depot", reason="reason_code", address="order__address")
    median: float | None = None
    for value, row in grouped(resolved, key, n=Count("pk"), total=Sum(seconds), median=Median(seconds)):
        into[value].resolved += row["n"]
        into[value].resolution_seconds += row["total"] or 0.0
        into[value].median_seconds = median = row["median"]
    if key is not None:
        # A median does not add up from the groups' medians.
        median = resolved.aggregate(median=Median(seconds))["median"]
    return median


def _finished(periods: Sequence[DepotPeriod], group_by: GroupBy | None, into: defaultdict[Any, Tally]) -> None:
    """Cases resolved (or, without a resolution, closed) in the period; how many no dispatcher touched."""
    cases = ExceptionCase.objects.filter(finished_within(periods))
    key = group_key(group_by, at=finished_at(), depot="depot", reason="reason_code", address="order__address")
    for value, row in grouped(
        cases, key, finished=Count("pk"), untouched=Count("pk", filter=Q(touched_by_dispatcher=False))
    ):
        into[value].finished += row["finished"]
        into[value].untouched += row["untouched"]


def _case_counts(periods: Sequence[DepotPeriod], group_by: GroupBy | None, into: defaultdict[Any, Tally]) -> int:
    """Cases opened and escalated in the period; cases open now. Returns the open-now total."""
    for at, name in (("opened_at", "opened"), ("escalated_at", "escalated")):
        key = group_key(group_by, at=at, depot="depot", reason="reason_code", address="order__address")
        for value, row in grouped(
            ExceptionCase.objects.filter(within(periods, at=at, depot="depot_id")), key, n=Count("pk")
        ):
            setattr(into[value], name, getattr(into[value], name) + row["n"])
    open_now = ExceptionCase.objects.filter(
        depot_id__in=[period.depot_id for period in periods], state__in=ExceptionCase.OPEN_STATES
    )
    if group_by in ("depot", "reason_code", "area"):
        key = group_key(group_by, at="opened_at", depot="depot", reason="reason_code", address="order__address")
        total = 0
        for value, row in grouped(open_now, key, n=Count("pk")):
            into[value].open_now = row["n"]
            total += row["n"]
        return total
    # Open now is a snapshot: it has no day or hour, only a total.
    return open_now.count()


def _prevention(
    periods: Sequence[DepotPeriod], group_by: GroupBy | None, into: defaultdict[Any, Tally], *, default: CostModel
) -> Tally:
    """Pre-arrival texts for stops served in the period, their replies, and the exceptions they prevented.

    Sent is a text that went out (asked or answered); a skipped contact was not sent and counts as not
    asked. The reply rate is replies over texts sent. A useful reply is ``useful_reply``. An exception
    is prevented when a stop had a useful reply and its order was delivered at its first attempt: the
    order's first scan over all its stops and days, as ``_first_attempts`` finds it (ties broken by
    id), was a delivery. A stop texted ahead of a second visit is never counted: its order's first
    attempt had failed already.

    Groups: a day is the stop's service date; an hour is the depot-local hour the text went out (the
    sweep texts on the delivery day only, so the hour falls on that date); depot and area are the
    stop's. Reason codes are not split: a reason code is what a failed scan or a case carries, and a
    prevented exception has neither, while a stop's risk reasons are another list than the reason
    codes. Grouped by reason code, these measures are counted in the totals only and are None in
    each group. Returns what belongs to the totals but to no group.

    Each exception prevented is a failed attempt averted, valued at its depot's failed delivery cost
    (``exceptions.analytics.value``), so the contacts are counted by their depot's currency too.
    """
    first_scan = (
        ScanEvent.objects.filter(stop__order_id=OuterRef("stop__order_id"))
        .order_by("received_at", "pk")
        .values("outcome")
    )
    delivered_first = Exact(Subquery(first_scan[:1]), Value(ScanEvent.Outcome.DELIVERED))
    status = PreArrivalContact.Status
    contacts = PreArrivalContact.objects.filter(on_service_dates(periods, run="stop__run"))
    useful = useful_reply()
    prevented = useful & Q(delivered_first)
    counts = {
        "texts_sent": Count("pk", filter=Q(status__in=(status.ASKED, status.ANSWERED))),
        "not_asked": Count("pk", filter=Q(status=status.SKIPPED)),
        "replies": Count("pk", filter=Q(status=status.ANSWERED)),
        "useful_replies": Count("pk", filter=useful),
        "prevented": Count("pk", filter=prevented),
    }
    value = Sum(depot_rate(default, "failed_delivery_cost"), filter=prevented)
    unsplit = Tally()
    key: Combinable | None
    if group_by == "day":
        key = Func(F("stop__run__service_date"), Value("YYYY-MM-DD"), function="to_char", output_field=CharField())
    else:
        key = group_key(
            None if group_by == "reason_code" else group_by,
            at="created_at",
            depot="stop__run__depot",
            reason="",
            address="stop__order__address",
        )
    for group, currency, row in grouped_by_currency(contacts, key, depot_currency(default), value=value, **counts):
        tally = unsplit if group_by == "reason_code" else into[group]
        for name in counts:
            setattr(tally, name, getattr(tally, name) + row[name])
        tally.count("averted", currency, row["prevented"])
        tally.count("averted_value", currency, row["value"] or Decimal(0))
    return unsplit


def metrics_summary(
    *, depot_ids: Sequence[int], date_from: dt.date, date_to: dt.date, group_by: GroupBy | None = None
) -> MetricsSummary:
    """Every measure for the depots over [date_from, date_to] (their local dates), in totals and groups.

    ``group_by`` splits by the depot-local ``day`` or ``hour`` of what is counted, by
    ``reason_code`` (first attempts that were delivered have none: their group's key is None), by
    ``depot`` (code), or by ``area``: the address's postal code, each group with its centre
    (``lat``, ``lng``) for a map. Groups with nothing to count are left out; ``open_now`` appears in a
    group only for depot, reason code and area. Costs are listed per currency of the depots' cost models.
    Pre-arrival prevention is counted by the stop's service date, and not split by reason code (see
    ``_prevention``); nor is value (``exceptions.analytics.value``). Failed parcels' endings and time to
    outcome are grouped by their first failed scan (``exceptions.analytics.endings``).
    """
    if group_by is not None and group_by not in GROUP_BY:
        raise ValueError(f"group_by must be one of {', '.join(GROUP_BY)}, not {group_by!r}")
    if date_to < date_from:
        raise ValueError("date_to is before date_from")
    depots = list(Depot.objects.filter(pk__in=depot_ids).order_by("code"))
    default, cost_models = depot_cost_models(depot.pk for depot in depots)
    currencies = sorted({model.currency for model in cost_models.values()})
    periods = depot_periods(depots=depots, date_from=date_from, date_to=date_to)

    groups: defaultdict[Any, Tally] = defaultdict(Tally)
    totals = Tally()
    if periods:
        _first_attempts(periods, group_by, groups, default=default)
        _failed_attempt_costs(periods, group_by, groups, default=default)
        median = _resolutions(periods, group_by, groups)
        _finished(periods, group_by, groups)
        open_now = _case_counts(periods, group_by, groups)
        unsplit = _prevention(periods, group_by, groups, default=default)
        parcel_endings(periods, group_by, groups, prices=cost_models)
        untouched_endings(periods, group_by, groups)
        texts_sent(periods, group_by, groups, unsplit=unsplit, prices=cost_models)
        for tally in groups.values():
            totals.add(tally)
        totals.add(unsplit)
        totals.median_seconds = median
        totals.open_now = open_now
        totals.unanswered_requests = requests_unanswered(periods)
    else:
        totals.open_now = 0
        totals.unanswered_requests = 0

    ordered = sorted(groups.items(), key=lambda item: (item[0] is None, item[0] or ""))
    split = group_by != "reason_code"
    listed = (
        []
        if group_by is None
        else [cast(Group, {"key": key, **tally.measures(currencies, split=split)}) for key, tally in ordered]
    )
    if group_by == "area":
        centres = _area_centres([group["key"] for group in listed if group["key"] is not None])
        for group in listed:
            if group["key"] in centres:
                group["lat"], group["lng"] = centres[group["key"]]
    return {
        "date_from": date_from,
        "date_to": date_to,
        "depots": [depot.code for depot in depots],
        "group_by": group_by,
        "totals": totals.measures(currencies),
        "groups": listed,
    }


def _area_centres(postal_codes: Sequence[str]) -> dict[str, tuple[float, float]]:
    """The mean position of each postal code's addresses, in one query on the postal code index."""
    if not postal_codes:
        return {}
    rows = (
        Address.objects.filter(postal_code__in=postal_codes)
        .order_by()
        .values("postal_code")
        .annotate(lat=Avg("latitude"), lng=Avg("longitude"))
    )
    return {row["postal_code"]: (row["lat"], row["lng"]) for row in rows}


def depot_list_for_metrics(*, user: User) -> QuerySet[Depot]:
    """The depots whose metrics the user may read: every depot for an admin, a dispatcher's own."""
    names = set(user.groups.values_list("name", flat=True))
    if user.is_superuser or roles.ADMINS in names:
        return Depot.objects.order_by("code")
    if roles.DISPATCHERS in names:
        return user.depots.order_by("code")
    return Depot.objects.none()
