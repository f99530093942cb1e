"""The delivery domain's admins, importable from one place: people, runs, places and scans, and what they share."""

from dispatch.admin.common import EMPTY, ReadOnlyInline
from dispatch.admin.people import (
    OPEN_ORDER_STATUSES,
    RECENT_RUN_DAYS,
    DepotAdmin,
    DriverAdmin,
    RecentRunInline,
    UserAdmin,
)
from dispatch.admin.places import (
    CREDENTIAL_COUNTERS,
    AccessCredentialAdmin,
    AccessCredentialForm,
    AccessCredentialInline,
    AddressAdmin,
    CredentialHealthFilter,
    RecipientAdmin,
)
from dispatch.admin.runs import OrderAdmin, OrderStopInline, RunAdmin, RunStopInline, StopAdmin, StopScanInline
from dispatch.admin.scans import ReasonCodeAdmin, ScanEventAdmin

__all__ = [
    "CREDENTIAL_COUNTERS",
    "EMPTY",
    "OPEN_ORDER_STATUSES",
    "RECENT_RUN_DAYS",
    "AccessCredentialAdmin",
    "AccessCredentialForm",
    "AccessCredentialInline",
    "AddressAdmin",
    "CredentialHealthFilter",
    "DepotAdmin",
    "DriverAdmin",
    "OrderAdmin",
    "OrderStopInline",
    "ReadOnlyInline",
    "ReasonCodeAdmin",
    "RecentRunInline",
    "RecipientAdmin",
    "RunAdmin",
    "RunStopInline",
    "ScanEventAdmin",
    "StopAdmin",
    "StopScanInline",
    "UserAdmin",
]
