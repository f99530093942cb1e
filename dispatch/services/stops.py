"""Stop and order status changes made by the operator (exceptions.workflow), with their webhooks."""

from __future__ import annotations

from typing import Any

from dispatch.models import Stop, WebhookEvent
from dispatch.services.webhooks import webhook_events_emit


def stop_status_set(*, stop: Stop, status: str, order_status: str | None = None) -> None:
    """Set the stop's status, and its order's when given, inside the caller's transaction.

    Integrations hear of it: ``order.status_changed`` when the order's status
    moves, ``stop.rescheduled`` when the stop leaves its run for another slot.
    """
    events: list[tuple[str, dict[str, Any]]] = []
    order = stop.order
    if stop.status != status:
        stop.status = status
        stop.save(update_fields=["status", "updated_at"])
        if status == Stop.Status.RESCHEDULED:
            events.append((WebhookEvent.STOP_RESCHEDULED, {"stop_id": stop.pk, "order": order.reference}))
    if order_status is not None and order.status != order_status:
        previous = order.status
        order.status = order_status
        order.save(update_fields=["status", "updated_at"])
        events.append(
            (WebhookEvent.ORDER_STATUS_CHANGED, {"order": order.reference, "from": previous, "to": order_status})
        )
    webhook_events_emit(depot_id=order.depot_id, events=events)
