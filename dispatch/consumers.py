"""The driver app's websocket: instructions the moment they are pushed.

Transport only. The app authenticates with the same bearer token as the REST
API: an ``Authorization`` header on the handshake, or, from a browser (which
cannot set headers on a websocket), the subprotocols ``bearer`` and the token
(``new WebSocket(url, ["bearer", token])``); the server answers ``bearer``.
The instruction feed remains the source of truth, so after any reconnect the
app polls ``/api/v1/driver/instructions?after=<last cursor>`` to catch up.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer

from dispatch.api.authentication import KEYWORDS
from dispatch.models import ApiToken
from dispatch.realtime import driver_group
from dispatch.services.tokens import api_token_authenticate


@database_sync_to_async
def _driver_id_for(key: str) -> int | None:
    token = api_token_authenticate(key=key)
    if token is None or token.kind != ApiToken.Kind.DRIVER:
        return None
    driver = getattr(token.user, "driver", None)
    return driver.pk if driver is not None and driver.active else None


BEARER_SUBPROTOCOL = "bearer"


def _bearer_key(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            parts = value.split()
            if len(parts) == 2 and parts[0].lower() in KEYWORDS:
                return str(parts[1].decode("ascii", errors="replace"))
    offered = list(scope.get("subprotocols") or [])
    if len(offered) == 2 and offered[0] == BEARER_SUBPROTOCOL:
        return str(offered[1])
    return None


class OneWayConsumer(AsyncJsonWebsocketConsumer):
    """A socket that only sends. Whatever a client sends (JSON or not, text or binary) is ignored, never decoded:
    a frame that is not JSON must not end the socket without its ``disconnect``."""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        return


class NoSuchSocket(AsyncWebsocketConsumer):
    """Any path no socket is served at: the handshake is refused (403), without an error."""

    async def connect(self) -> None:
        await self.close()


class DriverConsumer(OneWayConsumer):
    """The driver app's instruction feed. One-way: everything the app sends goes through the REST API."""

    group: str | None = None

    async def connect(self) -> None:
        key = _bearer_key(self.scope)
        driver_id = await _driver_id_for(key) if key else None
        if driver_id is None:
            await self.close(code=4401)
            return
        self.group = driver_group(driver_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        # A browser offered the token as a subprotocol: the answer names the scheme, never echoes the token.
        offered = self.scope.get("subprotocols") or []
        await self.accept(subprotocol=BEARER_SUBPROTOCOL if BEARER_SUBPROTOCOL in offered else None)

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def instruction_pushed(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "instruction", "instruction": event["payload"]})
