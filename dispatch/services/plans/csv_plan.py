"""A plan from a CSV file (the admin's upload), one row per stop, applied as ``plan_import`` applies a document.

Cells become the plan document (times typed as "08:00" mean the depot's clock),
and every problem is reported as "Row 14, phone: ..." in file order.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from dispatch.models import Depot
from dispatch.services.plans.apply import PlanImportResult, PlanInvalid, plan_import
from dispatch.services.plans.fields import Row, _csv_rows


class PlanCsvInvalid(Exception):
    """A CSV plan was not applied; ``messages`` read "Row 14, phone: ..." in file order."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__(f"The CSV plan has {len(messages)} errors.")
        self.messages = messages


PLAN_CSV_RUN_COLUMNS = {
    "run_ref": "external_ref",
    "driver": "driver",
    "shift_start": "shift_start",
    "shift_end": "shift_end",
}
PLAN_CSV_STOP_COLUMNS = {
    "sequence": "sequence",
    "planned_arrival": "planned_arrival",
    "service_minutes": "service_minutes",
    "order_reference": "order.reference",
    "window_start": "order.window_start",
    "window_end": "order.window_end",
    "declared_value": "order.declared_value",
    "parcel_count": "order.parcel_count",
    "signature_required": "order.signature_required",
    "safe_drop_allowed": "order.safe_drop_allowed",
    "neighbour_allowed": "order.neighbour_allowed",
    "recipient_external_id": "order.recipient.external_id",
    "recipient_name": "order.recipient.name",
    "phone": "order.recipient.phone",
    "alt_phone": "order.recipient.alt_phone",
    "email": "order.recipient.email",
    "language": "order.recipient.language",
    "preferred_channel": "order.recipient.preferred_channel",
    "tier": "order.recipient.tier",
    "address_ref": "order.address.external_ref",
    "line1": "order.address.line1",
    "line2": "order.address.line2",
    "unit": "order.address.unit",
    "city": "order.address.city",
    "region": "order.address.region",
    "postal_code": "order.address.postal_code",
    "country": "order.address.country",
    "latitude": "order.address.latitude",
    "longitude": "order.address.longitude",
    "building_type": "order.address.building_type",
    "building_notes": "order.address.building_notes",
    "access_code_kind": "order.access_codes[0].kind",
    "access_code": "order.access_codes[0].code",
}
PLAN_CSV_COLUMNS = (*PLAN_CSV_RUN_COLUMNS, *PLAN_CSV_STOP_COLUMNS)
PLAN_CSV_REQUIRED_COLUMNS = (
    "run_ref",
    "driver",
    "shift_start",
    "shift_end",
    "sequence",
    "order_reference",
    "recipient_external_id",
    "recipient_name",
    "phone",
    "address_ref",
    "line1",
    "city",
    "postal_code",
    "latitude",
    "longitude",
)
# Times a person types into a spreadsheet: "08:00" or "2026-11-21 08:00" mean the depot's clock.
_LOCAL_TIME_COLUMNS = {"shift_start", "shift_end", "planned_arrival", "window_start", "window_end"}
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
# Errors on a whole object point at the column that names it.
_CSV_OBJECT_COLUMNS = {
    "order": "order_reference",
    "order.recipient": "recipient_external_id",
    "order.address": "address_ref",
    "order.access_codes": "access_code",
    "order.access_codes[0]": "access_code",
}
_PLAN_PATH = re.compile(r"runs\[(\d+)\](?:\.stops\[(\d+)\])?(?:\.(.+))?")


@dataclass
class _CsvPlan:
    document: Row
    run_lines: list[int]
    stop_lines: list[list[int]]
    problems: list[tuple[int, str, str]]
    header: list[str] = field(default_factory=list)


def _csv_moment(raw: str, service_date: dt.date, zone: dt.tzinfo) -> str:
    clock = _CLOCK.fullmatch(raw)
    if clock:
        hour, minute, second = int(clock[1]), int(clock[2]), int(clock[3] or 0)
        if hour < 24 and minute < 60 and second < 60:
            return dt.datetime.combine(service_date, dt.time(hour, minute, second), tzinfo=zone).isoformat()
        return raw
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        return raw  # the validator reports it, at this row and column
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).isoformat()


def _csv_set(target: Row, path: str, value: str) -> None:
    *parents, name = path.split(".")
    for part in parents:
        if part == "access_codes[0]":
            target = target.setdefault("access_codes", [{}])[0]
        else:
            target = target.setdefault(part, {})
    target[name] = value


