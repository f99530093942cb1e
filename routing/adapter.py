"""Our own solver behind the desk's routing port (``exceptions.ports.Routing``) and the domain's
(``dispatch.ports.Routing``: an admin's re-sequence).

Called inside the workflow's transaction with the case locked: it only queues
the search for after commit. The answer comes back through
``case_reschedule_confirm`` or ``case_reschedule_fail``. A search whose task
was lost (Redis down at the commit, a worker killed) is asked again by the
relay (``slot_requests_unanswered``, swept by beat) until the case's routing
timer hands the case to a dispatcher.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from exceptions.ports import RoutingRequest

if TYPE_CHECKING:
    from exceptions.models import ExceptionCase

# A search answers within seconds; one unanswered after this is taken as lost and asked again.
SLOT_FIND_GRACE = dt.timedelta(seconds=60)
RELAY_BATCH = 200


class SolverRouting:
    def reinsert(
        self, *, case: ExceptionCase, window_start: dt.datetime | None, window_end: dt.datetime | None
    ) -> RoutingRequest:
        from routing.tasks import case_slot_find_task

        case_id = case.pk
        start = window_start.isoformat() if window_start else None
        end = window_end.isoformat() if window_end else None
        # Robust: a broker that is down must not fail the caller's committed change, nor skip the
        # callbacks after this one (the board's event); the relay asks again.
        transaction.on_commit(lambda: case_slot_find_task.delay(case_id, start, end), robust=True)
        return RoutingRequest(accepted=True)

    def stop_window(self, *, stop_id: int, window_start: dt.datetime, window_end: dt.datetime | None) -> None:
        from routing.tasks import stop_window_apply_task

        start, end = window_start.isoformat(), window_end.isoformat() if window_end else None
        transaction.on_commit(lambda: stop_window_apply_task.delay(stop_id, start, end), robust=True)

    def runs_resequence(self, *, run_ids: list[int], requested_by: str, user_id: int | None) -> bool:
        from routing.tasks import run_resequence_task

        for run_id in run_ids:
            transaction.on_commit(partial(run_resequence_task.delay, run_id, requested_by, user_id))
        return True


def slot_requests_unanswered(*, now: dt.datetime | None = None) -> list[tuple[int, str | None, str | None]]:
    """Cases still waiting for the slot they asked for at least ``SLOT_FIND_GRACE`` ago: (case id, window).

    The request is the case itself (resolving, a reschedule pending, the routing timer armed when it
    asked), so a search that never reached a worker is found here; a duplicate of one that is only
    slow does no harm (routing locks the case before it writes, and a case answered meanwhile gets nothing).
    """
    from exceptions.models import ExceptionCase
    from exceptions.workflow import RESCHEDULE_OUTCOMES, ROUTING_GRACE

    now = now or timezone.now()
    rows = (
        ExceptionCase.objects.filter(
            state=ExceptionCase.State.RESOLVING,
            pending_outcome__in=RESCHEDULE_OUTCOMES,
            next_action=ExceptionCase.Timer.ROUTING,
            # Asked at least the grace ago, and the routing timer has not fired yet.
            next_action_due_at__lte=now + ROUTING_GRACE - SLOT_FIND_GRACE,
            next_action_due_at__gt=now,
        )
        .order_by("next_action_due_at")
        .values_list("pk", "outcome_detail")[:RELAY_BATCH]
    )
    return [(pk, (detail or {}).get("window_start"), (detail or {}).get("window_end")) for pk, detail in rows]
