"""A plan document, parsed: each run with its stops, the recipients and addresses they share.

Everything that can be checked without the database is checked here, every
error reported under its JSON path (``runs[3].stops[12].order.recipient.phone``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from dispatch.services.plans.fields import (
    _F,
    ACCESS_CODE_FIELDS,
    ADDRESS_FIELDS,
    ORDER_FIELDS,
    RECIPIENT_FIELDS,
    RUN_FIELDS,
    STOP_FIELDS,
    Errors,
    Row,
    _check_window,
    _date,
    _parse_list,
    _parse_object,
    _text,
)

MAX_RUNS = 500
MAX_STOPS = 50_000


@dataclass
class _RunEntry:
    path: str
    data: Row
    stops: list[_StopEntry] = field(default_factory=list)


@dataclass
class _StopEntry:
    path: str
    run: _RunEntry
    data: Row
    order: Row
    recipient_id: str | None
    address_ref: str | None
    access_codes: list[Row]


@dataclass
class _ParsedPlan:
    depot_code: str | None
    service_date: dt.date | None
    runs: list[_RunEntry]
    stops: list[_StopEntry]
    recipients: dict[str, Row]
    addresses: dict[str, Row]


def _merge_shared(
    store: dict[str, Row], first_seen: dict[str, str], key: str | None, row: Row | None, path: str, errors: Errors
) -> None:
    """A recipient or address may appear under many orders: fields given twice must agree."""
    if key is None or row is None:
        return
    known = store.get(key)
    if known is None:
        store[key] = dict(row)
        first_seen[key] = path
        return
    for name, value in row.items():
        if name in known and known[name] != value:
            errors.setdefault(f"{path}.{name}", []).append(
                f"Differs from {first_seen[key]}.{name} for the same reference {key!r}."
            )
        else:
            known[name] = value


def _parse_plan(document: Any) -> tuple[_ParsedPlan, Errors]:
    errors: Errors = {}
    plan = _ParsedPlan(None, None, [], [], {}, {})
    top = _parse_object(
        document,
        {"depot": _F(_text(32), required=True), "service_date": _F(_date, required=True)},
        "",
        errors,
    )
    if top is None:
        return plan, errors
    plan.depot_code = top.get("depot")
    plan.service_date = top.get("service_date")
    if "runs" not in document:
        errors["runs"] = ["This field is required."]
        return plan, errors
    raw_runs = _parse_list(document["runs"], "runs", errors, allow_empty=False, limit=MAX_RUNS)
    total_stops = sum(
        len(run["stops"]) for run in raw_runs if isinstance(run, dict) and isinstance(run.get("stops"), list)
    )
    if total_stops > MAX_STOPS:
        errors["runs"] = [f"A plan may hold at most {MAX_STOPS:,} stops; this one has {total_stops:,}."]
        return plan, errors

    run_paths: dict[str, str] = {}
    driver_shifts: dict[tuple[str, dt.datetime], str] = {}
    order_paths: dict[str, str] = {}
    recipient_paths: dict[str, str] = {}
    address_paths: dict[str, str] = {}
    for run_index, raw_run in enumerate(raw_runs):
        run_path = f"runs[{run_index}]"
        run_row = _parse_object(raw_run, RUN_FIELDS, run_path, errors)
        if run_row is None:
            continue
        run = _RunEntry(run_path, run_row)
        plan.runs.append(run)
        _check_window(run_row, "shift_start", "shift_end", run_path, errors, "shift")
        ref = run_row.get("external_ref")
        if ref is not None:
            if ref in run_paths:
                errors.setdefault(f"{run_path}.external_ref", []).append(f"Also used by {run_paths[ref]}.")
            else:
                run_paths[ref] = run_path
        if "driver" in run_row and "shift_start" in run_row:
            shift = (run_row["driver"], run_row["shift_start"])
            if shift in driver_shifts:
                errors.setdefault(f"{run_path}.shift_start", []).append(
                    f"{run_row['driver']} already has {driver_shifts[shift]} starting at this time."
                )
            else:
                driver_shifts[shift] = run_path
        if "stops" not in raw_run:
            errors[f"{run_path}.stops"] = ["This field is required."]
            continue
        sequences: dict[int, str] = {}
        for stop_index, raw_stop in enumerate(
            _parse_list(raw_run["stops"], f"{run_path}.stops", errors, limit=MAX_STOPS)
        ):
            stop_path = f"{run_path}.stops[{stop_index}]"
            stop_row = _parse_object(raw_stop, STOP_FIELDS, stop_path, errors)
            if stop_row is None:
                continue
            sequence = stop_row.get("sequence")
            if sequence is not None:
                if sequence in sequences:
                    errors.setdefault(f"{stop_path}.sequence", []).append(
                        f"Sequence {sequence} is also used by {sequences[sequence]}."
                    )
                else:
                    sequences[sequence] = stop_path
            if "order" not in raw_stop:
                errors[f"{stop_path}.order"] = ["This field is required."]
                continue
            order_path = f"{stop_path}.order"
            order_row = _parse_object(raw_stop["order"], ORDER_FIELDS, order_path, errors)
            if order_row is None:
                continue
            _check_window(order_row, "window_start", "window_end", order_path, errors, "window", both=True)
            reference = order_row.get("reference")
            if reference is not None:
                if reference in order_paths:
                    errors.setdefault(f"{order_path}.reference", []).append(
                        f"Order {reference} is also at {order_paths[reference]}: an order is planned once per day."
                    )
                else:
                    order_paths[reference] = stop_path
            raw_order = raw_stop["order"]
            recipient_row: Row | None = None
            address_row: Row | None = None
            for name, spec in (("recipient", RECIPIENT_FIELDS), ("address", ADDRESS_FIELDS)):
                if name not in raw_order:
                    errors[f"{order_path}.{name}"] = ["This field is required."]
                    continue
                parsed = _parse_object(raw_order[name], spec, f"{order_path}.{name}", errors)
                if name == "recipient":
                    recipient_row = parsed
                else:
                    address_row = parsed
            recipient_id = recipient_row.get("external_id") if recipient_row else None
            address_ref = address_row.get("external_ref") if address_row else None
            _merge_shared(
                plan.recipients, recipient_paths, recipient_id, recipient_row, f"{order_path}.recipient", errors
            )
            _merge_shared(plan.addresses, address_paths, address_ref, address_row, f"{order_path}.address", errors)
            codes: list[Row] = []
            raw_codes = raw_order.get("access_codes", [])
            for code_index, raw_code in enumerate(
                _parse_list(raw_codes, f"{order_path}.access_codes", errors, limit=20)
            ):
                code_path = f"{order_path}.access_codes[{code_index}]"
                code_row = _parse_object(raw_code, ACCESS_CODE_FIELDS, code_path, errors)
                if code_row is not None:
                    _check_window(code_row, "valid_from", "valid_to", code_path, errors, "validity")
                    codes.append(code_row)
            entry = _StopEntry(stop_path, run, stop_row, order_row, recipient_id, address_ref, codes)
            run.stops.append(entry)
            plan.stops.append(entry)
    return plan, errors
