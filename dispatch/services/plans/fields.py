"""Values in a plan or a CRM export: one parser per kind, raising _Invalid with DRF's wording.

Each object a plan holds (run, stop, order, recipient, address, access code) has
a field spec here, and so do the rows of a recipient import; ``_parse_object``
reads one object against its spec and reports every bad or missing field under
its JSON path. ``_csv_rows`` reads a CSV file (a plan or a CRM export) as rows
of cells with their line numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import math
import re
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email

from dispatch.models import AccessCredential, Address, Recipient, languages, order_reference_validator

Row = dict[str, Any]
Errors = dict[str, list[str]]

MAX_SEQUENCE = 1_000_000


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


def _choice(values: list[str]) -> Parse:
    allowed = set(values)

    def parse(value: Any) -> str:
        text = value.strip() if isinstance(value, str) else value
        if not isinstance(text, str) or text not in allowed:
            raise _Invalid(f'"{value}" is not a valid choice. Choose one of: {", ".join(values)}.')
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
    "language": _F(_choice([code for code, _ in languages()])),
    "preferred_channel": _F(_choice(Recipient.Channel.values)),
    "tier": _F(_choice(Recipient.Tier.values)),
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
    "building_type": _F(_choice(Address.BuildingType.values)),
    "building_notes": _F(_text(2000, blank=True)),
}
ACCESS_CODE_FIELDS: dict[str, _F] = {
    "kind": _F(_choice(AccessCredential.Kind.values), required=True),
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
    "language": _F(_choice([code for code, _ in languages()])),
    "preferred_channel": _F(_choice(Recipient.Channel.values)),
    "tier": _F(_choice(Recipient.Tier.values)),
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


def _csv_rows(text: str) -> tuple[list[str], Iterator[tuple[int, dict[str | Any, Any]]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in (reader.fieldnames or [])]
    reader.fieldnames = header

    def rows() -> Iterator[tuple[int, dict[str | Any, Any]]]:
        for raw in reader:
            if any((value or "").strip() for key, value in raw.items() if key is not None):
                yield reader.line_num, raw

    return header, rows()
