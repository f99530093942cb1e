"""A fixed pool of request threads for Django under ASGI.

Django runs each HTTP request's synchronous code (views, ORM) in a thread
created for that request, so every request opens and closes its own Postgres
connection: a backend fork per request, and no bound on how many connections
a burst can open. This middleware hands each request one of a fixed set of
long-lived single-thread executors instead (asgiref's ThreadSensitiveContext
with an executor, which Django's own inner context then defers to). Each
thread keeps its connection for CONN_MAX_AGE seconds, connections per process
are bounded by the pool size, and a burst queues here instead of at Postgres.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class RequestThreadPool:
    def __init__(self, app: ASGIApp, *, size: int) -> None:
        if size < 1:
            raise ValueError("The request thread pool needs at least one thread.")
        self.app = app
        self.size = size
        self._free: asyncio.Queue[ThreadPoolExecutor] | None = None

    def _pool(self) -> asyncio.Queue[ThreadPoolExecutor]:
        # Created on first use, inside the server's event loop.
        if self._free is None:
            self._free = asyncio.Queue()
            for number in range(self.size):
                self._free.put_nowait(ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"request-{number}"))
        return self._free

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        free = self._pool()
        executor = await free.get()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.app(scope, receive, send)
        finally:
            free.put_nowait(executor)
