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

No query runs per row: each measure is one GROUP BY over the period (about ten
queries in all, however many rows), and the totals add the groups up, except
the median and the open-now snapshot, which have a query of their own.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal, NotRequired, TypedDict, cast, get_args

from django.db.models import (
    Aggregate,
    Avg,
    Case,
    CharField,
    Count,
    DateTimeField,
    DecimalField,
    Exists,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import ASin, Cast, Coalesce, Cos, Least, Power, Radians, Sin, Sqrt
from django.db.models.lookups import Exact

from dispatch import roles
from dispatch.geo import EARTH_RADIUS_M
from dispatch.models import Address, Depot, ScanEvent, User
from exceptions.models import CostModel, ExceptionCase, PreArrivalContact

GroupBy = Literal["day", "hour", "reason_code", "depot", "area"]
GROUP_BY: tuple[GroupBy, ...] = get_args(GroupBy)

# A failed attempt costs a re-visit only when the parcel goes back out to the same address on
# another run. Returned to sender goes back to the depot and the shipper (a return, not a
# re-visit); a pickup point is served by the pickup network's own runs; retry now, access code,
# safe drop, neighbour and delivered on retry finish on the visit already paid for.
REVISIT_OUTCOMES = (ExceptionCase.Outcome.RESCHEDULED_SAME_DAY, ExceptionCase.Outcome.RESCHEDULED_LATER)

CENT = Decimal("0.01")

# What a pre-arrival reply can teach that the visit uses, as exceptions.prevention.prearrival_reply_apply records it
# in PreArrivalContact.learned: a code (now in the vault), someone home, a safe place or a neighbour the order
# allows, each stored as true (a place or neighbour the order forbids is stored as false); or a time window to
# deliver in, stored as {"start", "end"}, that routing moves the stop into. Anything else the recipient said lands
# under "other": a reply, but not a useful one.
USEFUL_FLAGS = ("access_code", "home", "safe_place", "neighbour")
USEFUL_WINDOW = "window"


def useful_reply() -> Q:
    """Pre-arrival contacts answered with something the visit can use."""
    useful = Q(**{f"learned__{USEFUL_WINDOW}__has_key": "start"})
    for flag in USEFUL_FLAGS:
        useful |= Q(**{f"learned__{flag}": True})
    return Q(status=PreArrivalContact.Status.ANSWERED) & useful


# --- What the selectors return --------------------------------------------------------------------------------------


class FirstAttempt(TypedDict):
    attempts: int
    delivered: int
    success_rate: float | None


class Resolution(TypedDict):
    resolved: int
    average_seconds: float | None
    median_seconds: float | None


class FailedAttemptCost(TypedDict):
    currency: str
    failed_attempts: int
    total_cost: Decimal
    cost_per_failed_attempt: Decimal | None


class NoTouch(TypedDict):
    finished: int
    untouched: int
    share: float | None


class CaseCounts(TypedDict):
    opened: int
    resolved: int
    escalated: int
    open_now: int | None


class Prevention(TypedDict):
    # Texts that went out (asked or answered), and the risky stops that were not texted (opted out, quiet hours…).
    texts_sent: int
    not_asked: int
    replies: int
    reply_rate: float | None
    useful_replies: int
    # Useful replies whose order was then delivered at its first attempt.
    exceptions_prevented: int


class Measures(TypedDict):
    first_attempt: FirstAttempt
    resolution: Resolution
    failed_attempt_cost: list[FailedAttemptCost]
    no_touch: NoTouch
    cases: CaseCounts
    # None in reason-code groups: see _prevention.
    prevention: Prevention | None


class Group(Measures):
    key: str | None
    # An area's centre (the mean of its addresses), to place it on a map; only in area groups.
    lat: NotRequired[float]
    lng: NotRequired[float]


class MetricsSummary(TypedDict):
    date_from: dt.date
    date_to: dt.date
    depots: list[str]
    group_by: GroupBy | None
    totals: Measures
    groups: list[Group]


# --- The cost of a failed attempt -----------------------------------------------------------------------------------


def failed_attempt_cost(
    *,
    service_minutes: Combinable,
    revisit: Combinable,
    round_trip_km: Combinable,
    driver_minute_cost: Combinable,
    redelivery_cost: Combinable,
    distance_cost_per_km: Combinable,
) -> Combinable:
    """What one failed scan cost, in its depot's currency, as a SQL expression over the scan's row.

        cost = service_minutes * driver_minute_cost
             + revisit * (redelivery_cost + distance_cost_per_km * round_trip_km)

    * ``service_minutes``: the stop's planned minutes at the door, lost to the failure;
    * ``revisit``: 1 when the scan opened a case whose outcome sends the parcel to the address
      again (``REVISIT_OUTCOMES``), else 0. Counted on the case's opening scan only: more failed
      scans on the same open case cost their minutes but share its one re-visit. A case still open
      has no outcome yet, so its re-visit is added when it is resolved;
    * ``round_trip_km``: depot → address → depot in straight lines (twice the haversine distance),
      the cheapest the re-visit can be;
    * the rates come from the depot's CostModel row, else the default row (depot empty), as they
      are now: an admin's change reprices past days too.
    """
    return service_minutes * driver_minute_cost + revisit * (redelivery_cost + distance_cost_per_km * round_trip_km)


def haversine_km(lat1: Combinable, lng1: Combinable, lat2: Combinable, lng2: Combinable) -> Combinable:
    """Great-circle km between two points, in SQL; the same formula as ``dispatch.geo.haversine_m``."""
    a = Power(Sin(Radians(lat2 - lat1) / 2), 2) + Cos(Radians(lat1)) * Cos(Radians(lat2)) * Power(
        Sin(Radians(lng2 - lng1) / 2), 2
    )
    # Rounding can push a above 1 for antipodal points, and asin(>1) is an error, not a number.
    return 2 * (EARTH_RADIUS_M / 1000) * ASin(Least(Value(1.0), Sqrt(a)))


def _cost_models(depot_ids: Iterable[int]) -> tuple[CostModel, dict[int, CostModel]]:
    ids = list(depot_ids)
    rows = list(CostModel.objects.filter(Q(depot__isnull=True) | Q(depot_id__in=ids)))
    # Admin cannot delete the default row, but a database can lack it: the field defaults stand in.
    default = next((row for row in rows if row.depot_id is None), None) or CostModel()
    own = {row.depot_id: row for row in rows if row.depot_id is not None}
    return default, {depot_id: own.get(depot_id, default) for depot_id in ids}


def _cost_of_failed_scan(default: CostModel) -> Combinable:
    depot = "stop__run__depot__"

    def rate(name: str) -> Combinable:
        # A depot's own row sets every field, so coalescing field by field picks whole rows.
        return Coalesce(F(f"{depot}cost_model__{name}"), Value(getattr(default, name)), output_field=DecimalField())

    round_trip_km = 2 * haversine_km(
        F(f"{depot}latitude"),
        F(f"{depot}longitude"),
        F("stop__order__address__latitude"),
        F("stop__order__address__longitude"),
    )
    return failed_attempt_cost(
        service_minutes=F("stop__service_minutes"),
        revisit=Case(When(case__outcome__in=REVISIT_OUTCOMES, then=Value(1)), default=Value(0)),
        # Money is numeric; a float distance would make the whole sum a float.
        round_trip_km=Cast(round_trip_km, DecimalField(max_digits=12, decimal_places=6)),
        driver_minute_cost=rate("driver_minute_cost"),
        redelivery_cost=rate("redelivery_cost"),
        distance_cost_per_km=rate("distance_cost_per_km"),
    )


# --- SQL building blocks --------------------------------------------------------------------------------------------


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


def _within(periods: Sequence[DepotPeriod], *, at: str, depot: str) -> Q:
    """Rows whose ``at`` falls in their own depot's window: one index range per depot."""
    condition = Q(pk__in=[])
    for period in periods:
        condition |= Q(**{depot: period.depot_id, f"{at}__gte": period.start, f"{at}__lt": period.end})
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


def _key(group_by: GroupBy | None, *, at: str | Combinable, depot: str, reason: str, address: str) -> Combinable | None:
    """The SQL for a row's group: depot code, reason code, postal code, or its depot-local day or hour."""
    if group_by is None:
        return None
    if group_by == "depot":
        return F(f"{depot}__code")
    if group_by == "reason_code":
        return F(f"{reason}__code")
    if group_by == "area":
        return F(f"{address}__postal_code")
    # timezone(zone, timestamptz) is the wall-clock time there (a timestamp without zone), so to_char
    # formats the depot's hour whatever the session's time zone.
    local = Func(
        F(f"{depot}__time_zone"),
        F(at) if isinstance(at, str) else at,
        function="timezone",
        output_field=DateTimeField(),
    )
    pattern = "YYYY-MM-DD" if group_by == "day" else 'YYYY-MM-DD"T"HH24:00'
    return Func(local, Value(pattern), function="to_char", output_field=CharField())


def _grouped(
    queryset: QuerySet[Any], key: Combinable | None, **aggregates: Aggregate
) -> list[tuple[Any, dict[str, Any]]]:
    if key is None:
        return [(None, queryset.aggregate(**aggregates))]
    rows = queryset.order_by().values(key=key).annotate(**aggregates)
    return [(row.pop("key"), row) for row in rows]


# --- The measures ---------------------------------------------------------------------------------------------------


@dataclass
class _Tally:
    attempts: int = 0
    delivered: int = 0
    resolved: int = 0
    resolution_seconds: float = 0.0
    median_seconds: float | None = None
    failed: dict[str, int] = field(default_factory=dict)
    cost: dict[str, Decimal] = field(default_factory=dict)
    finished: int = 0
    untouched: int = 0
    opened: int = 0
    escalated: int = 0
    open_now: int | None = None
    texts_sent: int = 0
    not_asked: int = 0
    replies: int = 0
    useful_replies: int = 0
    prevented: int = 0

    def add(self, other: _Tally) -> None:
        for name in (
            "attempts",
            "delivered",
            "resolved",
            "resolution_seconds",
            "finished",
            "untouched",
            "opened",
            "escalated",
            "texts_sent",
            "not_asked",
            "replies",
            "useful_replies",
            "prevented",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for currency, count in other.failed.items():
            self.failed[currency] = self.failed.get(currency, 0) + count
            self.cost[currency] = self.cost.get(currency, Decimal(0)) + other.cost[currency]
        if other.open_now is not None:
            self.open_now = (self.open_now or 0) + other.open_now

    def measures(self, currencies: Sequence[str], *, prevention: bool = True) -> Measures:
        costs: list[FailedAttemptCost] = []
        for currency in currencies:
            count, total = self.failed.get(currency, 0), self.cost.get(currency, Decimal(0))
            costs.append(
                {
                    "currency": currency,
                    "failed_attempts": count,
                    "total_cost": total.quantize(CENT, ROUND_HALF_UP),
                    "cost_per_failed_attempt": (total / count).quantize(CENT, ROUND_HALF_UP) if count else None,
                }
            )
        return {
            "first_attempt": {
                "attempts": self.attempts,
                "delivered": self.delivered,
                "success_rate": _share(self.delivered, self.attempts),
            },
            "resolution": {
                "resolved": self.resolved,
                "average_seconds": round(self.resolution_seconds / self.resolved, 1) if self.resolved else None,
                "median_seconds": None if self.median_seconds is None else round(self.median_seconds, 1),
            },
            "failed_attempt_cost": costs,
            "no_touch": {
                "finished": self.finished,
                "untouched": self.untouched,
                "share": _share(self.untouched, self.finished),
            },
            "cases": {
                "opened": self.opened,
                "resolved": self.resolved,
                "escalated": self.escalated,
                "open_now": self.open_now,
            },
            "prevention": {
                "texts_sent": self.texts_sent,
                "not_asked": self.not_asked,
                "replies": self.replies,
                "reply_rate": _share(self.replies, self.texts_sent),
                "useful_replies": self.useful_replies,
                "exceptions_prevented": self.prevented,
            }
            if prevention
            else None,
        }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _first_attempts(periods: Sequence[DepotPeriod], group_by: GroupBy | None, into: defaultdict[Any, _Tally]) -> None:
    """Orders whose first scan, over all their stops and days, fell in the period; and how it went."""
    earlier = ScanEvent.objects.filter(stop__order_id=OuterRef("stop__order_id")).filter(
        Q(received_at__lt=OuterRef("received_at")) | Q(received_at=OuterRef("received_at"), pk__lt=OuterRef("pk"))
    )
    first_scans = ScanEvent.objects.filter(_within(periods, at="received_at", depot="stop__run__depot_id")).filter(
        ~Exists(earlier)
    )
    key = _key(
        group_by, at="received_at", depot="stop__run__depot", reason="reason_code", address="stop__order__address"
    )
    for value, row in _grouped(
        first_scans,
        key,
        attempts=Count("pk"),
        delivered=Count("pk", filter=Q(outcome=ScanEvent.Outcome.DELIVERED)),
    ):
        into[value].attempts += row["attempts"]
        into[value].delivered += row["delivered"]


def _failed_attempt_costs(
    periods: Sequence[DepotPeriod], group_by: GroupBy | None, into: defaultdict[Any, _Tally], *, default: CostModel
) -> None:
    failed = (
        ScanEvent.objects.filter(outcome=ScanEvent.Outcome.FAILED)
        .filter(_within(periods, at="received_at", depot="stop__run__depot_id"))
        .annotate(
            currency=Coalesce(F("stop__run__depot__cost_model__currency"), Value(default.currency)),
        )
    )
    key = _key(
        group_by, at="received_at", depot="stop__run__depot", reason="reason_code", address="stop__order__address"
    )
    rows = failed.order_by().values("currency") if key is None else failed.order_by().values("currency", key=key)
    for row in rows.annotate(failed_attempts=Count("pk"), cost=Sum(_cost_of_failed_scan(default))):
        tally, currency = into[row.get("key")], row["currency"]
        tally.failed[currency] = tally.failed.get(currency, 0) + row["failed_attempts"]
        tally.cost[currency] = tally.cost.get(currency, Decimal(0)) + row["cost"]


def _resolutions(
    periods: Sequence[DepotPeriod], group_by: GroupBy | None, into: defaultdict[Any, _Tally]
) -> float | None:
    """Cases resolved in the period and how long each took; returns the median over all of them."""
    resolved = ExceptionCase.objects.filter(_within(periods, at="resolved_at", depot="depot_id"))
    seconds = Epoch(F("resolved_at") - F("opened_at"))
    key = _key(group_by, at="resolved_at", depot="depot", reason="reason_code", address="order__address")
    median: float | None = None
    for value, row in _grouped(resolved, key, n=Count("pk"), total=Sum(seconds), median=Median(seconds)):
        into[value].resolved += row["n"]
        into[value].resolution_seconds += row["total"] or 0.0
        into[value].median_seconds = median = row["median"]
    if key is not None:
        # A median does not add up from the groups' medians.
        median = resolved.aggregate(median=Median(seconds))["median"]
    return median


def _finished(periods: Sequence[DepotPeriod], group_by: GroupBy | None, into: defaultdict[Any, _Tally]) -> None:
    """Cases resolved (or, without a resolution, closed) in the period; how many no dispatcher touched."""
    # Written as two ranges rather than one on COALESCE so the resolved_at index can serve the first.
    cases = ExceptionCase.objects.filter(
        _within(periods, at="resolved_at", depot="depot_id")
        | Q(resolved_at__isnull=True) & _within(periods, at="closed_at", depot="depot_id")
    )
    key = _key(
        group_by, at=Coalesce("resolved_at", "closed_at"), depot="depot", reason="reason_code", address="order__address"
    )
    for value, row in _grouped(
        cases, key, finished=Count("pk"), untouched=Count("pk", filter=Q(touched_by_dispatcher=False))
    ):
        into[value].finished += row["finished"]
        into[value].untouched += row["untouched"]


def _case_counts(periods: Sequence[DepotPeriod], group_by: GroupBy | None, into: defaultdict[Any, _Tally]) -> int:
    """Cases opened and escalated in the period; cases open now. Returns the open-now total."""
    for at, name in (("opened_at", "opened"), ("escalated_at", "escalated")):
        key = _key(group_by, at=at, depot="depot", reason="reason_code", address="order__address")
        for value, row in _grouped(
            ExceptionCase.objects.filter(_within(periods, at=at, depot="depot_id")), key, n=Count("pk")
        ):
            setattr(into[value], name, getattr(into[value], name) + row["n"])
    open_now = ExceptionCase.objects.filter(
        depot_id__in=[period.depot_id for period in periods], state__in=ExceptionCase.OPEN_STATES
    )
    if group_by in ("depot", "reason_code", "area"):
        key = _key(group_by, at="opened_at", depot="depot", reason="reason_code", address="order__address")
        total = 0
        for value, row in _grouped(open_now, key, n=Count("pk")):
            into[value].open_now = row["n"]
            total += row["n"]
        return total
    # Open now is a snapshot: it has no day or hour, only a total.
    return open_now.count()


def _on_service_dates(periods: Sequence[DepotPeriod], *, run: str) -> Q:
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


def _prevention(periods: Sequence[DepotPeriod], group_by: GroupBy | None, into: defaultdict[Any, _Tally]) -> _Tally:
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
    """
    first_scan = (
        ScanEvent.objects.filter(stop__order_id=OuterRef("stop__order_id"))
        .order_by("received_at", "pk")
        .values("outcome")
    )
    delivered_first = Exact(Subquery(first_scan[:1]), Value(ScanEvent.Outcome.DELIVERED))
    status = PreArrivalContact.Status
    contacts = PreArrivalContact.objects.filter(_on_service_dates(periods, run="stop__run"))
    useful = useful_reply()
    aggregates = {
        "texts_sent": Count("pk", filter=Q(status__in=(status.ASKED, status.ANSWERED))),
        "not_asked": Count("pk", filter=Q(status=status.SKIPPED)),
        "replies": Count("pk", filter=Q(status=status.ANSWERED)),
        "useful_replies": Count("pk", filter=useful),
        "prevented": Count("pk", filter=useful & Q(delivered_first)),
    }
    unsplit = _Tally()
    key: Combinable | None
    if group_by == "day":
        key = Func(F("stop__run__service_date"), Value("YYYY-MM-DD"), function="to_char", output_field=CharField())
    else:
        key = _key(
            None if group_by == "reason_code" else group_by,
            at="created_at",
            depot="stop__run__depot",
            reason="",
            address="stop__order__address",
        )
    for value, row in _grouped(contacts, key, **aggregates):
        tally = unsplit if group_by == "reason_code" else into[value]
        for name in aggregates:
            setattr(tally, name, getattr(tally, name) + row[name])
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
    ``_prevention``).
    """
    if group_by is not None and group_by not in GROUP_BY:
        raise ValueError(f"group_by must be one of {', '.join(GROUP_BY)}, not {group_by!r}")
    if date_to < date_from:
        raise ValueError("date_to is before date_from")
    depots = list(Depot.objects.filter(pk__in=depot_ids).order_by("code"))
    default, cost_models = _cost_models(depot.pk for depot in depots)
    currencies = sorted({model.currency for model in cost_models.values()})
    periods = depot_periods(depots=depots, date_from=date_from, date_to=date_to)

    groups: defaultdict[Any, _Tally] = defaultdict(_Tally)
    totals = _Tally()
    if periods:
        _first_attempts(periods, group_by, groups)
        _failed_attempt_costs(periods, group_by, groups, default=default)
        median = _resolutions(periods, group_by, groups)
        _finished(periods, group_by, groups)
        open_now = _case_counts(periods, group_by, groups)
        unsplit = _prevention(periods, group_by, groups)
        for tally in groups.values():
            totals.add(tally)
        totals.add(unsplit)
        totals.median_seconds = median
        totals.open_now = open_now
    else:
        totals.open_now = 0

    ordered = sorted(groups.items(), key=lambda item: (item[0] is None, item[0] or ""))
    split = group_by != "reason_code"
    listed = (
        []
        if group_by is None
        else [cast(Group, {"key": key, **tally.measures(currencies, prevention=split)}) for key, tally in ordered]
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
