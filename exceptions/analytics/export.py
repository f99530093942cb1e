"""The metrics as CSV, for a spreadsheet: one line for the totals and one per group, each measure a column."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import BaseRenderer

from dispatch.spreadsheet import spreadsheet_rows
from exceptions.analytics.figures import Prevention

# Columns added after the CSV was first published go last, after an area's lat and lng too, in the order they
# were added, so the columns a spreadsheet already reads keep their places. Later measures are named by prefix:
# the endings and value columns (one set per currency) follow the prevention columns.
PREVENTION_FIELDS = tuple(Prevention.__annotations__)
LATER_PREFIXES = (
    "prevention_",
    "outcomes_",
    "rescued_without_dispatcher_",
    "time_to_outcome_",
    "no_touch_by_ending_",
    "value_",
    "cases_unanswered_requests",
)


def _flat(prefix: str, value: Any, into: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for name, item in value.items():
            _flat(f"{prefix}_{name}" if prefix else name, item, into)
    elif isinstance(value, list):
        # The failed-attempt costs, one entry per currency: a column set per currency.
        for entry in value:
            currency = entry.get("currency", "")
            _flat(prefix, {f"{name}_{currency}": item for name, item in entry.items() if name != "currency"}, into)
    else:
        into[prefix] = value


def _measures(measures: dict[str, Any]) -> dict[str, Any]:
    # A group without prevention measures or value (reason codes) has empty cells, not a column of its own.
    if "prevention" in measures and measures["prevention"] is None:
        measures = {**measures, "prevention": dict.fromkeys(PREVENTION_FIELDS)}
    if "value" in measures and measures["value"] is None:
        measures = {**measures, "value": []}
    return measures


def metrics_csv_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The metrics answer as flat rows: the totals first (group "total"), then each group."""
    common = {"from": data.get("from"), "to": data.get("to"), "depots": " ".join(data.get("depots", []))}
    rows: list[dict[str, Any]] = []
    totals: dict[str, Any] = {**common, "group": "total", "key": ""}
    _flat("", _measures(data.get("totals", {})), totals)
    rows.append(totals)
    for group in data.get("groups", []):
        row: dict[str, Any] = {**common, "group": data.get("group_by"), "key": group.get("key")}
        _flat("", _measures({name: item for name, item in group.items() if name != "key"}), row)
        rows.append(row)
    return rows


def metrics_csv_columns(rows: list[dict[str, Any]]) -> list[str]:
    """Every row's columns in order of appearance, the later measures at the end in the order they were added."""
    names = list(dict.fromkeys(name for row in rows for name in row))

    def later(name: str) -> int | None:
        return next((rank for rank, prefix in enumerate(LATER_PREFIXES) if name.startswith(prefix)), None)

    first = [name for name in names if later(name) is None]
    # A stable sort: within one measure the columns keep their order of appearance.
    return first + sorted((name for name in names if later(name) is not None), key=lambda name: later(name) or 0)


class MetricsCsvRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping[str, Any] | None = None
    ) -> bytes:
        rows = metrics_csv_rows(data) if isinstance(data, dict) else []
        columns = metrics_csv_columns(rows)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(spreadsheet_rows(rows))
        return out.getvalue().encode("utf-8")