def _plan_document_from_csv(text: str, depot: Depot, service_date: dt.date) -> _CsvPlan:
    plan = _CsvPlan({"depot": depot.code, "service_date": service_date.isoformat(), "runs": []}, [], [], [])
    header, rows = _csv_rows(text)
    plan.header = header
    if not header:
        plan.problems.append((0, "", "The file is empty: expected a header row, then one row per stop."))
        return plan
    duplicated = sorted({name for name in header if name and header.count(name) > 1})
    unknown = [name for name in header if name and name not in PLAN_CSV_COLUMNS]
    missing = [name for name in PLAN_CSV_REQUIRED_COLUMNS if name not in header]
    if duplicated:
        plan.problems.append((1, "", f"Columns appear more than once: {', '.join(duplicated)}."))
    if unknown:
        plan.problems.append((1, "", f"Unknown columns: {', '.join(unknown)}. Known: {', '.join(PLAN_CSV_COLUMNS)}."))
    if missing:
        plan.problems.append((1, "", f"Missing columns: {', '.join(missing)}."))
    if plan.problems:
        return plan

    zone = depot.time_zone
    runs: dict[str, tuple[int, Row]] = {}
    for line, raw in rows:
        if raw.get(None):
            plan.problems.append((line, "", "This row has more cells than the header has columns."))
        cells = {
            column: value.strip()
            for column, value in raw.items()
            if column and isinstance(value, str) and value.strip()
        }
        for column in _LOCAL_TIME_COLUMNS & cells.keys():
            cells[column] = _csv_moment(cells[column], service_date, zone)
        ref = cells.get("run_ref", "")
        if ref not in runs:
            run: Row = {"stops": []}
            for column, name in PLAN_CSV_RUN_COLUMNS.items():
                if column in cells:
                    run[name] = cells[column]
            runs[ref] = (len(plan.run_lines), run)
            plan.document["runs"].append(run)
            plan.run_lines.append(line)
            plan.stop_lines.append([])
        index, run = runs[ref]
        for column, name in PLAN_CSV_RUN_COLUMNS.items():
            if column in cells and name in run and cells[column] != run[name]:
                plan.problems.append(
                    (line, column, f"Differs from row {plan.run_lines[index]} of run {ref!r} ({run[name]}).")
                )
        stop: Row = {"order": {"recipient": {}, "address": {}}}
        for column, path in PLAN_CSV_STOP_COLUMNS.items():
            if column in cells:
                _csv_set(stop, path, cells[column])
        run["stops"].append(stop)
        plan.stop_lines[index].append(line)
    if not plan.document["runs"]:
        plan.problems.append((2, "", "The file has a header but no stops."))
    return plan


def _csv_locate(path: str, plan: _CsvPlan) -> tuple[int, str]:
    """The file row and column a plan path came from."""
    match = _PLAN_PATH.fullmatch(path)
    if match is None:
        return 0, {"depot": "depot", "service_date": "service date"}.get(path, "")
    run_index, stop_index, rest = int(match[1]), match[2], match[3] or ""
    if run_index >= len(plan.run_lines):
        return 0, ""
    if stop_index is None:
        by_name = {name: column for column, name in PLAN_CSV_RUN_COLUMNS.items()}
        return plan.run_lines[run_index], by_name.get(rest, "")
    lines = plan.stop_lines[run_index]
    line = lines[int(stop_index)] if int(stop_index) < len(lines) else plan.run_lines[run_index]
    by_path = {path: column for column, path in PLAN_CSV_STOP_COLUMNS.items()}
    if rest in by_path:
        return line, by_path[rest]
    if rest.startswith("order.access_codes[0]."):
        # valid_from/valid_to have no column: the code column is the closest.
        return line, "access_code"
    return line, _CSV_OBJECT_COLUMNS.get(rest, "")


def _csv_message(line: int, column: str, message: str) -> str:
    if line and column:
        return f"Row {line}, {column}: {message}"
    if line:
        return f"Row {line}: {message}"
    if column:
        return f"{column.capitalize()}: {message}"
    return message


def plan_import_csv(*, text: str, depot: Depot, service_date: dt.date, dry_run: bool = False) -> PlanImportResult:
    """Apply a plan uploaded as CSV (one row per stop) for ``depot`` on ``service_date``, all or nothing.

    Raises PlanCsvInvalid with every problem as "Row 14, phone: ..." (rows
    numbered as in a spreadsheet, the header being row 1), or PlanConflict.
    """
    plan = _plan_document_from_csv(text, depot, service_date)
    problems = list(plan.problems)
    if plan.document["runs"]:
        try:
            # With problems already found, a dry run still collects every other error.
            result = plan_import(document=plan.document, dry_run=dry_run or bool(problems))
        except PlanInvalid as invalid:
            for path, messages in invalid.errors.items():
                line, column = _csv_locate(path, plan)
                problems.extend((line, column, message) for message in messages)
    if problems:
        # In file order: by row, then by column as the file has them.
        order = {column: index for index, column in enumerate(plan.header)}
        problems.sort(key=lambda problem: (problem[0], order.get(problem[1], -1)))
        raise PlanCsvInvalid([_csv_message(*problem) for problem in problems])
    return result
