"""A scripted HTTP server on 127.0.0.1, the base of our fakes (Twilio for tests and the demo, webhook receivers).

It answers from a script, in order, then with a default; ``STALL`` holds a
request open until ``stop()`` (bounded by ``MAX_STALL_SECONDS``) so a client's
read timeout fires. Subclasses give the request handler.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Generic, Literal, Self, TypeVar

STALL: Literal["stall"] = "stall"
# A stalled request is released at stop() at the latest; this only bounds a forgotten one.
MAX_STALL_SECONDS = 30.0

AnswerT = TypeVar("AnswerT")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up early (its timeout, or it does not read our reply) is not an error here.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class ScriptedServer(Generic[AnswerT]):
    def __init__(self, *, default: AnswerT, name: str, port: int = 0) -> None:
        self._default = default
        self._script: deque[AnswerT] = deque()
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = _Server(("127.0.0.1", port), self._handler_class())
        # A short poll interval: stop() waits up to one interval for the serving loop to notice.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def answer(self, *answers: AnswerT) -> None:
        """Answer the next requests with these, in order; the default after that."""
        with self._lock:
            self._script.extend(answers)

    def _next_answer(self) -> AnswerT:
        with self._lock:
            return self._script.popleft() if self._script else self._default

    def _stall(self) -> None:
        self._release.wait(MAX_STALL_SECONDS)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError
