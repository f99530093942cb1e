"""The live board's websocket: numbered events of the dispatcher's depots, nothing else.

Transport only. The socket is authenticated by the desk's session cookie (the
route sits behind ``AllowedHostsOriginValidator`` and ``AuthMiddlewareStack``),
joins one group per depot the user works, greets with each depot's current
event number, and forwards ``case`` and ``run`` events. It never sends state of
its own: after a greeting or a gap the client reloads the snapshot
(``GET /api/v1/board/snapshot``) and applies the events numbered after it.

Permission is checked again before an event is forwarded: the session must
still be signed in, the user active and still a dispatcher of the event's
depot. The answer is kept for ``RECHECK_SECONDS`` per connection and refreshed
in the background before it runs out, so an event is forwarded without a query
(fifty boards re-reading their sessions one after another on Channels' database
thread held a sparse event's frames back by a fifth of a second); a user removed
from a depot stops receiving its events within that time. An answer found too
old when an event arrives is checked there and then. Close codes: 4401 not
signed in, 4403 not (or no longer) allowed, 4409 the user's depots changed
(reconnect to get the new set).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from dispatch import realtime
from dispatch.consumers import OneWayConsumer
from exceptions.board import payloads, reads

CLOSE_SIGNED_OUT = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_DEPOTS_CHANGED = 4409


class BoardConsumer(OneWayConsumer):
    """One-way: actions go through the REST API, with CSRF and the case's version."""

    RECHECK_SECONDS = 5.0

    depots: frozenset[int] = frozenset()
    checked_at: float = 0.0
    closing = False
    refresher: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_SIGNED_OUT)
            return
        depots = await self._access()
        if depots is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.depots, self.checked_at = depots, time.monotonic()
        # Join first, number second: every event numbered after the greeting reaches this socket.
        for depot_id in self.depots:
            await self.channel_layer.group_add(realtime.depot_group(depot_id), self.channel_name)
        await self.accept()
        seq = await sync_to_async(realtime.board_seq_current)(sorted(self.depots))
        await self.send_json(payloads.hello_message(seq))
        self.refresher = asyncio.create_task(self._keep_access_fresh())

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # The access re-check ends with the socket, however the socket ends (a crash included).
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._refresher_stop()

    async def disconnect(self, code: int) -> None:
        await self._refresher_stop()
        for depot_id in self.depots:
            await self.channel_layer.group_discard(realtime.depot_group(depot_id), self.channel_name)

    async def _refresher_stop(self) -> None:
        refresher, self.refresher = self.refresher, None
        if refresher is not None:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher

    # --- Events from the depots' groups (dispatch.realtime.board_send_on_commit) --------------------------------

    async def case_changed(self, event: dict[str, Any]) -> None:
        if await self._may_forward(event["depot_id"]):
            await self.send_json(
                payloads.case_message(depot_id=event["depot_id"], seq=event["seq"], row=event["payload"])
            )

    async def run_updated(self, event: dict[str, Any]) -> None:
        if await self._may_forward(event["depot_id"]):
            await self.send_json(
                payloads.run_message(depot_id=event["depot_id"], seq=event["seq"], run=event["payload"])
            )

    async def _may_forward(self, depot_id: int) -> bool:
        if self.closing:
            return False
        if time.monotonic() - self.checked_at >= self.RECHECK_SECONDS and not await self._recheck():
            return False
        return depot_id in self.depots

    async def _keep_access_fresh(self) -> None:
        """Re-check access before the kept answer runs out, off the path of the events."""
        while not self.closing:
            await asyncio.sleep(max(0.5, self.RECHECK_SECONDS * 0.8))
            await self._recheck()

    async def _recheck(self) -> bool:
        """Read access afresh; close the socket (and say False) when it was lost or the depots changed."""
        depots = await self._access()
        if self.closing:
            return False
        if depots is None or depots != self.depots:
            self.closing = True
            await self.close(code=CLOSE_FORBIDDEN if depots is None else CLOSE_DEPOTS_CHANGED)
            return False
        self.checked_at = time.monotonic()
        return True

    async def _access(self) -> frozenset[int] | None:
        session = self.scope.get("session")
        key = getattr(session, "session_key", None) if session is not None else None
        return await database_sync_to_async(reads.board_access)(session_key=key)
