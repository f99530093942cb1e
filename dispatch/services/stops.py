"""A stop's and its order's status, with their webhooks: the one way either changes, and a stop leaving its run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dispatch.driver_words import Words
from dispatch.models import DriverInstruction, Stop, WebhookEvent
from dispatch.services.instructions import instruction_push
from dispatch.services.webhooks import webhook_events_emit

# A stop in one of these may still be on its driver's way: leaving the run, the driver is told to skip it.
ON_THE_WAY = (*Stop.ACTIVE_STATUSES, Stop.Status.RESCHEDULED)


def stop_status_set(*, stop: Stop, status: str, order_status: str | None = None, also_save: Sequence[str] = ()) -> None:
    """Set the stop's status, and its order's when given, inside the caller's transaction.

    Integrations hear of it: ``order.status_changed`` when the order's status
    moves, ``stop.rescheduled`` when the stop leaves its run for another slot.
    ``also_save``: other fields of the stop the caller changed, written in the same statement.
    """
    events: list[tuple[str, dict[str, Any]]] = []
    order = stop.order
    if stop.status != status or also_save:
        changed = stop.status != status
        stop.status = status
        stop.save(update_fields=["status", "updated_at", *also_save])
        if changed and status == Stop.Status.RESCHEDULED:
            events.append((WebhookEvent.STOP_RESCHEDULED, {"stop_id": stop.pk, "order": order.reference}))
    if order_status is not None and order.status != order_status:
        previous = order.status
        order.status = order_status
        order.save(update_fields=["status", "updated_at"])
        events.append(
            (WebhookEvent.ORDER_STATUS_CHANGED, {"order": order.reference, "from": previous, "to": order_status})
        )
    webhook_events_emit(depot_id=order.depot_id, events=events)


def stop_leave_run(*, stop: Stop, status: str, order_status: str, text: Words, payload: dict[str, Any]) -> None:
    """The stop leaves its driver's run (another slot, another day, back to the depot): the driver is told to
    skip it while it may still be on their way, and the stop and its order take their new status."""
    if stop.status in ON_THE_WAY:
        instruction_push(
            driver=stop.run.driver, kind=DriverInstruction.Kind.SKIP, text=text, stop=stop, payload=payload
        )
    stop_status_set(stop=stop, status=status, order_status=order_status)
