"""Applying a plan: one depot's service day from the route planner or order system, all or nothing.

How a plan is applied
---------------------
``plan_import`` takes one JSON document (runs, stops in sequence, orders,
recipients, addresses, access codes) and either applies all of it in one
transaction or nothing, with every problem reported by its JSON path
(``runs[3].stops[12].order.recipient.phone``).

* Validation is plain Python, not nested DRF serializers: on a 10,000-stop
  plan (~250,000 values) those take ~3 s on a quiet 2-core machine before any
  phone number or database check, 3x this package's validation with them
  (bench/RESULTS.md). Messages follow DRF's wording, so clients see one style.
* Everything is matched by its external reference within the plan's depot
  (``dispatch.tenancy``): recipients by ``external_id``, addresses by
  ``external_ref``, orders by ``reference``, runs by ``external_ref``, stops by
  (run, order). A re-sent plan writes
  nothing; a changed one updates rows in place; lookups and writes are
  batched, never a query per row.
* Fields a plan leaves out of a recipient, address or order keep their stored
  values (the CRM may own them); runs and stops are the plan's own, so an
  omitted ``planned_arrival`` clears it.
* Stops already attempted (``attempt_count > 0``, or a status other than
  pending/cancelled) are never touched, and neither are the other stops of
  their order that day: they are reported as "kept". Stops of the day that
  the plan no longer lists are cancelled if unattempted.
* A depot's imports (plans and recipients) serialize on an advisory lock of
  their own: two concurrent imports creating the same external_id would
  otherwise race to a unique violation. Depots import side by side.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from dispatch import driver_words, ports
from dispatch.models import AccessCredential, Address, Depot, DriverInstruction, Order, Recipient, Run, Stop
from dispatch.services.instructions import instruction_push
from dispatch.services.plans.check import FINAL_ORDER_STATUSES, _check_database, _check_shift_dates, _Existing, _StopRow
from dispatch.services.plans.fields import Errors, Row
from dispatch.services.plans.parse import _parse_plan, _ParsedPlan
from dispatch.services.plans.rows import (
    LOOKUP_BATCH,
    WRITE_BATCH,
    _changes,
    _chunks,
    _insert_rows,
    _lock_imports,
    _rows_by,
    _update_rows,
)

SEQUENCE_CONSTRAINT = "stop_sequence_unique_in_run"
PARKED_SHIFT_OFFSET = dt.timedelta(days=365 * 100)


class PlanInvalid(Exception):
    """Nothing was written. ``errors`` maps the JSON path of each bad value to its messages."""

    def __init__(self, errors: Errors) -> None:
        super().__init__(f"The plan has {sum(len(messages) for messages in errors.values())} errors.")
        self.errors = errors


class PlanRefused(Exception):
    """The caller may not import a plan for this depot."""


class PlanConflict(Exception):
    """The database refused the write (a concurrent change); nothing was written. Safe to retry."""


def _defer_sequence_check() -> None:
    # Stops swap sequences mid-import. The constraint is deferrable, but an enclosing transaction may have
    # made it immediate; checked at commit either way.
    with connection.cursor() as cursor:
        cursor.execute(f"SET CONSTRAINTS {connection.ops.quote_name(SEQUENCE_CONSTRAINT)} DEFERRED")


class _Counts(Counter[str]):
    def out(self, *names: str) -> dict[str, int]:
        return {name: self[name] for name in names}


def _upsert_in_depot(
    model: type[models.Model], key: str, rows: dict[str, Row], depot: Depot, counts: _Counts, now: dt.datetime
) -> dict[str, int]:
    """Create or update the depot's recipients or addresses by their external key; return every id by key."""
    columns = sorted({name for row in rows.values() for name in row} - {key})
    existing = _rows_by(model._default_manager.filter(depot=depot), key, rows, columns)
    changes: list[tuple[int, Row]] = []
    new: list[Row] = []
    for ref, values in rows.items():
        stored = existing.get(ref)
        if stored is None:
            new.append({**values, "depot_id": depot.pk})
            continue
        changed = _changes(stored, {name: value for name, value in values.items() if name != key})
        changes.append((stored["id"], changed))
        counts["updated" if changed else "unchanged"] += 1
    new_ids = _insert_rows(model, new, now)
    _update_rows(model, changes, now)
    counts["created"] += len(new)
    ids = {ref: row["id"] for ref, row in existing.items()}
    ids.update({row[key]: pk for row, pk in zip(new, new_ids, strict=True)})
    return ids


