"""Celery tasks of routing, on the ``routing`` queue: each loads ids and calls a service."""

from __future__ import annotations

from celery import shared_task
from django.utils.dateparse import parse_datetime

from routing import services
from routing.adapter import case_slot_find, slot_requests_unanswered, stop_window_apply


@shared_task(name="routing.case_slot_find", ignore_result=True)
def case_slot_find_task(case_id: int, window_start: str | None, window_end: str | None) -> None:
    """Place a recovered stop for its case. A duplicate delivery finds the case resolved and does nothing."""
    case_slot_find(
        case_id=case_id,
        window_start=parse_datetime(window_start) if window_start else None,
        window_end=parse_datetime(window_end) if window_end else None,
    )


@shared_task(name="routing.stop_window_apply", ignore_result=True)
def stop_window_apply_task(stop_id: int, window_start: str, window_end: str | None) -> None:
    """A recipient told us ahead of the driver when they will be in: move the stop into that window."""
    start = parse_datetime(window_start)
    if start is None:
        return
    stop_window_apply(
        stop_id=stop_id, window_start=start, window_end=parse_datetime(window_end) if window_end else None
    )


# The relay runs every 30 s (exceptions/beat.py); what it enqueues expires before the next one.
RELAY_ENQUEUE_EXPIRES = 60.0


@shared_task(name="routing.slot_requests_relay", ignore_result=True)
def slot_requests_relay_task() -> int:
    """Ask again for the slots whose search was lost (queued at a commit while the broker was down)."""
    requests = slot_requests_unanswered()
    for case_id, window_start, window_end in requests:
        case_slot_find_task.apply_async(args=(case_id, window_start, window_end), expires=RELAY_ENQUEUE_EXPIRES)
    return len(requests)


@shared_task(name="routing.run_resequence", ignore_result=True)
def run_resequence_task(run_id: int, requested_by: str, user_id: int | None = None) -> dict[str, object]:
    change = services.run_resequence(run_id=run_id, requested_by=requested_by, user_id=user_id)
    return {"placed": change.placed, "reason": change.reason, "plan_version": change.plan_version}
