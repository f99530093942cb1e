"""Real-time sends to websocket groups, always after the transaction commits.

A send that fails (Redis briefly down) is logged and dropped here: every
real-time message has a durable twin in the database (the instruction feed,
the case timeline) that clients catch up from.

Every message to a depot's board group carries that depot's sequence number,
taken from Redis (``INCR``) when it is sent. The channel layer may drop a
message (a full channel drops silently), so the board client applies events in
number order and, when it sees a gap, reloads a snapshot whose numbers were read
before its rows (see ``exceptions.board.reads``).

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
from collections.abc import Iterable, Sequence
from typing import Any

import redis
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

# Long enough for a healthy Redis under load; short enough that a dead one does not hold a request.
SEND_TIMEOUT = 2.0

_loop_lock = threading.Lock()
_loop: tuple[int, asyncio.AbstractEventLoop] | None = None

DEPOT_GROUP_PREFIX = "depot."

_redis_lock = threading.Lock()
_redis: tuple[str, redis.Redis] | None = None
# Depots whose last event could not be numbered (Redis down): the next number skips one, so
# clients see the gap and reload instead of silently missing that event.
_unnumbered: set[int] = set()


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
    return f"{DEPOT_GROUP_PREFIX}{depot_id}"


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
    """Send ``{"type": event_type, "payload": payload}`` to a group once the current transaction commits.

    A depot's board takes only numbered events: send those with ``board_send_on_commit``.
    """
    message = {"type": event_type, "payload": payload}
    transaction.on_commit(lambda: _send(group, message), robust=True)


# --- The board: numbered events, one sequence per depot ----------------------------------------------------------


def _board_redis() -> redis.Redis:
    """The cache's Redis: the numbers live under the cache's key prefix, beside what it caches."""
    global _redis
    location = str(settings.CACHES["default"]["LOCATION"]).split(",")[0]
    with _redis_lock:
        if _redis is None or _redis[0] != location:
            _redis = (location, redis.Redis.from_url(location, socket_timeout=SEND_TIMEOUT))
        return _redis[1]


def board_seq_key(depot_id: int) -> str:
    return cache.make_key(f"board:seq:{depot_id}")


def board_seq_current(depot_ids: Iterable[int]) -> dict[int, int]:
    """The last number given to each depot's events (0 before the first): read, never taken."""
    ids = list(depot_ids)
    if not ids:
        return {}
    values = _board_redis().mget([board_seq_key(depot_id) for depot_id in ids])
    return {depot_id: int(value or 0) for depot_id, value in zip(ids, values, strict=True)}


def board_seq_take(depot_id: int, count: int = 1) -> int:
    """Take ``count`` numbers for a depot's events; returns the last one."""
    return int(_board_redis().incrby(board_seq_key(depot_id), count))


def _board_send(depot_id: int, event_type: str, payloads: Sequence[dict[str, Any]]) -> None:
    with _redis_lock:
        skip = depot_id in _unnumbered
        _unnumbered.discard(depot_id)
    try:
        last = board_seq_take(depot_id, len(payloads) + (1 if skip else 0))
    except redis.RedisError:
        with _redis_lock:
            _unnumbered.add(depot_id)
        logger.warning("board events for depot %s not numbered; clients resync at the next one", depot_id)
        return
    # Numbers are taken before the sends, so two processes may deliver theirs out of order: a client
    # then sees a gap, reloads, and ignores the late one. Nothing is applied twice or missed.
    first = last - len(payloads) + 1
    group = depot_group(depot_id)
    for seq, payload in enumerate(payloads, start=first):
        _send(group, {"type": event_type, "depot_id": depot_id, "seq": seq, "payload": payload})


def board_send_on_commit(depot_id: int, event_type: str, payload: dict[str, Any]) -> None:
    """Send one numbered event to a depot's board once the current transaction commits."""
    board_send_many_on_commit(depot_id, event_type, [payload])


def board_send_many_on_commit(depot_id: int, event_type: str, payloads: Sequence[dict[str, Any]]) -> None:
    """Send numbered events (consecutive numbers, in this order) to a depot's board after commit."""
    if not payloads:
        return
    batch = list(payloads)
    transaction.on_commit(lambda: _board_send(depot_id, event_type, batch), robust=True)