# ---------------------------------------------------------------------------
# plan_import
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanImportResult:
    summary: dict[str, Any]
    created_day: bool
    dry_run: bool


class _DryRun(Exception):
    def __init__(self, result: PlanImportResult) -> None:
        super().__init__("dry run")
        self.result = result


def plan_import(*, document: Any, only_depot: Depot | None = None, dry_run: bool = False) -> PlanImportResult:
    """Create or replace one depot's service day from a plan document, all or nothing.

    ``only_depot`` limits the caller (an integration token bound to a depot).
    ``dry_run`` validates and computes the summary, then rolls everything back.
    Raises PlanInvalid (with every error by JSON path), PlanRefused or PlanConflict.
    """
    plan, errors = _parse_plan(document)
    if only_depot is not None and plan.depot_code is not None and plan.depot_code != only_depot.code:
        raise PlanRefused(
            f"This token is limited to depot {only_depot.code!r}; it cannot import a plan for {plan.depot_code!r}."
        )
    depot = Depot.objects.filter(code=plan.depot_code).first() if plan.depot_code else None
    if plan.depot_code and depot is None:
        errors["depot"] = [f"No depot with code {plan.depot_code!r}."]
    if depot is not None and plan.service_date is not None:
        _check_shift_dates(plan, depot, errors)
    if depot is None or plan.service_date is None:
        raise PlanInvalid(errors)
    try:
        with transaction.atomic():
            _lock_imports(depot)
            _defer_sequence_check()
            result = _apply(plan, depot, plan.service_date, errors, dry_run=dry_run)
            if dry_run:
                raise _DryRun(result)
    except _DryRun as done:
        return done.result
    except IntegrityError as error:
        raise PlanConflict(
            "The database refused the plan, probably because of a concurrent change; nothing was written. "
            f"Send it again. ({str(error).splitlines()[0]})"
        ) from error
    return result


