"""Plan import: one depot's service day from the route planner or order system, and CRM recipient preferences.

The names other code uses are re-exported here, and the internals the tests and
bench/plan_import.py reach for (``_F``, ``_text``, ``_date``, ``_e164``, ``_parse_plan``).
"""

from dispatch.services.plans.apply import _F as _F
from dispatch.services.plans.apply import (
    ACCESS_CODE_FIELDS,
    ADDRESS_FIELDS,
    DATETIME_FORMAT_MESSAGE,
    MAX_RECIPIENT_ROWS,
    MAX_STOPS,
    OPT_IN_REFUSED,
    ORDER_FIELDS,
    PLAN_CSV_COLUMNS,
    PLAN_CSV_REQUIRED_COLUMNS,
    RECIPIENT_FIELDS,
    RECIPIENT_IMPORT_FIELDS,
    RUN_FIELDS,
    SEQUENCE_CONSTRAINT,
    STOP_FIELDS,
    PlanConflict,
    PlanCsvInvalid,
    PlanImportResult,
    PlanInvalid,
    PlanRefused,
    RecipientImportInvalid,
    RecipientImportResult,
    plan_import,
    plan_import_csv,
    recipient_rows_from_csv,
    recipients_import,
)
from dispatch.services.plans.apply import _date as _date
from dispatch.services.plans.apply import _e164 as _e164
from dispatch.services.plans.apply import _parse_plan as _parse_plan
from dispatch.services.plans.apply import _text as _text

__all__ = [
    "ACCESS_CODE_FIELDS",
    "ADDRESS_FIELDS",
    "DATETIME_FORMAT_MESSAGE",
    "MAX_RECIPIENT_ROWS",
    "MAX_STOPS",
    "OPT_IN_REFUSED",
    "ORDER_FIELDS",
    "PLAN_CSV_COLUMNS",
    "PLAN_CSV_REQUIRED_COLUMNS",
    "RECIPIENT_FIELDS",
    "RECIPIENT_IMPORT_FIELDS",
    "RUN_FIELDS",
    "SEQUENCE_CONSTRAINT",
    "STOP_FIELDS",
    "PlanConflict",
    "PlanCsvInvalid",
    "PlanImportResult",
    "PlanInvalid",
    "PlanRefused",
    "RecipientImportInvalid",
    "RecipientImportResult",
    "plan_import",
    "plan_import_csv",
    "recipient_rows_from_csv",
    "recipients_import",
]
