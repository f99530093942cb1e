"""Batched reads and writes for the imports, and the per-depot import lock.

Rows are read with values(), not as model instances: at 10,000 rows, building
models (and parsing every stored phone number back into a PhoneNumber) costs
more than the queries. Lookups and writes take a batch of rows per query.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection, models
from django.db.models.functions import Cast
from phonenumber_field.modelfields import PhoneNumberField

from dispatch.models import Depot
from dispatch.services.plans.fields import Row

LOOKUP_BATCH = 5_000
WRITE_BATCH = 1_000
UPDATE_BATCH = 1_000
# pg_advisory_xact_lock key shared by plan and recipient imports (any constant unique in this project).
IMPORT_LOCK_KEY = 0x504C414E  # "PLAN"


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
    """Hold the depot's import lock (plans and recipients alike) until the transaction ends.

    Two concurrent imports creating the same external_id would otherwise race to a unique violation.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [IMPORT_LOCK_KEY, depot.pk])
