"""SMS backends, chosen in settings like Django's e-mail backends (``OUTREACH_SMS_BACKEND``).

- ``TwilioBackend``: the real Twilio SDK, with an HTTP timeout below the task's
  soft limit. ``TWILIO_API_BASE_URL`` points it at another host (the fake
  Twilio server in tests and the demo).
- ``ConsoleBackend``: writes a masked line to the log (development).
- ``LocmemBackend``: keeps messages in ``LocmemBackend.outbox`` (unit tests).

Every backend answers a send with the provider's message id or one of three
errors, which decide what the sender may do next.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import requests
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import NewConnectionError

logger = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
# Twilio: the number has opted out (STOP) of this sender. Never retried.
OPTED_OUT = 21610
# A WhatsApp address on Twilio's Messaging API.
WHATSAPP = "whatsapp:"


class TransientSendError(Exception):
    """Not sent, and worth another try later (429, 5xx, no connection)."""


class PermanentSendError(Exception):
    """Refused for good (an opted-out number, an invalid one)."""

    def __init__(self, message: str, *, code: int | None) -> None:
        super().__init__(message)
        self.code = code


class AmbiguousSendError(Exception):
    """The request may have been accepted (a timeout after sending it): reconcile, never resend."""


@dataclass(frozen=True)
class Sent:
    sid: str
    status: str


class MessageBackend(Protocol):
    def send(self, *, to: str, body: str, status_callback: str | None, template: str = "") -> Sent:
        """``to`` is "whatsapp:+1..." for WhatsApp; ``template``, a WhatsApp template that carries ``body``."""

    def find(self, *, to: str, body: str, since: dt.datetime) -> Sent | None:
        """The message the provider took for this number and body since then, if any (reconciliation)."""


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


class RedirectingHttpClient(TwilioHttpClient):
    """The SDK's own HTTP client, sending what it would send to api.twilio.com to another base URL."""

    def __init__(self, *, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        return super().request(method, url.replace(TWILIO_API, self.base_url, 1), *args, **kwargs)


class TwilioBackend:
    def __init__(self) -> None:
        timeout = settings.TWILIO_HTTP_TIMEOUT
        base_url = settings.TWILIO_API_BASE_URL
        http_client = (
            RedirectingHttpClient(base_url=base_url, timeout=timeout) if base_url else TwilioHttpClient(timeout=timeout)
        )
        self.client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client)

    def send(self, *, to: str, body: str, status_callback: str | None, template: str = "") -> Sent:
        options: dict[str, Any] = {"to": to}
        if template:
            # Outside WhatsApp's 24-hour window only an approved template may go: the text is its variable.
            options["content_sid"], options["content_variables"] = template, json.dumps({"1": body})
        else:
            options["body"] = body
        if to.startswith(WHATSAPP):
            options["from_"] = settings.TWILIO_WHATSAPP_FROM
        elif settings.TWILIO_MESSAGING_SERVICE_SID:
            options["messaging_service_sid"] = settings.TWILIO_MESSAGING_SERVICE_SID
        else:
            options["from_"] = settings.TWILIO_FROM_NUMBER
        if status_callback:
            options["status_callback"] = status_callback
        try:
            message = self.client.messages.create(**options)
        except TwilioRestException as exc:
            if _retryable(exc.status):
                raise TransientSendError(f"Twilio answered {exc.status}.") from exc
            raise PermanentSendError(f"Twilio refused the message ({exc.code}).", code=exc.code) from exc
        except requests.ConnectTimeout as exc:
            raise TransientSendError("Could not connect to Twilio.") from exc
        except requests.ReadTimeout as exc:
            raise AmbiguousSendError("No answer from Twilio after the request was sent.") from exc
        except requests.ConnectionError as exc:
            reason = getattr(exc.args[0], "reason", None) if exc.args else None
            if isinstance(reason, NewConnectionError):
                # Refused before anything was sent: safe to try again.
                raise TransientSendError("Could not connect to Twilio.") from exc
            raise AmbiguousSendError("The connection to Twilio broke after the request was sent.") from exc
        return Sent(sid=str(message.sid), status=str(message.status or "queued"))

    def find(self, *, to: str, body: str, since: dt.datetime) -> Sent | None:
        try:
            candidates = self.client.messages.list(to=to, date_sent_after=since, limit=50)
        except TwilioRestException as exc:
            raise TransientSendError(f"Twilio answered {exc.status} to a lookup.") from exc
        except requests.RequestException as exc:
            raise TransientSendError("Could not ask Twilio about the message.") from exc
        for candidate in candidates:
            # A WhatsApp template's text is the template's, with ours inside it.
            if candidate.body == body or (to.startswith(WHATSAPP) and body in (candidate.body or "")):
                return Sent(sid=str(candidate.sid), status=str(candidate.status or "sent"))
        return None


