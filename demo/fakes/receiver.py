"""A webhook and app-push receiver for tests: a real HTTP server on 127.0.0.1 that records every request.

Tell it how to answer the next requests, in order, with ``answer(500, 200)``;
once the script runs out it answers 200. ``STALL`` holds the request open
without answering (until ``stop()``), so the sender's read timeout fires::

    with WebhookReceiver() as receiver:
        receiver.answer(STALL, 500, 429, 400)
        ...
        assert len(receiver.requests) == 1
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal

from demo.fakes.server import STALL, ScriptedServer

Answer = int | Literal["stall"]


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class WebhookReceiver(ScriptedServer[Answer]):
    def __init__(self) -> None:
        self.requests: list[ReceivedRequest] = []
        super().__init__(default=200, name="webhook-receiver")

    @property
    def url(self) -> str:
        return f"{self.base_url}/hooks"

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
                    receiver._stall()
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
