"""Real-time sends to websocket groups, always after the transaction commits.

A send that fails (Redis briefly down) is logged and dropped here: every
real-time message has a durable twin in the database (the instruction feed,
the case timeline) that clients catch up from.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def driver_group(driver_id: int) -> str:
    return f"driver.{driver_id}"


def depot_group(depot_id: int) -> str:
    """Everyone watching a depot's exception board."""
    return f"depot.{depot_id}"


def group_alert_group(group_id: int) -> str:
    """Dispatchers of one Django group, alerted by an escalation rule."""
    return f"dispatchers.{group_id}"


def _send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # the durable copy is in the database; clients resync from it
        logger.warning("real-time send to %s failed; clients will catch up from the database", group, exc_info=True)


def send_on_commit(group: str, event_type: str, payload: dict[str, Any]) -> None:
    """Send ``{"type": event_type, "payload": payload}`` to a group once the current transaction commits."""
    message = {"type": event_type, "payload": payload}
    transaction.on_commit(lambda: _send(group, message), robust=True)
