"""Websocket routes and how each is authenticated.

The driver app authenticates with a bearer token, so it needs no origin check
(there is no cookie to ride on) and native apps send no Origin. Browser
sockets authenticate with the session cookie, so they must come from an
allowed origin.
"""

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path, re_path

from dispatch.consumers import DriverConsumer, NoSuchSocket
from exceptions.board.consumers import BoardConsumer

driver_routes = [path("ws/driver/", DriverConsumer.as_asgi())]
# Matched after "ws/": the dispatchers' live board.
browser_routes: list[Any] = [path("board/", BoardConsumer.as_asgi()), re_path(r"", NoSuchSocket.as_asgi())]

websocket_urlpatterns: list[Any] = [
    *driver_routes,
    re_path(r"^ws/", AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(browser_routes)))),
    re_path(r"", NoSuchSocket.as_asgi()),  # anything else: refused, not an error
]
