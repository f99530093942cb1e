"""The operator: the only module that changes an exception case's state.

Every transition runs inside the caller's transaction, checks the current state
under a row lock, writes its timeline event and schedules side effects on
commit.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from dispatch.models import ScanEvent
from exceptions.models import CaseEvent, ExceptionCase

DEFAULT_SLA = dt.timedelta(minutes=30)


class WorkflowError(Exception):
    """A move the workflow does not allow from the case's current state."""


def case_open(*, scan: ScanEvent) -> ExceptionCase:
    """Open a case for a failed scan, inside the scan's transaction.

    A stop with a case still open keeps that case: the new scan is added to its
    timeline instead of opening a second one.
    """
    reason = scan.reason_code
    if scan.outcome != ScanEvent.Outcome.FAILED or reason is None:
        raise WorkflowError("Only a failed scan with a reason code opens a case.")
    assert transaction.get_connection().in_atomic_block, "case_open must run inside the scan's transaction"

    stop = scan.stop
    existing = ExceptionCase.objects.select_for_update().filter(stop=stop, state__in=ExceptionCase.OPEN_STATES).first()
    now = timezone.now()
    if existing is not None:
        CaseEvent.objects.create(
            case=existing,
            at=now,
            kind=CaseEvent.Kind.SCAN,
            actor=CaseEvent.Actor.DRIVER,
            summary=f"Another failed scan: {reason.code}",
            payload={"scan_id": scan.pk, "reason_code": reason.code},
        )
        return existing

    case = ExceptionCase.objects.create(
        depot_id=stop.run.depot_id,
        stop=stop,
        order_id=stop.order_id,
        scan=scan,
        reason_code=reason,
        opened_at=now,
        sla_due_at=now + DEFAULT_SLA,
    )
    CaseEvent.objects.create(
        case=case,
        at=now,
        kind=CaseEvent.Kind.SCAN,
        actor=CaseEvent.Actor.DRIVER,
        to_state=ExceptionCase.State.OPENED,
        summary=f"Failed scan: {reason.code}",
        payload={"scan_id": scan.pk, "reason_code": reason.code, "attempt": stop.attempt_count},
    )
    return case
