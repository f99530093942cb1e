"""Routing and the desk, both ways.

``SolverRouting`` is our own solver behind the desk's routing port (``exceptions.ports.Routing``) and the
domain's (``dispatch.ports.Routing``: an admin's re-sequence). Called inside the workflow's transaction with
the case locked, it only queues the search for after commit; ``case_slot_find`` runs it and brings the answer
to the desk's door (``exceptions.inbox``): a slot found, a later day not planned yet, or none. A search whose
task was lost (Redis down at the commit, a worker killed) is asked again by the relay
(``slot_requests_unanswered``, swept by beat) until the case's routing timer hands the case to a dispatcher.
``DeskAnswers`` is the desk as routing sees it (``routing.ports.Desk``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from exceptions import inbox
from exceptions.ports import RoutingRequest
from routing import services
from routing.services import Placed, RouteChange, slots

if TYPE_CHECKING:
    from dispatch.models import Depot, Stop
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

    def windows_open(
        self, *, stop: Stop, windows: Sequence[tuple[dt.datetime, dt.datetime]], now: dt.datetime
    ) -> list[tuple[dt.datetime, dt.datetime]]:
        return slots.windows_open(stop=stop, windows=windows, now=now)

    def stop_eta(self, *, stop: Stop, now: dt.datetime) -> dt.datetime | None:
        return slots.stop_eta(stop=stop, now=now)

    def drive_seconds(
        self, *, depot: Depot, origin: tuple[float, float], destination: tuple[float, float], at: dt.datetime
    ) -> int | None:
        return slots.drive_seconds(depot=depot, origin=origin, destination=destination, at=at)

    def runs_resequence(self, *, run_ids: list[int], requested_by: str, user_id: int | None) -> bool:
        from routing.tasks import run_resequence_task

        for run_id in run_ids:
            transaction.on_commit(partial(run_resequence_task.delay, run_id, requested_by, user_id))
        return True


def slot_requests_unanswered(*, now: dt.datetime | None = None) -> list[tuple[int, str | None, str | None]]:
    """Cases still waiting for the slot they asked for at least ``SLOT_FIND_GRACE`` ago: (case id, window).

    A search that never reached a worker is found here; a duplicate of one that is only slow does no harm
    (routing asks the case, locked, before it writes, and a case answered meanwhile gets nothing).
    """
    now = now or timezone.now()
    rows = inbox.slot_requests_unanswered(asked_before=now - SLOT_FIND_GRACE, now=now, limit=RELAY_BATCH)
    return [(pk, (detail or {}).get("window_start"), (detail or {}).get("window_end")) for pk, detail in rows]


def case_slot_find(
    *, case_id: int, window_start: dt.datetime | None, window_end: dt.datetime | None
) -> RouteChange | None:
    """A case asked for a slot: place its stop, or tell the case there is none. None: the case moved on.

    The case is asked again under the plan's locks (``guard``) and told in the same transaction
    (``on_placed``): the new plan and the case's confirmation commit together.
    """
    stop_id = inbox.slot_wanted(case_id, window_start)
    if stop_id is None:
        return None

    def placed(where: Placed) -> None:
        inbox.slot_found(
            case_id=case_id,
            stop_id=where.stop_id,
            summary=where.summary,
            later_day=where.later_day,
            payload=where.payload,
            window_start=window_start,
        )

    change = services.stop_reinsert(
        stop_id=stop_id,
        window_start=window_start,
        window_end=window_end,
        requested_by=f"Case #{case_id}",
        case_id=case_id,
        guard=lambda: inbox.slot_still_wanted(case_id, window_start),
        on_placed=placed,
    )
    if not change.placed and not change.case_moved_on:
        day = services.unplanned_day(stop_id=stop_id, window_start=window_start)
        if day is not None:
            inbox.slot_awaits_plan(case_id=case_id, day=day, window_start=window_start, window_end=window_end)
        else:
            inbox.slot_not_found(case_id=case_id, reason=change.reason, window_start=window_start)
    return change


def stop_window_apply(*, stop_id: int, window_start: dt.datetime, window_end: dt.datetime | None) -> RouteChange:
    """A recipient told us ahead of the driver when they will be in: move the stop into that window, and tell the
    desk whether it moved (where to, when a later run took it)."""
    change = services.stop_reinsert(
        stop_id=stop_id, window_start=window_start, window_end=window_end, requested_by="Pre-arrival reply"
    )
    if not change.placed:
        services.logger.info("routing: stop %s kept its place: %s", stop_id, change.reason)
    inbox.ahead_window_answered(
        stop_id=change.stop_id or stop_id, placed=change.placed, window_start=window_start, window_end=window_end
    )
    return change


class DeskAnswers:
    """``routing.ports.Desk``: the desk's door for re-planned runs."""

    def runs_changed(self, *, run_ids: list[int]) -> None:
        inbox.runs_changed(run_ids=run_ids)
