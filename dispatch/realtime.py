"""Real-time sends to websocket groups, always after the transaction commits.

A send that fails (Redis briefly down) is logged and dropped here: every
real-time message has a durable twin in the database (the instruction feed,
the case timeline) that clients catch up from.

Sends run on one event loop per process, in a background thread, so the
channel layer keeps its Redis connections: ``async_to_sync`` would start a new
loop, and with it a new connection, for every message, which cost a failed
scan about a sixth of its time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Any

from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

# Long enough for a healthy Redis under load; short enough that a dead one does not hold a request.
SEND_TIMEOUT = 2.0

_loop_lock = threading.Lock()
_loop: tuple[int, asyncio.AbstractEventLoop] | None = None


def _send_loop() -> asyncio.AbstractEventLoop:
    """This process's send loop, started on first use (and again in a forked child, which has no threads)."""
    global _loop
    with _loop_lock:
        if _loop is None or _loop[0] != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="realtime-sends", daemon=True).start()
            _loop = (os.getpid(), loop)
        return _loop[1]


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
    future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), _send_loop())
    try:
        future.result(SEND_TIMEOUT)
    except Exception:  # the durable copy is in the database; clients resync from it
        future.cancel()
        logger.warning("real-time send to %s failed; clients will catch up from the database", group, exc_info=True)


def send_on_commit(group: str, event_type: str, payload: dict[str, Any]) -> None:
    """Send ``{"type": event_type, "payload": payload}`` to a group once the current transaction commits."""
    message = {"type": event_type, "payload": payload}
    transaction.on_commit(lambda: _send(group, message), robust=True)