def _apply(
    plan: _ParsedPlan,
    depot: Depot,
    service_date: dt.date,
    errors: Errors,
    *,
    dry_run: bool,
) -> PlanImportResult:
    existing = _check_database(plan, depot, service_date, errors)
    if errors:
        raise PlanInvalid(errors)
    now = timezone.now()
    counts = {name: _Counts() for name in ("runs", "stops", "orders", "recipients", "addresses", "access_codes")}
    created_day = not existing.day_runs

    recipients = _upsert_in_depot(Recipient, "external_id", plan.recipients, depot, counts["recipients"], now)
    addresses = _upsert_in_depot(Address, "external_ref", plan.addresses, depot, counts["addresses"], now)
    _add_access_codes(plan, addresses, counts["access_codes"])

    # Orders with an attempted stop today are the road's, not the plan's: keep them and all their stops.
    # So are finished orders (the database check let those through only because they have a stop today).
    kept_orders = {stop.order_id for stop in existing.day_stops if stop.attempted} | {
        order["id"] for order in existing.orders.values() if order["status"] in FINAL_ORDER_STATUSES
    }
    orders = _upsert_orders(plan, depot, existing.orders, kept_orders, recipients, addresses, counts["orders"], now)
    runs = _upsert_runs(plan, depot, service_date, existing, counts["runs"])
    changed_runs = _apply_stops(plan, existing, runs, orders, kept_orders, counts["stops"], now)

    # Runs of the day the plan no longer has: cancelled once nothing on them is left to do.
    planned_ids = {run.pk for run in runs.values()}
    live = Counter(stop.run_id for stop in existing.day_stops if stop.status != Stop.Status.CANCELLED or stop.attempted)
    dropped = [
        run
        for run in existing.day_runs
        if run.pk not in planned_ids and run.status == Run.Status.PLANNED and not live[run.pk]
    ]
    for run in dropped:
        run.status = Run.Status.CANCELLED
    Run.objects.bulk_update(dropped, ["status"])
    counts["runs"]["cancelled"] += len(dropped)

    bump = [run for run in existing.day_runs if run.pk in changed_runs]
    for run in bump:
        run.plan_version += 1
    Run.objects.bulk_update(bump, ["plan_version"])
    for run in bump:
        if run.status == Run.Status.IN_PROGRESS:
            instruction_push(
                driver=run.driver,
                kind=DriverInstruction.Kind.ROUTE_UPDATED,
                text=driver_words.ROUTE_FROM_DISPATCH,
                payload={"run_id": run.pk, "plan_version": run.plan_version},
            )

    if not dry_run:
        # The day's stops are scored for pre-arrival outreach once the plan is in.
        ports.desk().day_planned(depot=depot, service_date=service_date)

    summary = {
        "depot": depot.code,
        "service_date": service_date.isoformat(),
        "dry_run": dry_run,
        "runs": counts["runs"].out("created", "updated", "unchanged", "cancelled"),
        "stops": counts["stops"].out("created", "updated", "unchanged", "cancelled", "kept"),
        "orders": counts["orders"].out("created", "updated", "unchanged", "kept"),
        "recipients": counts["recipients"].out("created", "updated", "unchanged"),
        "addresses": counts["addresses"].out("created", "updated", "unchanged"),
        "access_codes": counts["access_codes"].out("created", "unchanged"),
    }
    return PlanImportResult(summary=summary, created_day=created_day, dry_run=dry_run)


def _add_access_codes(plan: _ParsedPlan, addresses: dict[str, int], counts: _Counts) -> None:
    wanted: dict[tuple[int, str, str], Row] = {}
    for stop in plan.stops:
        for code in stop.access_codes:
            wanted.setdefault((addresses[stop.address_ref or ""], code["kind"], code["code"]), code)
    if not wanted:
        return
    # Secrets are encrypted with a random IV, so equal codes only look equal once decrypted, in Python.
    stored: set[tuple[int, str, str]] = set()
    for chunk in _chunks(sorted({address_id for address_id, _, _ in wanted}), LOOKUP_BATCH):
        stored.update(AccessCredential.objects.filter(address_id__in=chunk).values_list("address_id", "kind", "secret"))
    new = [
        AccessCredential(
            address_id=address_id,
            kind=kind,
            secret=secret,
            valid_from=code.get("valid_from"),
            valid_to=code.get("valid_to"),
            source=AccessCredential.Source.PLAN_IMPORT,
        )
        for (address_id, kind, secret), code in wanted.items()
        if (address_id, kind, secret) not in stored
    ]
    AccessCredential.objects.bulk_create(new, batch_size=WRITE_BATCH)
    counts["created"] += len(new)
    counts["unchanged"] += len(wanted) - len(new)


