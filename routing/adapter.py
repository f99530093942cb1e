"""The operator's routing port (``exceptions.ports.Routing``) on our own solver.

Called inside the workflow's transaction with the case locked: it only queues
the search for after commit. The answer comes back through
``case_reschedule_confirm`` or ``case_reschedule_fail``; a lost task is caught
by the case's routing timer, which hands it to a dispatcher.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import transaction

from exceptions.ports import RoutingRequest

if TYPE_CHECKING:
    from exceptions.models import ExceptionCase


class SolverRouting:
    def reinsert(
        self, *, case: ExceptionCase, window_start: dt.datetime | None, window_end: dt.datetime | None
    ) -> RoutingRequest:
        from routing.tasks import case_slot_find_task

        case_id = case.pk
        start = window_start.isoformat() if window_start else None
        end = window_end.isoformat() if window_end else None
        transaction.on_commit(lambda: case_slot_find_task.delay(case_id, start, end))
        return RoutingRequest(accepted=True)
