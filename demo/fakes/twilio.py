"""A fake Twilio REST API on 127.0.0.1 that the real Twilio SDK talks to, for tests and the demo.

It records every POST to ``/2010-04-01/Accounts/<sid>/Messages.json`` and
answers from a script, in order, then 201::

    with FakeTwilio() as twilio:
        twilio.answer(429, OPTED_OUT, STALL)
        ...
        assert len(twilio.posts) == 3

``201`` accepts the message (a new SM sid, status queued); ``429`` and ``500``
are Twilio's busy and broken answers; ``OPTED_OUT`` is error 21610 (400);
``STALL`` accepts the message but answers only after the client gave up, the
ambiguous case a sender must not resend.

Like Twilio, it calls back: ``report_status`` posts a delivery status to the
message's status callback and ``reply`` posts a recipient's text to the
inbound webhook, both signed with the account's auth token.

Calls (``/Calls.json``) are recorded in ``calls`` and accepted; ``call_status``
reports the caller's leg to the call's status callback and ``call_dialed`` how
the recipient's leg went to the ``<Dial>``'s action in the call's TwiML.

The demo runs it as a process (``python -m demo.fakes.twilio --port 8099``):
it accepts every message and reports it delivered a moment later, so the
desk shows texts going out through the real SDK without reaching a phone.
"""

from __future__ import annotations

import html
import json
import re
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal
from urllib.parse import parse_qs

import requests
from twilio.request_validator import RequestValidator

from demo.fakes.server import STALL, ScriptedServer

OPTED_OUT: Literal["21610"] = "21610"
Answer = int | Literal["stall", "21610"]

__all__ = ["OPTED_OUT", "STALL", "FakeTwilio"]


class FakeTwilio(ScriptedServer[Answer]):
    def __init__(self, *, port: int = 0) -> None:
        self.posts: list[dict[str, str]] = []
        self.accepted: list[dict[str, str]] = []
        self.calls: list[dict[str, str]] = []
        # Run while a call is being placed, before Twilio answers (what the desk may do meanwhile).
        self.while_calling: Callable[[], None] | None = None
        super().__init__(default=201, name="fake-twilio", port=port)

    @property
    def url(self) -> str:
        return self.base_url

    def post_to(self, url: str, params: dict[str, str], *, auth_token: str) -> int:
        """POST form fields to one of our webhooks, signed the way Twilio signs them; returns the status."""
        signature = RequestValidator(auth_token).compute_signature(url, params)
        response = requests.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=10)
        return response.status_code

    def report_status(self, sid: str, status: str, *, auth_token: str) -> int:
        """Call the status callback the message was sent with."""
        sent = next(m for m in self.accepted if m.get("Sid") == sid)
        return self.post_to(sent["StatusCallback"], {"MessageSid": sid, "MessageStatus": status}, auth_token=auth_token)

    def reply(self, url: str, *, sender: str, body: str, auth_token: str) -> int:
        """A recipient texts back: Twilio posts the inbound message to our webhook."""
        params = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": sender, "To": "+13125550000", "Body": body}
        return self.post_to(url, params, auth_token=auth_token)

    def call_status(self, sid: str, status: str, *, auth_token: str) -> int:
        """The caller's leg moved on (ringing, in-progress, completed, no-answer, busy)."""
        call = next(c for c in self.calls if c.get("Sid") == sid)
        return self.post_to(call["StatusCallback"], {"CallSid": sid, "CallStatus": status}, auth_token=auth_token)

    def call_dialed(self, sid: str, dial_status: str, *, duration: int = 0, auth_token: str) -> int:
        """The ``<Dial>`` to the recipient ended: Twilio posts to its action."""
        call = next(c for c in self.calls if c.get("Sid") == sid)
        found = re.search(r'action="([^"]+)"', call.get("Twiml", ""))
        assert found is not None, "the call's TwiML has no <Dial action>"
        params = {"CallSid": sid, "DialCallStatus": dial_status, "DialCallDuration": str(duration)}
        return self.post_to(html.unescape(found.group(1)), params, auth_token=auth_token)

    def _next(self, params: dict[str, str]) -> tuple[Answer, dict[str, str]]:
        with self._lock:
            self.posts.append(params)
        return self._next_answer(), params

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                # The message list, newest first: what reconciliation searches.
                query = parse_qs(self.path.partition("?")[2])
                to = query.get("To", [""])[0]
                with fake._lock:
                    found = [m for m in reversed(fake.accepted) if not to or m.get("To") == to]
                records = [
                    {"sid": m.get("Sid"), "status": "sent", "to": m.get("To"), "body": m.get("Body")} for m in found
                ]
                self._json(200, {"messages": records, "next_page_uri": None, "page": 0, "page_size": 50})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                params = {key: values[0] for key, values in form.items()}
                if self.path.split("?")[0].endswith("/Calls.json"):
                    if fake.while_calling is not None:
                        fake.while_calling()
                    sid = f"CA{uuid.uuid4().hex}"
                    with fake._lock:
                        fake.calls.append({**params, "Sid": sid})
                    self._json(
                        201, {"sid": sid, "status": "queued", "to": params.get("To"), "from": params.get("From")}
                    )
                    return
                answer, params = fake._next(params)
                if answer == STALL:
                    # Twilio took it; the answer comes too late for the client.
                    fake.accepted.append({**params, "Sid": f"SM{uuid.uuid4().hex}"})
                    fake._stall()
                    return
                if answer == OPTED_OUT:
                    self._json(400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient"})
                elif answer == 201:
                    sid = f"SM{uuid.uuid4().hex}"
                    fake.accepted.append({**params, "Sid": sid})
                    self._json(
                        201, {"sid": sid, "status": "queued", "to": params.get("To"), "body": params.get("Body")}
                    )
                else:
                    self._json(int(answer), {"code": 20000 + int(answer), "message": "fake failure"})

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps({**body, "status": body.get("status", status)} if status != 200 else body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def main() -> None:
    import argparse
    import os
    import time

    parser = argparse.ArgumentParser(description="A fake Twilio for the demo: accepts every SMS, reports it delivered.")
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args()
    token = os.environ.get("TWILIO_AUTH_TOKEN", "")
    fake = FakeTwilio(port=args.port).start()
    print(f"fake Twilio on {fake.url}", flush=True)
    reported = called = 0
    try:
        while True:
            time.sleep(1.0)
            with fake._lock:
                accepted, calls = list(fake.accepted), list(fake.calls)
            for call in calls[called:]:
                # Both sides pick up; they talk for a minute and a half.
                try:
                    fake.call_status(call["Sid"], "in-progress", auth_token=token)
                    fake.call_dialed(call["Sid"], "completed", duration=90, auth_token=token)
                    fake.call_status(call["Sid"], "completed", auth_token=token)
                except requests.RequestException as exc:
                    print(f"call callback failed: {exc}", flush=True)
            called = len(calls)
            for message in accepted[reported:]:
                if message.get("StatusCallback") and message.get("Sid"):
                    try:
                        fake.report_status(message["Sid"], "delivered", auth_token=token)
                    except requests.RequestException as exc:
                        print(f"status callback failed: {exc}", flush=True)
            reported = len(accepted)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