def _upsert_orders(
    plan: _ParsedPlan,
    depot: Depot,
    existing: dict[str, Row],
    kept: set[int],
    recipients: dict[str, int],
    addresses: dict[str, int],
    counts: _Counts,
    now: dt.datetime,
) -> dict[str, Row]:
    """Create or update the plan's orders; return each one's id and (effective) window by reference."""
    result: dict[str, Row] = {}
    new: list[Row] = []
    changes: list[tuple[int, Row]] = []
    for stop in plan.stops:
        values = dict(stop.order)
        reference = values.pop("reference")
        values["recipient_id"] = recipients[stop.recipient_id or ""]
        values["address_id"] = addresses[stop.address_ref or ""]
        stored = existing.get(reference)
        if stored is None:
            new.append({"reference": reference, "depot_id": depot.pk, "status": Order.Status.PENDING, **values})
            continue
        result[reference] = stored
        if stored["id"] in kept:
            counts["kept"] += 1
            continue
        changed = _changes(stored, values)
        stored.update(changed)
        changes.append((stored["id"], changed))
        counts["updated" if changed else "unchanged"] += 1
    _update_rows(Order, changes, now)
    for values, pk in zip(new, _insert_rows(Order, new, now), strict=True):
        result[values["reference"]] = {
            "id": pk,
            "window_start": values.get("window_start"),
            "window_end": values.get("window_end"),
        }
    counts["created"] += len(new)
    return result


def _upsert_runs(
    plan: _ParsedPlan, depot: Depot, service_date: dt.date, existing: _Existing, counts: _Counts
) -> dict[str, Run]:
    """The plan's runs by reference, created or updated."""
    runs: dict[str, Run] = {}
    new: list[Run] = []
    changes: list[Run] = []
    reassigned: list[int] = []
    for entry in plan.runs:
        driver = existing.drivers[entry.data["driver"]]
        values: Row = {
            "driver_id": driver.pk,
            "shift_start": entry.data["shift_start"],
            "shift_end": entry.data["shift_end"],
        }
        run = existing.runs.get(entry.data["external_ref"])
        if run is None:
            run = Run(depot=depot, service_date=service_date, external_ref=entry.data["external_ref"], **values)
            new.append(run)
        else:
            if run.status == Run.Status.CANCELLED:
                values["status"] = Run.Status.PLANNED
            changed = _changes({name: getattr(run, name) for name in values}, values)
            for name, value in changed.items():
                setattr(run, name, value)
            if changed:
                changes.append(run)
            if {"driver_id", "shift_start"} & changed.keys():
                reassigned.append(run.pk)
            counts["updated" if changed else "unchanged"] += 1
        run.driver = driver
        runs[entry.data["external_ref"]] = run
    if len(reassigned) > 1:
        # (driver, shift_start) is unique and, not being deferrable, checked row by row: two runs trading
        # drivers would collide half-way through one UPDATE. Park them first where no real shift starts.
        Run.objects.filter(pk__in=reassigned).update(shift_start=models.F("shift_start") - PARKED_SHIFT_OFFSET)
    Run.objects.bulk_create(new, batch_size=WRITE_BATCH)
    Run.objects.bulk_update(changes, ["driver_id", "shift_start", "shift_end", "status"])
    counts["created"] += len(new)
    return runs


