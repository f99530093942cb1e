"""The request thread pool: a fixed set of long-lived threads serves all HTTP requests."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from config.threads import RequestThreadPool


class RecordsThreads:
    """An ASGI app whose synchronous part notes the thread it ran on, like a Django view."""

    def __init__(self) -> None:
        self.threads: list[int] = []
        self.concurrent = 0
        self.most_concurrent = 0

    async def __call__(self, scope, receive, send) -> None:
        def view() -> None:
            self.threads.append(threading.get_ident())
            self.concurrent += 1
            self.most_concurrent = max(self.most_concurrent, self.concurrent)
            threading.Event().wait(0.02)
            self.concurrent -= 1

        await sync_to_async(view, thread_sensitive=True)()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def request(app) -> None:
    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        return None

    await app({"type": "http", "method": "GET", "path": "/"}, receive, send)


def test_it_serves_every_request_from_the_same_threads():
    inner = RecordsThreads()
    app = RequestThreadPool(inner, size=1)

    async def scenario():
        for _ in range(5):
            await request(app)

    async_to_sync(scenario)()
    assert len(set(inner.threads)) == 1


def test_it_never_runs_more_requests_at_once_than_it_has_threads():
    inner = RecordsThreads()
    app = RequestThreadPool(inner, size=2)

    async def scenario():
        await asyncio.gather(*(request(app) for _ in range(12)))

    async_to_sync(scenario)()
    assert len(inner.threads) == 12
    assert len(set(inner.threads)) == 2
    assert inner.most_concurrent == 2


def test_it_needs_at_least_one_thread():
    with pytest.raises(ValueError, match="at least one thread"):
        RequestThreadPool(RecordsThreads(), size=0)
