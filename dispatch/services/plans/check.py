"""What a parsed plan refers to in the database, and the errors only the database can show.

Drivers, the day's runs and stops (locked) and the plan's orders are read once,
in batches. The errors: a driver unknown, inactive or of another depot; a new
driver for a run already under way; a run reference used on another day; a
driver's shift taken by another run; an order still open on another day or
already finished; a shift not starting on the service date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

from dispatch.models import Depot, Driver, Order, Run, Stop
from dispatch.services.plans.fields import Errors, Row
from dispatch.services.plans.parse import _ParsedPlan
from dispatch.services.plans.rows import LOOKUP_BATCH, _chunks, _rows_by

# A stop in one of these states, or with an attempt counted, belongs to what
# happened on the road, not to the plan: an import never changes it.
REPLANNABLE_STOP_STATUSES = (Stop.Status.PENDING, Stop.Status.CANCELLED)
FINAL_ORDER_STATUSES = (Order.Status.DELIVERED, Order.Status.RETURNED, Order.Status.CANCELLED)


def _check_shift_dates(plan: _ParsedPlan, depot: Depot, errors: Errors) -> None:
    zone = depot.time_zone
    for run in plan.runs:
        start = run.data.get("shift_start")
        if start is not None and start.astimezone(zone).date() != plan.service_date:
            errors.setdefault(f"{run.path}.shift_start", []).append(
                f"The shift must start on the service date, {plan.service_date} in {zone}."
            )


ORDER_COLUMNS = (
    "recipient_id",
    "address_id",
    "window_start",
    "window_end",
    "declared_value",
    "parcel_count",
    "signature_required",
    "safe_drop_allowed",
    "neighbour_allowed",
)


@dataclass(slots=True)
class _StopRow:
    """A stop as the import sees it: read with values(), compared, then written in bulk."""

    id: int | None
    run_id: int
    order_id: int
    sequence: int
    planned_arrival: dt.datetime | None
    service_minutes: int
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    status: str
    attempt_count: int = 0

    # What a plan may change.
    PLANNED: ClassVar[tuple[str, ...]] = (
        "run_id",
        "sequence",
        "planned_arrival",
        "service_minutes",
        "window_start",
        "window_end",
        "status",
    )

    @property
    def attempted(self) -> bool:
        # A stop in any other state, or with an attempt counted, belongs to what happened on the road.
        return self.attempt_count > 0 or self.status not in REPLANNABLE_STOP_STATUSES

    def state(self) -> Row:
        return {name: getattr(self, name) for name in self.PLANNED}


@dataclass
class _Existing:
    drivers: dict[str, Driver]
    runs: dict[str, Run]
    day_runs: list[Run]
    orders: dict[str, Row]
    day_stops: list[_StopRow]


def _check_database(plan: _ParsedPlan, depot: Depot, service_date: dt.date, errors: Errors) -> _Existing:
    """What the plan refers to, read once, and every error that needs the database to see."""
    drivers = {
        driver.user.username: driver
        for chunk in _chunks(sorted({run.data["driver"] for run in plan.runs if "driver" in run.data}), LOOKUP_BATCH)
        for driver in Driver.objects.select_related("user", "depot").filter(user__username__in=chunk)
    }
    for run in plan.runs:
        username = run.data.get("driver")
        if username is None:
            continue
        driver = drivers.get(username)
        if driver is None:
            errors.setdefault(f"{run.path}.driver", []).append(f"No driver with username {username!r}.")
        elif driver.depot_id != depot.pk:
            errors.setdefault(f"{run.path}.driver", []).append(
                f"{username} drives for another depot ({driver.depot.code}), not {depot.code}."
            )
        elif not driver.active:
            errors.setdefault(f"{run.path}.driver", []).append(f"{username} is not an active driver.")

    day_runs = list(
        Run.objects.select_for_update(of=("self",))
        .select_related("driver")
        .filter(depot=depot, service_date=service_date)
        .order_by("pk")
    )
    runs = {run.external_ref: run for run in day_runs if run.external_ref}
    refs = {run.data["external_ref"] for run in plan.runs if "external_ref" in run.data}
    other_days = _rows_by(Run.objects.filter(depot=depot), "external_ref", refs - set(runs), ["service_date"])
    for entry in plan.runs:
        other = other_days.get(entry.data.get("external_ref", ""))
        if other is not None:
            errors.setdefault(f"{entry.path}.external_ref", []).append(
                f"Run {other['external_ref']!r} is planned for {other['service_date']}; "
                "a run reference names one day's run."
            )
        existing = runs.get(entry.data.get("external_ref", ""))
        if existing is None:
            continue
        driver = drivers.get(entry.data.get("driver", ""))
        if (
            driver is not None
            and driver.pk != existing.driver_id
            and existing.status not in (Run.Status.PLANNED, Run.Status.CANCELLED)
        ):
            errors.setdefault(f"{entry.path}.driver", []).append(
                f"Run {existing.external_ref!r} is {existing.get_status_display().lower()}; its driver cannot change."
            )
    # One run per driver and shift start, across every day and depot.
    shifts = {
        (drivers[run.data["driver"]].pk, run.data["shift_start"]): run
        for run in plan.runs
        if run.data.get("driver") in drivers and "shift_start" in run.data
    }
    if shifts:
        taken = Run.objects.filter(
            driver_id__in={driver_id for driver_id, _ in shifts}, shift_start__in={start for _, start in shifts}
        ).select_related("depot")
        # A run the plan itself updates ends where the plan says (clashes inside the plan are caught above).
        planned = {runs[ref].pk for ref in refs if ref in runs}
        for other_run in taken:
            shift_entry = shifts.get((other_run.driver_id, other_run.shift_start))
            if shift_entry is None or other_run.pk in planned:
                continue
            label = other_run.external_ref or f"#{other_run.pk}"
            errors.setdefault(f"{shift_entry.path}.shift_start", []).append(
                f"{shift_entry.data['driver']} already has run {label!r} ({other_run.depot.code}, "
                f"{other_run.service_date}) starting at this time."
            )

    orders = _rows_by(
        Order.objects.filter(depot=depot),
        "reference",
        (stop.order["reference"] for stop in plan.stops if "reference" in stop.order),
        [*ORDER_COLUMNS, "depot_id", "depot__code", "status"],
    )
    day_run_ids = [run.pk for run in day_runs]
    day_stops = [
        _StopRow(**row)
        for row in Stop.objects.select_for_update()
        .filter(run_id__in=day_run_ids)
        .order_by("pk")
        .values("id", "order_id", "attempt_count", *_StopRow.PLANNED)
    ]
    today_orders = {stop.order_id for stop in day_stops}
    elsewhere: dict[int, Row] = {}
    order_ids = sorted(order["id"] for order in orders.values())
    for chunk in _chunks(order_ids, LOOKUP_BATCH):
        active = (
            Stop.objects.filter(order_id__in=chunk, status__in=Stop.ACTIVE_STATUSES)
            .exclude(run_id__in=day_run_ids)
            .values("order_id", "run_id", "run__external_ref", "run__service_date")
        )
        elsewhere.update({row["order_id"]: dict(row) for row in active})
    for stop in plan.stops:
        order = orders.get(stop.order.get("reference", ""))
        if order is None:
            continue
        path = f"{stop.path}.order.reference"
        if order["id"] in elsewhere:
            active_stop = elsewhere[order["id"]]
            errors.setdefault(path, []).append(
                f"Order {order['reference']} already has an active stop on run "
                f"{active_stop['run__external_ref'] or active_stop['run_id']!r} ({active_stop['run__service_date']}); "
                "reschedule or close it before planning the order on another day."
            )
        elif order["status"] in FINAL_ORDER_STATUSES and order["id"] not in today_orders:
            errors.setdefault(path, []).append(
                f"Order {order['reference']} is {Order.Status(order['status']).label.lower()}; "
                "it cannot be planned again."
            )
    return _Existing(drivers=drivers, runs=runs, day_runs=day_runs, orders=orders, day_stops=day_stops)