_DIGIT_RUNS = re.compile(r"\d{3,}")


class ConsoleBackend:
    def send(self, *, to: str, body: str, status_callback: str | None, template: str = "") -> Sent:
        # The logging filter masks the number; a read-back may carry an access code, so runs of digits are masked.
        logger.info("SMS to %s: %s", to, _DIGIT_RUNS.sub(lambda run: "•" * len(run.group()), body))
        return Sent(sid=f"SMconsole{uuid.uuid4().hex[:24]}", status="sent")

    def find(self, *, to: str, body: str, since: dt.datetime) -> Sent | None:
        return None


class LocmemBackend:
    outbox: ClassVar[list[dict[str, Any]]] = []

    def send(self, *, to: str, body: str, status_callback: str | None, template: str = "") -> Sent:
        sid = f"SMlocmem{uuid.uuid4().hex[:24]}"
        self.outbox.append(
            {"sid": sid, "to": to, "body": body, "status_callback": status_callback, "template": template}
        )
        return Sent(sid=sid, status="queued")

    def find(self, *, to: str, body: str, since: dt.datetime) -> Sent | None:
        for sent in self.outbox:
            if sent["to"] == to and sent["body"] == body:
                return Sent(sid=sent["sid"], status="sent")
        return None


class PushBackend:
    """The customer's app: a JSON POST to ``OUTREACH_PUSH_URL``, signed like our webhooks (HMAC-SHA256).

    ``to`` is the recipient's CRM id, which the customer's app knows them by.
    """

    def send(self, *, to: str, body: str, status_callback: str | None, template: str = "") -> Sent:
        from dispatch.services.webhooks import webhook_signature

        message_id = f"PN{uuid.uuid4().hex}"
        payload = json.dumps({"id": message_id, "recipient": to, "body": body}).encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "X-Dispatch-Timestamp": str(timestamp),
            "X-Dispatch-Signature": webhook_signature(settings.OUTREACH_PUSH_SECRET, timestamp, payload),
            # The receiver deduplicates on it: a retried push is the same push.
            "Idempotency-Key": message_id,
        }
        try:
            response = requests.post(
                settings.OUTREACH_PUSH_URL, data=payload, headers=headers, timeout=settings.TWILIO_HTTP_TIMEOUT
            )
        except requests.ConnectTimeout as exc:
            raise TransientSendError("Could not connect to the push service.") from exc
        except requests.RequestException as exc:
            raise AmbiguousSendError("No answer from the push service after the request was sent.") from exc
        if _retryable(response.status_code):
            raise TransientSendError(f"The push service answered {response.status_code}.")
        if response.status_code >= 400:
            raise PermanentSendError(f"The push service refused it ({response.status_code}).", code=None)
        return Sent(sid=message_id, status="delivered")

    def find(self, *, to: str, body: str, since: dt.datetime) -> Sent | None:
        return None


def whatsapp_configured() -> bool:
    return bool(settings.TWILIO_WHATSAPP_FROM)


def push_configured() -> bool:
    return bool(settings.OUTREACH_PUSH_URL and settings.OUTREACH_PUSH_SECRET)


@functools.cache
def push_backend() -> MessageBackend:
    backend: MessageBackend = import_string(settings.OUTREACH_PUSH_BACKEND)()
    return backend


@functools.cache
def sms_backend() -> MessageBackend:
    backend: MessageBackend = import_string(settings.OUTREACH_SMS_BACKEND)()
    return backend


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: object) -> None:
    if setting.startswith(("OUTREACH_", "TWILIO_")):
        sms_backend.cache_clear()
        push_backend.cache_clear()