def _apply_stops(
    plan: _ParsedPlan,
    existing: _Existing,
    runs: dict[str, Run],
    orders: dict[str, Row],
    kept_orders: set[int],
    counts: _Counts,
    now: dt.datetime,
) -> set[int]:
    """Create, move, update and cancel the day's stops; return the ids of runs whose stops changed."""
    by_order: dict[int, list[_StopRow]] = defaultdict(list)
    for stop in existing.day_stops:
        by_order[stop.order_id].append(stop)
    counts["kept"] += sum(1 for stop in existing.day_stops if stop.attempted)
    before = {stop.id: stop.state() for stop in existing.day_stops}

    placed: list[_StopRow] = []
    claimed: set[int | None] = set()
    for entry in plan.stops:
        order = orders[entry.order["reference"]]
        if order["id"] in kept_orders:
            continue
        run = runs[entry.run.data["external_ref"]]
        candidates = by_order.get(order["id"], [])
        # The order's stop on its planned run (maybe cancelled earlier), else its open stop elsewhere, which moves.
        found = next((s for s in candidates if s.run_id == run.pk), None) or next(
            (s for s in candidates if s.status == Stop.Status.PENDING), None
        )
        stop = found or _StopRow(None, run.pk, order["id"], 0, None, 0, None, None, Stop.Status.PENDING)
        claimed.add(stop.id)
        stop.run_id = run.pk
        stop.status = Stop.Status.PENDING
        stop.sequence = entry.data["sequence"]
        stop.planned_arrival = entry.data.get("planned_arrival")
        stop.service_minutes = entry.data.get("service_minutes", 3)
        stop.window_start = order["window_start"]
        stop.window_end = order["window_end"]
        placed.append(stop)

    # Unattempted stops the plan no longer places are cancelled: those of dropped orders, and the one a
    # move leaves behind when the order already had a (cancelled) stop on its new run.
    planned_orders = {orders[entry.order["reference"]]["id"] for entry in plan.stops}
    idle = [stop for stop in existing.day_stops if stop.id not in claimed and not stop.attempted]
    for stop in idle:
        if stop.status == Stop.Status.PENDING and stop.order_id not in kept_orders:
            stop.status = Stop.Status.CANCELLED
            if stop.order_id not in planned_orders:
                counts["cancelled"] += 1
    _resequence(existing.day_stops, placed, idle)

    changed_runs: set[int] = set()
    going_idle: list[tuple[int, Row]] = []
    for stop in idle:
        assert stop.id is not None
        changed = _changes(before[stop.id], stop.state())
        if changed:
            going_idle.append((stop.id, changed))
            changed_runs.add(stop.run_id)
    moving: list[tuple[int, Row]] = []
    new: list[Row] = []
    for stop in placed:
        if stop.id is None:
            new.append({name: getattr(stop, name) for name in ("order_id", *_StopRow.PLANNED)})
            changed_runs.add(stop.run_id)
            continue
        changed = _changes(before[stop.id], stop.state())
        moving.append((stop.id, changed))
        counts["updated" if changed else "unchanged"] += 1
        if changed:
            changed_runs.update({stop.run_id, before[stop.id]["run_id"]})
    # Order matters for the non-deferrable "one active stop per order" index: deactivate first, then
    # move and reactivate, then insert. Sequences are only checked at commit, so their order does not.
    _update_rows(Stop, going_idle, now)
    _update_rows(Stop, moving, now)
    _insert_rows(Stop, new, now)
    counts["created"] += len(new)
    return changed_runs


def _resequence(day_stops: list[_StopRow], placed: list[_StopRow], idle: list[_StopRow]) -> None:
    """Make sequences unique per run without touching attempted stops.

    Attempted stops keep their sequence. If the plan's sequences for a run
    collide with them (a mid-day re-plan numbering the remaining stops from 1),
    the plan's stops on that run go after the last attempted one, in the plan's
    order. Cancelled stops give up their sequence to anything that needs it.
    """
    fixed: dict[int, set[int]] = defaultdict(set)
    for stop in day_stops:
        if stop.attempted:
            fixed[stop.run_id].add(stop.sequence)
    by_run: dict[int, list[_StopRow]] = defaultdict(list)
    for stop in placed:
        by_run[stop.run_id].append(stop)
    for run_id, stops in by_run.items():
        if fixed[run_id] & {stop.sequence for stop in stops}:
            offset = max(fixed[run_id])
            for stop in stops:
                stop.sequence += offset
    idle_by_run: dict[int, list[_StopRow]] = defaultdict(list)
    for stop in idle:
        idle_by_run[stop.run_id].append(stop)
    for run_id, stops in idle_by_run.items():
        taken = fixed[run_id] | {stop.sequence for stop in by_run.get(run_id, [])}
        top = max(taken | {stop.sequence for stop in stops})
        for stop in sorted(stops, key=lambda s: s.sequence):
            if stop.sequence in taken:
                top += 1
                stop.sequence = top
            taken.add(stop.sequence)
