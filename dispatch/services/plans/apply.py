"""Plan import: one depot's service day from the route planner or order system, and CRM recipient preferences.

How a plan is applied
---------------------
``plan_import`` takes one JSON document (runs, stops in sequence, orders,
recipients, addresses, access codes) and either applies all of it in one
transaction or nothing, with every problem reported by its JSON path
(``runs[3].stops[12].order.recipient.phone``).

* Validation is plain Python, not nested DRF serializers: on a 10,000-stop
  plan (~250,000 values) those take ~3 s on a quiet 2-core machine before any
  phone number or database check, 3x this module with them
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

import csv
import datetime as dt
import functools
import io
import math
import re
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, models, transaction
from django.db.models.functions import Cast
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField

from dispatch.models import (
    AccessCredential,
    Address,
    Depot,
    Driver,
    DriverInstruction,
    Order,
    Recipient,
    Run,
    Stop,
    order_reference_validator,
)
from dispatch.services.instructions import instruction_push

Row = dict[str, Any]
Errors = dict[str, list[str]]

MAX_RUNS = 500
MAX_STOPS = 50_000
MAX_RECIPIENT_ROWS = 50_000
MAX_SEQUENCE = 1_000_000
LOOKUP_BATCH = 5_000
WRITE_BATCH = 1_000
UPDATE_BATCH = 1_000
SEQUENCE_CONSTRAINT = "stop_sequence_unique_in_run"
PARKED_SHIFT_OFFSET = dt.timedelta(days=365 * 100)
# pg_advisory_xact_lock key shared by plan and recipient imports (any constant unique in this project).
IMPORT_LOCK_KEY = 0x504C414E  # "PLAN"

# A stop in one of these states, or with an attempt counted, belongs to what
# happened on the road, not to the plan: an import never changes it.
REPLANNABLE_STOP_STATUSES = (Stop.Status.PENDING, Stop.Status.CANCELLED)
FINAL_ORDER_STATUSES = (Order.Status.DELIVERED, Order.Status.RETURNED, Order.Status.CANCELLED)


class PlanInvalid(Exception):
    """Nothing was written. ``errors`` maps the JSON path of each bad value to its messages."""

    def __init__(self, errors: Errors) -> None:
        super().__init__(f"The plan has {sum(len(messages) for messages in errors.values())} errors.")
        self.errors = errors


class PlanRefused(Exception):
    """The caller may not import a plan for this depot."""


class PlanConflict(Exception):
    """The database refused the write (a concurrent change); nothing was written. Safe to retry."""


class PlanCsvInvalid(Exception):
    """A CSV plan was not applied; ``messages`` read "Row 14, phone: ..." in file order."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__(f"The CSV plan has {len(messages)} errors.")
        self.messages = messages


# ---------------------------------------------------------------------------
# Values: one parser per kind, raising _Invalid with DRF's wording.
# ---------------------------------------------------------------------------


