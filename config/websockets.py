"""Websocket routes, collected from the apps that serve them."""

from typing import Any

websocket_urlpatterns: list[Any] = []
