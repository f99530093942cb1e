"""Recipient preferences from a CRM export (JSON rows or a CSV file): each row on its own.

A depot's recipients are created or updated by ``external_id``; a bad row is
reported and skipped, the others applied. The import takes the depot's import
lock, as a plan does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from dispatch.models import Depot, Recipient
from dispatch.services.plans.fields import RECIPIENT_IMPORT_FIELDS, Errors, Row, _csv_rows, _parse_object, _type_name
from dispatch.services.plans.rows import _changes, _insert_rows, _lock_imports, _rows_by, _update_rows

MAX_RECIPIENT_ROWS = 50_000
RECIPIENT_CSV_COLUMNS = tuple(RECIPIENT_IMPORT_FIELDS)
OPT_IN_REFUSED = (
    "Not changed: this recipient opted out (e.g. replied STOP). Only the recipient can opt back in, by replying START."
)


class RecipientImportInvalid(Exception):
    """The request as a whole is unusable (not a list, bad CSV header); nothing was written."""

    def __init__(self, errors: Errors) -> None:
        super().__init__("The recipient import is invalid.")
        self.errors = errors


@dataclass(frozen=True)
class RecipientImportResult:
    created: int
    updated: int
    unchanged: int
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]


def recipient_rows_from_csv(*, text: str) -> tuple[list[Row], list[int]]:
    """CSV rows (header = field names, empty cell = not given) and their line numbers in the file."""
    header, rows = _csv_rows(text)
    unknown = [name for name in header if name and name not in RECIPIENT_CSV_COLUMNS]
    if not header or "external_id" not in header or unknown:
        message = f"Expected a header row with external_id and any of: {', '.join(RECIPIENT_CSV_COLUMNS)}."
        if unknown:
            message = f"Unknown columns: {', '.join(unknown)}. {message}"
        raise RecipientImportInvalid({"non_field_errors": [message]})
    parsed: list[Row] = []
    lines: list[int] = []
    for line, raw in rows:
        parsed.append(
            {column: value for column, value in raw.items() if column and isinstance(value, str) and value.strip()}
        )
        lines.append(line)
    return parsed, lines


def recipients_import(*, rows: Any, depot: Depot, lines: Sequence[int] | None = None) -> RecipientImportResult:
    """Create or update ``depot``'s recipients by ``external_id``; a bad row is reported and skipped, the others
    applied. Another depot's recipient with the same id is neither read nor touched (``dispatch.tenancy``).

    Each error and warning names its row: the index in ``rows``, or the file
    line from ``lines`` for a CSV. A CRM export can opt a recipient out (which
    stamps ``opted_out_at``) but never back in: consent to texts comes back
    only from the recipient (START), so that field is left alone with a warning.
    """
    if not isinstance(rows, list):
        raise RecipientImportInvalid({"recipients": [f'Expected a list of items but got type "{_type_name(rows)}".']})
    if len(rows) > MAX_RECIPIENT_ROWS:
        raise RecipientImportInvalid(
            {"recipients": [f"Ensure this list has no more than {MAX_RECIPIENT_ROWS:,} items."]}
        )
    errors: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    valid: dict[str, tuple[int, Row]] = {}
    for index, raw in enumerate(rows):
        row_number = lines[index] if lines is not None else index
        field_errors: Errors = {}
        row = _parse_object(raw, RECIPIENT_IMPORT_FIELDS, "", field_errors)
        external_id = (row or {}).get("external_id")
        if external_id is not None and external_id in valid:
            field_errors.setdefault("external_id", []).append(
                f"Also in row {valid[external_id][0]}: each recipient once per import."
            )
        if field_errors or row is None or external_id is None:
            raw_id = raw.get("external_id") if isinstance(raw, dict) else None
            errors.append({"row": row_number, "external_id": external_id or raw_id, "fields": field_errors})
            continue
        valid[external_id] = (row_number, row)

    created = updated = unchanged = 0
    now = timezone.now()
    with transaction.atomic():
        _lock_imports(depot)
        # Locked: an inbound STOP must not be overwritten by a write based on what we read before it.
        columns = [name for name in RECIPIENT_IMPORT_FIELDS if name != "external_id"] + ["opted_out_at"]
        existing = _rows_by(Recipient.objects.select_for_update().filter(depot=depot), "external_id", valid, columns)
        new: list[Row] = []
        changes: list[tuple[int, Row]] = []
        for external_id, (row_number, values) in valid.items():
            stored = existing.get(external_id)
            if stored is None:
                if "name" not in values:
                    errors.append(
                        {
                            "row": row_number,
                            "external_id": external_id,
                            "fields": {"name": ["This field is required to create a recipient."]},
                        }
                    )
                    continue
                if values.get("opted_out"):
                    values["opted_out_at"] = now
                new.append({**values, "depot_id": depot.pk})
                continue
            if "opted_out" in values and values["opted_out"] != stored["opted_out"]:
                if values["opted_out"]:
                    values["opted_out_at"] = now
                else:
                    del values["opted_out"]
                    warnings.append(
                        {"row": row_number, "external_id": external_id, "fields": {"opted_out": [OPT_IN_REFUSED]}}
                    )
            changed = _changes(stored, {name: value for name, value in values.items() if name != "external_id"})
            changes.append((stored["id"], changed))
            if changed:
                updated += 1
            else:
                unchanged += 1
        _insert_rows(Recipient, new, now)
        _update_rows(Recipient, changes, now)
        created = len(new)
    errors.sort(key=lambda error: error["row"])
    warnings.sort(key=lambda warning: warning["row"])
    return RecipientImportResult(
        created=created, updated=updated, unchanged=unchanged, errors=errors, warnings=warnings
    )