class _Invalid(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


Parse = Callable[[Any], Any]

_FORBIDDEN_CHARACTERS = re.compile("[\x00\ud800-\udfff]")
_INTEGER = re.compile(r"\s*[-+]?\d{1,12}\s*")
_TRUE = {"true", "t", "yes", "y", "on", "1"}
_FALSE = {"false", "f", "no", "n", "off", "0"}
DATETIME_FORMAT_MESSAGE = (
    "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)
PHONE_MESSAGE = "The phone number entered is not valid."


def _text(max_length: int, *, blank: bool = False, validator: Callable[[str], None] | None = None) -> Parse:
    def parse(value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            raise _Invalid("Not a valid string.")
        text = str(value).strip()
        if not text:
            if blank:
                return ""
            raise _Invalid("This field may not be blank.")
        if len(text) > max_length:
            raise _Invalid(f"Ensure this field has no more than {max_length} characters.")
        bad = _FORBIDDEN_CHARACTERS.search(text)
        if bad:
            char = bad.group()
            raise _Invalid(
                "Null characters are not allowed."
                if char == "\x00"
                else f"Surrogate characters are not allowed: U+{ord(char):X}."
            )
        if validator is not None:
            try:
                validator(text)
            except DjangoValidationError as error:
                raise _Invalid(error.messages[0]) from None
        return text

    return parse


def _choice(choices: type[models.TextChoices]) -> Parse:
    allowed = set(choices.values)

    def parse(value: Any) -> str:
        text = value.strip() if isinstance(value, str) else value
        if not isinstance(text, str) or text not in allowed:
            raise _Invalid(f'"{value}" is not a valid choice. Choose one of: {", ".join(choices.values)}.')
        return text

    return parse


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise _Invalid("Must be a valid boolean.")


def _integer(minimum: int, maximum: int) -> Parse:
    def parse(value: Any) -> int:
        if isinstance(value, bool):
            raise _Invalid("A valid integer is required.")
        whole = (
            isinstance(value, int)
            or (isinstance(value, float) and value.is_integer())
            or (isinstance(value, str) and _INTEGER.fullmatch(value) is not None)
        )
        if not whole:
            raise _Invalid("A valid integer is required.")
        number = int(value)
        if number < minimum:
            raise _Invalid(f"Ensure this value is greater than or equal to {minimum}.")
        if number > maximum:
            raise _Invalid(f"Ensure this value is less than or equal to {maximum}.")
        return number

    return parse


def _coordinate(limit: float, message: str) -> Parse:
    def parse(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            raise _Invalid("A valid number is required.")
        try:
            number = float(value)
        except ValueError:
            raise _Invalid("A valid number is required.") from None
        if not math.isfinite(number):
            raise _Invalid("A valid number is required.")
        if not -limit <= number <= limit:
            raise _Invalid(message)
        return number

    return parse


def _money(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise _Invalid("A valid number is required.")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise _Invalid("A valid number is required.") from None
    if not number.is_finite():
        raise _Invalid("A valid number is required.")
    if number < 0:
        raise _Invalid("Ensure this value is greater than or equal to 0.")
    if number >= Decimal("100000000"):
        raise _Invalid("Ensure that there are no more than 10 digits in total.")
    cents = number.quantize(Decimal("0.01"))
    if cents != number:
        raise _Invalid("Ensure that there are no more than 2 decimal places.")
    return cents


def _aware_datetime(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise _Invalid(DATETIME_FORMAT_MESSAGE)
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise _Invalid(DATETIME_FORMAT_MESSAGE) from None
    if moment.utcoffset() is None:
        raise _Invalid("Include the UTC offset, e.g. 2026-11-21T08:00:00-06:00 or 2026-11-21T14:00:00Z.")
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:
        raise _Invalid("Datetime is out of range.") from None


def _date(value: Any) -> dt.date:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _Invalid("Date has wrong format. Use one of these formats instead: YYYY-MM-DD.")


def _time(value: Any) -> dt.time:
    if isinstance(value, str):
        try:
            moment = dt.time.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                return moment
    raise _Invalid("Time has wrong format. Use one of these formats instead: hh:mm[:ss].")


_NANP_E164 = re.compile(r"\+1\d{10}")


@functools.lru_cache(maxsize=100_000)
def _e164(raw: str, region: str) -> str | None:
    """The number in E.164, or None if it is not a valid phone number."""
    if _NANP_E164.fullmatch(raw):
        # Already "+1" and ten digits (most of what planners send): what parse() would build, 30 us sooner.
        number = phonenumbers.PhoneNumber(country_code=1, national_number=int(raw[2:]))
    else:
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            return None
    # Same answer as is_valid_number alone, faster: that one tries each of the ~25 regions sharing +1.
    if not (phonenumbers.is_valid_number_for_region(number, region) or phonenumbers.is_valid_number(number)):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _phone(*, blank: bool) -> Parse:
    text = _text(32, blank=blank)

    def parse(value: Any) -> str:
        raw = text(value)
        if not raw:
            return ""
        number = _e164(raw, settings.PHONENUMBER_DEFAULT_REGION)
        if number is None:
            raise _Invalid(PHONE_MESSAGE)
        return number

    return parse


def _email(value: Any) -> str:
    return _text(254, blank=True, validator=validate_email)(value)


def _country(value: Any) -> str:
    code = _text(2)(value).upper()
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise _Invalid("Use a two-letter ISO 3166 country code, e.g. US.")
    return code


_ZONES: set[str] = set()


def _time_zone(value: Any) -> str:
    if not _ZONES:
        _ZONES.update(zoneinfo.available_timezones())
    name = _text(64)(value)
    if name not in _ZONES:
        raise _Invalid("A valid IANA time zone is required, e.g. America/Chicago.")
    return name


@dataclass(frozen=True)
class _F:
    parse: Parse
    required: bool = False
    nullable: bool = False


RUN_FIELDS: dict[str, _F] = {
    "external_ref": _F(_text(64), required=True),
    "driver": _F(_text(150), required=True),
    "shift_start": _F(_aware_datetime, required=True),
    "shift_end": _F(_aware_datetime, required=True),
}
STOP_FIELDS: dict[str, _F] = {
    "sequence": _F(_integer(1, MAX_SEQUENCE), required=True),
    "planned_arrival": _F(_aware_datetime, nullable=True),
    "service_minutes": _F(_integer(0, 600)),
}
ORDER_FIELDS: dict[str, _F] = {
    "reference": _F(_text(40, validator=order_reference_validator), required=True),
    "window_start": _F(_aware_datetime, nullable=True),
    "window_end": _F(_aware_datetime, nullable=True),
    "declared_value": _F(_money),
    "parcel_count": _F(_integer(1, 10_000)),
    "signature_required": _F(_boolean),
    "safe_drop_allowed": _F(_boolean),
    "neighbour_allowed": _F(_boolean),
}
RECIPIENT_FIELDS: dict[str, _F] = {
    "external_id": _F(_text(64), required=True),
    "name": _F(_text(120), required=True),
    "phone": _F(_phone(blank=False), required=True),
    "alt_phone": _F(_phone(blank=True)),
    "email": _F(_email),
    "language": _F(_choice(Recipient.Language)),
    "preferred_channel": _F(_choice(Recipient.Channel)),
    "tier": _F(_choice(Recipient.Tier)),
}
ADDRESS_FIELDS: dict[str, _F] = {
    "external_ref": _F(_text(64), required=True),
    "line1": _F(_text(200), required=True),
    "line2": _F(_text(200, blank=True)),
    "unit": _F(_text(32, blank=True)),
    "city": _F(_text(100), required=True),
    "region": _F(_text(64, blank=True)),
    "postal_code": _F(_text(16), required=True),
    "country": _F(_country),
    "latitude": _F(_coordinate(90, "Latitude must be between -90 and 90."), required=True),
    "longitude": _F(_coordinate(180, "Longitude must be between -180 and 180."), required=True),
    "building_type": _F(_choice(Address.BuildingType)),
    "building_notes": _F(_text(2000, blank=True)),
}
ACCESS_CODE_FIELDS: dict[str, _F] = {
    "kind": _F(_choice(AccessCredential.Kind), required=True),
    "code": _F(_text(200), required=True),
    "valid_from": _F(_aware_datetime, nullable=True),
    "valid_to": _F(_aware_datetime, nullable=True),
}
RECIPIENT_IMPORT_FIELDS: dict[str, _F] = {
    "external_id": _F(_text(64), required=True),
    "name": _F(_text(120)),
    "phone": _F(_phone(blank=True)),
    "alt_phone": _F(_phone(blank=True)),
    "email": _F(_email),
    "language": _F(_choice(Recipient.Language)),
    "preferred_channel": _F(_choice(Recipient.Channel)),
    "tier": _F(_choice(Recipient.Tier)),
    "quiet_hours_start": _F(_time),
    "quiet_hours_end": _F(_time),
    "time_zone": _F(_time_zone, nullable=True),
    "opted_out": _F(_boolean),
}


def _type_name(value: Any) -> str:
    return {dict: "dict", list: "list", str: "str", int: "int", float: "float", bool: "bool"}.get(
        type(value), type(value).__name__
    )


def _parse_object(value: Any, spec: dict[str, _F], path: str, errors: Errors) -> Row | None:
    """The valid fields of one object; each bad or missing field is added to ``errors`` under its path."""
    if not isinstance(value, dict):
        errors[path or "non_field_errors"] = [f"Invalid data. Expected a dictionary, but got {_type_name(value)}."]
        return None
    row: Row = {}
    prefix = f"{path}." if path else ""
    for name, spec_field in spec.items():
        if name not in value:
            if spec_field.required:
                errors[prefix + name] = ["This field is required."]
            continue
        raw = value[name]
        if raw is None:
            if spec_field.nullable:
                row[name] = None
            else:
                errors[prefix + name] = ["This field may not be null."]
            continue
        try:
            row[name] = spec_field.parse(raw)
        except _Invalid as invalid:
            errors[prefix + name] = [invalid.message]
    return row


def _parse_list(value: Any, path: str, errors: Errors, *, allow_empty: bool = True, limit: int) -> list[Any]:
    if value is None:
        errors[path] = ["This field may not be null."]
        return []
    if not isinstance(value, list):
        errors[path] = [f'Expected a list of items but got type "{_type_name(value)}".']
        return []
    if not value and not allow_empty:
        errors[path] = ["This list may not be empty."]
    if len(value) > limit:
        errors[path] = [f"Ensure this list has no more than {limit:,} items."]
        return []
    return value


def _check_window(
    row: Row | None, start: str, end: str, path: str, errors: Errors, label: str, *, both: bool = False
) -> None:
    """``start`` before ``end`` when both are set; with ``both``, one may not come without the other."""
    if row is None:
        return
    if both and (start in row) != (end in row):
        missing = end if start in row else start
        errors.setdefault(f"{path}.{missing}", []).append(f"Give both {start} and {end}, or neither.")
    elif row.get(start) is not None and row.get(end) is not None and row[start] >= row[end]:
        errors.setdefault(f"{path}.{end}", []).append(f"The {label} must start before it ends.")


# ---------------------------------------------------------------------------
# The document, parsed.
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Database helpers. Rows are read with values(), not as model instances: at
# 10,000 rows, building models (and parsing every stored phone number back
# into a PhoneNumber) costs more than the queries.
# ---------------------------------------------------------------------------


def _chunks(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _rows_by(
    queryset: models.QuerySet[Any], lookup: str, keys: Iterable[Any], columns: Sequence[str]
) -> dict[Any, Row]:
    """``columns`` (and ``id``) of the rows whose ``lookup`` is in ``keys``, keyed by it: one query per batch."""
    model = queryset.model
    phones = [
        name for name in columns if "__" not in name and isinstance(model._meta.get_field(name), PhoneNumberField)
    ]
    # Phone numbers as their stored E.164 text, not parsed back into PhoneNumber objects.
    queryset = queryset.annotate(**{f"{name}_as_text": Cast(name, models.TextField()) for name in phones})
    selected = ["id", lookup, *(f"{name}_as_text" if name in phones else name for name in columns)]
    found: dict[Any, Row] = {}
    wanted = sorted(set(keys))
    for chunk in _chunks(wanted, LOOKUP_BATCH):
        for row in queryset.filter(**{f"{lookup}__in": chunk}).values(*selected):
            for name in phones:
                row[name] = row.pop(f"{name}_as_text") or ""
            found[row[lookup]] = row
    return found


def _stored(value: Any) -> Any:
    # ZoneInfo values compare as their IANA name.
    if value is None or isinstance(value, str | int | float | Decimal | bool | dt.datetime | dt.date | dt.time):
        return value
    return str(value)


def _changes(stored: Row, values: Row) -> Row:
    return {name: value for name, value in values.items() if _stored(stored[name]) != value}


def _update_rows(model: type[models.Model], changes: Iterable[tuple[int, Row]], now: dt.datetime | None = None) -> None:
    """Write each row's changed values: one UPDATE ... FROM (VALUES ...) per batch and set of changed fields.

    Django's bulk_update builds a CASE WHEN expression per row and field, which
    at this size costs several times more than the update itself.
    """
    groups: dict[tuple[str, ...], list[tuple[int, Row]]] = defaultdict(list)
    for pk, values in changes:
        if values:
            groups[tuple(sorted(values))].append((pk, values))
    meta = model._meta
    quote = connection.ops.quote_name
    stamped = now is not None and any(f.name == "updated_at" for f in meta.concrete_fields)
    for names, rows in groups.items():
        concrete = [_concrete(model, name) for name in names]
        if stamped:
            concrete.append(_concrete(model, "updated_at"))
        quoted = [quote(str(f.column)) for f in concrete]
        columns = ", ".join(quoted)
        assignments = ", ".join(f"{c} = v.{c}::{f.db_type(connection)}" for c, f in zip(quoted, concrete, strict=True))
        placeholder = "(" + ", ".join(["%s"] * (len(concrete) + 1)) + ")"
        for batch in _chunks(rows, UPDATE_BATCH):
            params: list[Any] = []
            for pk, values in batch:
                params.append(pk)
                for f in concrete:
                    value = now if f.name == "updated_at" and stamped else values[_name_in(values, f)]
                    params.append(f.get_db_prep_save(value, connection))
            sql = (
                f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "  # noqa: S608 (identifiers from model meta)
                f"FROM (VALUES {', '.join([placeholder] * len(batch))}) AS v(id, {columns}) "
                f"WHERE t.{quote(str(meta.pk.column))} = v.id"
            )
            with connection.cursor() as cursor:
                cursor.execute(sql, params)


# Fields whose values the import already holds in database form (phone numbers as validated E.164 text),
# so psycopg2 can take them as they are. Any other field goes through get_db_prep_save.
_AS_IS_FIELDS = (
    models.BigIntegerField,
    models.BooleanField,
    models.CharField,
    models.DateField,
    models.DateTimeField,
    models.DecimalField,
    models.FloatField,
    models.ForeignKey,
    models.IntegerField,
    models.PositiveIntegerField,
    models.TextField,
    models.TimeField,
    PhoneNumberField,
)


def _constant(value: Any) -> Any:
    return value


def _insert_rows(model: type[models.Model], rows: list[Row], now: dt.datetime) -> list[int]:
    """Insert rows (dicts by field name or attname; missing fields take their defaults); return their ids.

    bulk_create spends ~10x the database's time preparing values field by field
    (and re-parsing every phone number); these values are already validated.
    """
    meta = model._meta
    quote = connection.ops.quote_name
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    defaults: list[Callable[[], Any]] = []
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            defaults.append(lambda: now)
        elif f.has_default() and callable(f.default):
            defaults.append(f.get_default)
        else:
            defaults.append(functools.partial(_constant, f.get_default()))
    as_is = [type(f) in _AS_IS_FIELDS for f in fields]
    columns = ", ".join(quote(str(f.column)) for f in fields)
    # One array per column: Postgres parses that much faster than a VALUES list of the same rows.
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608 (identifiers from model meta)
        f"SELECT * FROM unnest({arrays}) RETURNING {quote(str(meta.pk.column))}"
    )
    ids: list[int] = []
    for batch in _chunks(rows, WRITE_BATCH):
        values: list[list[Any]] = [[] for _ in fields]
        for row in batch:
            for column, f, default, plain in zip(values, fields, defaults, as_is, strict=True):
                if f.attname in row:
                    value = row[f.attname]
                elif f.name in row:
                    value = row[f.name]
                else:
                    value = default()
                column.append(value if plain else f.get_db_prep_save(value, connection))
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
            # Rows come back in unnest order (Django's own bulk_create relies on it too).
            ids.extend(row[0] for row in cursor.fetchall())
    return ids


def _name_in(values: Row, field: models.Field[Any, Any]) -> str:
    return field.attname if field.attname in values else field.name


def _concrete(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    found = model._meta.get_field(name)
    if not isinstance(found, models.Field) or not found.concrete:
        raise ValueError(f"{model.__name__}.{name} is not a column.")
    return found


def _lock_imports(depot: Depot) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [IMPORT_LOCK_KEY, depot.pk])


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
                text="Dispatch updated your route: check the new stop order.",
                payload={"run_id": run.pk, "plan_version": run.plan_version},
            )

    if not dry_run:
        from exceptions.tasks import risk_score_plan_task

        # The day's stops are scored for pre-arrival outreach once the plan is in.
        day = service_date.isoformat()
        transaction.on_commit(lambda: risk_score_plan_task.delay(depot.pk, day), robust=True)

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


# ---------------------------------------------------------------------------
# The same plan from a CSV file (admin upload): one row per stop.
# ---------------------------------------------------------------------------

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


def _csv_rows(text: str) -> tuple[list[str], Iterator[tuple[int, dict[str | Any, Any]]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in (reader.fieldnames or [])]
    reader.fieldnames = header

    def rows() -> Iterator[tuple[int, dict[str | Any, Any]]]:
        for raw in reader:
            if any((value or "").strip() for key, value in raw.items() if key is not None):
                yield reader.line_num, raw

    return header, rows()


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


# ---------------------------------------------------------------------------
# Recipient preferences from a CRM export: each row on its own.
# ---------------------------------------------------------------------------

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
