"""The desk's door: what the rest of the product tells it.

The domain calls in through its port (``dispatch.ports.Desk``: a failed or delivered scan, a planned day);
this module answers it with the workflow and the risk scoring, so nothing below the desk imports them.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import transaction

from dispatch.ports import CaseOpened
from exceptions.tasks import risk_score_plan_task
from exceptions.workflow import case_open, case_stop_delivered

if TYPE_CHECKING:
    from dispatch.models import Depot, ScanEvent


class Inbox:
    """``dispatch.ports.Desk``, answered by the workflow."""

    def scan_failed(self, *, scan: ScanEvent, first_failure: bool) -> CaseOpened | None:
        case = case_open(scan=scan, first_failure=first_failure)
        return CaseOpened(case_id=case.pk, new=case.scan_id == scan.pk)

    def scan_delivered(self, *, scan: ScanEvent) -> None:
        case_stop_delivered(scan=scan)

    def day_planned(self, *, depot: Depot, service_date: dt.date) -> None:
        depot_id, day = depot.pk, service_date.isoformat()
        transaction.on_commit(lambda: risk_score_plan_task.delay(depot_id, day), robust=True)
