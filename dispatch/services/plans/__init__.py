"""Plan import: one depot's service day from the route planner or order system, and CRM recipient preferences.

Each module builds on the ones above it:

* ``fields``: one parser per kind of value, the field spec of each object, a CSV file read as rows.
* ``rows``: batched lookups, inserts and updates; the per-depot import lock.
* ``parse``: a plan document into runs and stops, every error by JSON path.
* ``check``: what the plan refers to in the database, and the errors only the database shows.
* ``apply``: ``plan_import``, all or nothing; how a plan is applied is told there.
* ``csv_plan``: the same plan from a CSV file, every problem by row and column.
* ``recipients``: CRM recipient preferences, each row on its own (uses ``fields`` and ``rows`` only).

The names other code uses are re-exported here, and the internals the tests and
bench/plan_import.py reach for (``_F``, ``_text``, ``_date``, ``_e164``, ``_parse_plan``).
"""

from dispatch.services.plans.apply import (
    SEQUENCE_CONSTRAINT,
    PlanConflict,
    PlanImportResult,
    PlanInvalid,
    PlanRefused,
    plan_import,
)
from dispatch.services.plans.csv_plan import (
    PLAN_CSV_COLUMNS,
    PLAN_CSV_REQUIRED_COLUMNS,
    PlanCsvInvalid,
    plan_import_csv,
)
from dispatch.services.plans.fields import _F as _F
from dispatch.services.plans.fields import (
    ACCESS_CODE_FIELDS,
    ADDRESS_FIELDS,
    DATETIME_FORMAT_MESSAGE,
    ORDER_FIELDS,
    RECIPIENT_FIELDS,
    RECIPIENT_IMPORT_FIELDS,
    RUN_FIELDS,
    STOP_FIELDS,
)
from dispatch.services.plans.fields import _date as _date
from dispatch.services.plans.fields import _e164 as _e164
from dispatch.services.plans.fields import _text as _text
from dispatch.services.plans.parse import MAX_STOPS
from dispatch.services.plans.parse import _parse_plan as _parse_plan
from dispatch.services.plans.recipients import (
    MAX_RECIPIENT_ROWS,
    OPT_IN_REFUSED,
    RecipientImportInvalid,
    RecipientImportResult,
    recipient_rows_from_csv,
    recipients_import,
)

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
