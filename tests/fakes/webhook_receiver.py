"""A webhook receiver for tests: a real HTTP server on 127.0.0.1 that records every request.

Tell it how to answer the next requests, in order, with ``answer(500, 200)``;
once the script runs out it answers 200. ``STALL`` holds the request open
without answering (until ``stop()``), so the sender's read timeout fires::

    with WebhookReceiver() as receiver:
        receiver.answer(STALL, 500, 429, 400)
        ...
        assert len(receiver.requests) == 1
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal

STALL: Literal["stall"] = "stall"
Answer = int | Literal["stall"]
# A stalled request is released at stop() at the latest; this only bounds a forgotten one.
MAX_STALL_SECONDS = 30.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A sender that hangs up early (its timeout, or it does not read our reply) is not a test failure.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class WebhookReceiver:
    def __init__(self) -> None:
        self.requests: list[ReceivedRequest] = []
        self._script: deque[Answer] = deque()
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        # A short poll interval: stop() waits up to one interval for the serving loop to notice.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="webhook-receiver", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hooks"

    def answer(self, *answers: Answer) -> None:
        """Answer the next requests with these statuses (or STALL), in order; 200 after that."""
        with self._lock:
            self._script.extend(answers)

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def _next_answer(self) -> Answer:
        with self._lock:
            return self._script.popleft() if self._script else 200

    def _record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # the name http.server dispatches to
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                receiver._record(ReceivedRequest(method="POST", path=self.path, headers=headers, body=body))
                answer = receiver._next_answer()
                if answer == STALL:
                    receiver._release.wait(MAX_STALL_SECONDS)
                    self.close_connection = True
                    return
                reply = b"{}"
                self.send_response(int(answer))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read requests, not logs
                return

        return Handler
