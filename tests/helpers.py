"""What tests across the suite do the same way, as plain functions (fixtures are in the conftest files).

- People at the desk and drivers' apps: ``signed_in`` (a browser session), ``client_for`` (an API token),
  ``reveal`` (a driver asks for a stop's access code).
- Cases, on real rows through the driver's service and the workflow: ``at`` (a driver's last GPS ping),
  ``scan``, ``fail``, ``triaged``, ``reply``, ``escalated``, ``asked``, ``reload``, ``later``; what the driver
  was told (``instructions``); a playbook that ends with a dispatcher (``_access_playbook_ends_with_a_dispatcher``).
- The board's API: ``SNAPSHOT``, ``case_url`` and ``act`` (a dispatcher's action on a case, at its version).
- The admin: ``form_data``, a change or add form as a browser would post it.
- Twilio's webhooks: ``twilio_post``, signed as Twilio signs them for the desk at ``PUBLIC_URL``.
- Other processes and live requests: ``free_port``, ``database_url_for_others``,
  ``connection_kept_across_requests``.
- Metrics: ``summary`` and ``groups`` over ``METRICS_DAY``.
"""

from __future__ import annotations

import datetime as dt
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signals
from django.db import close_old_connections
from django.db.models import Model
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient
from twilio.request_validator import RequestValidator

from dispatch.models import ApiToken, Depot, Driver, DriverInstruction, ScanEvent, Stop
from dispatch.services import api_token_issue
from dispatch.services.scans import scan_record
from exceptions import workflow
from exceptions.analytics import metrics_summary
from exceptions.models import ExceptionCase, PlaybookStep, ReplyIntent
from exceptions.workflow import Understanding
from outreach.models import Message
from tests.factories import reason

# --- People at the desk and drivers' apps -------------------------------------------------------------------------


def signed_in(user: Any, *, csrf: bool = False) -> Client:
    """A browser with the user's desk session; ``csrf=True`` checks CSRF tokens as a real browser's requests are."""
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def client_for(user: Any, kind: str = ApiToken.Kind.DRIVER, depot: Depot | None = None) -> APIClient:
    """An API client with a new token of the user's (a driver's app by default; ``depot`` limits an integration's)."""
    _, key = api_token_issue(user=user, kind=kind, name="test", depot=depot)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def reveal(client: Any, stop: Stop) -> Any:
    """The driver's app asks for the stop's access code."""
    return client.post(f"/api/v1/driver/stops/{stop.pk}/access-code/reveal")


# --- Cases ---------------------------------------------------------------------------------------------------------


def at(driver: Driver, stop: Stop, *, metres_north: float = 0.0, minutes_ago: float = 0.0) -> None:
    """Put the driver's last GPS ping some metres north of the stop's address."""
    address = stop.order.address
    driver.last_latitude = address.latitude + metres_north / 111_320
    driver.last_longitude = address.longitude
    driver.last_seen_at = timezone.now() - dt.timedelta(minutes=minutes_ago)
    driver.save(update_fields=["last_latitude", "last_longitude", "last_seen_at"])


def scan(stop: Stop, outcome: str = ScanEvent.Outcome.FAILED, code: str = "ACCESS_DENIED") -> dict:
    """The stop's driver scans it through the driver's service; the answer the app gets."""
    stop.refresh_from_db()
    result = scan_record(
        driver=stop.run.driver,
        stop_id=stop.pk,
        outcome=outcome,
        reason=reason(code) if outcome == ScanEvent.Outcome.FAILED else None,
        device_time=timezone.now(),
        latitude=None,
        longitude=None,
        notes="",
        photo=None,
        idempotency_key=uuid.uuid4().hex,
    )
    return result.response


def fail(stop: Stop, code: str = "ACCESS_DENIED") -> ExceptionCase:
    """A failed scan of the stop, and the case it opened."""
    return ExceptionCase.objects.get(pk=scan(stop, code=code)["case_id"])


def reload(case: ExceptionCase) -> ExceptionCase:
    return ExceptionCase.objects.get(pk=case.pk)


def later(minutes: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(minutes=minutes)


def triaged(case: ExceptionCase) -> ExceptionCase:
    """The case after triage, as the triage task runs it."""
    workflow.case_triage(case_id=case.pk)
    return reload(case)


def reply(case: ExceptionCase, intent: str, **fields: Any) -> ExceptionCase:
    """The case after the recipient's reply, understood as ``intent``."""
    workflow.case_reply_apply(case_id=case.pk, understood=Understanding(intent=ReplyIntent(intent), **fields))
    return reload(case)


def escalated(stop: Stop) -> ExceptionCase:
    """A case whose recipient asked for a call: open, with a dispatcher now."""
    return reply(triaged(fail(stop)), ReplyIntent.CALL_REQUEST)


def asked(stop: Stop) -> Message:
    """Fail the stop and triage it: the playbook's first question is written, not yet sent."""
    case = fail(stop)
    workflow.case_triage(case_id=case.pk)
    return Message.objects.get(conversation__case=case)


def instructions(stop: Stop) -> list[DriverInstruction]:
    """What the stop's driver was told about it, in order."""
    return list(DriverInstruction.objects.filter(stop=stop).order_by("seq"))


def _access_playbook_ends_with_a_dispatcher() -> None:
    """What an admin may choose: an unanswered access failure goes to a dispatcher at priority 2."""
    PlaybookStep.objects.filter(playbook__reason_code__code="ACCESS_DENIED", position=3).update(
        action=PlaybookStep.Action.ESCALATE, priority=2
    )


# --- The board's API -----------------------------------------------------------------------------------------------

SNAPSHOT = "/api/v1/board/snapshot"


def case_url(case: ExceptionCase, action: str = "") -> str:
    return f"/api/v1/board/cases/{case.pk}" + (f"/{action}" if action else "")


def act(client: Client, case: ExceptionCase, action: str, **body: Any) -> Any:
    body.setdefault("version", ExceptionCase.objects.get(pk=case.pk).version)
    return client.post(case_url(case, action), body, content_type="application/json")


# --- The admin -----------------------------------------------------------------------------------------------------


class _FormFields(HTMLParser):
    """What a browser would submit from a page's admin form, unchanged."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._multiple = False
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.inside = attributes.get("id") == self.form_id
            return
        name = attributes.get("name")
        if not self.inside:
            return
        if tag == "input" and name:
            kind = (attributes.get("type") or "text").lower()
            if kind in {"submit", "button", "file", "image", "reset"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in attributes:
                return
            self.data.setdefault(name, []).append(attributes.get("value") or ("on" if kind == "checkbox" else ""))
        elif tag == "select" and name:
            self._select, self._multiple, self._options = name, "multiple" in attributes, []
        elif tag == "option" and self._select:
            self._options.append((attributes.get("value") or "", "selected" in attributes))
        elif tag == "textarea" and name:
            self._textarea = name
            self.data.setdefault(name, []).append("")

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea][-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select:
            chosen = [value for value, selected in self._options if selected]
            if not chosen and not self._multiple and self._options:
                chosen = [self._options[0][0]]
            self.data.setdefault(self._select, []).extend(chosen)
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def form_data(client: Client, page: str, model: type[Model], **changes: str) -> dict[str, Any]:
    """The form on an admin add or change page as it would be posted, with some fields changed."""
    response = client.get(page)
    assert response.status_code == 200
    parser = _FormFields(f"{model._meta.model_name}_form")
    parser.feed(response.content.decode())
    data: dict[str, Any] = dict(parser.data)
    data.update(changes)
    return data


# --- Twilio's webhooks ---------------------------------------------------------------------------------------------

# The desk's public address and the Twilio auth token its webhooks are signed with (the ``signed`` fixture),
# and the number the fake Twilio's texts come from (the ``twilio`` fixtures).
PUBLIC_URL = "https://desk.example.com"
TWILIO_TOKEN = "fake-auth-token"
DESK_NUMBER = "+13125550000"


def twilio_post(
    client: Client, path: str, params: dict[str, str], *, url: str | None = None, signature: str | None = None, **extra
) -> Any:
    """POST form fields as Twilio does, signed over ``url`` (the public URL of ``path`` by default)."""
    signature = (
        signature
        if signature is not None
        else RequestValidator(TWILIO_TOKEN).compute_signature(url or PUBLIC_URL + path, params)
    )
    headers: dict[str, Any] = {"HTTP_X_TWILIO_SIGNATURE": signature} if signature else {}
    return client.post(path, urlencode(params), content_type="application/x-www-form-urlencoded", **headers, **extra)


def texts_sent(twilio: Any) -> list[str]:
    """Send what the desk queued, as the outreach task does; every text the fake Twilio took, in order."""
    from outreach.services import message_send

    for pk in Message.objects.filter(direction=Message.Direction.OUTBOUND, status=Message.Status.QUEUED).values_list(
        "pk", flat=True
    ):
        message_send(message_id=pk)
    return [post.get("Body", "") for post in twilio.accepted]


def sms_reply(client: Client, case: ExceptionCase, body: str) -> ExceptionCase:
    """The recipient's text, through Twilio's signed webhook; the case after it."""
    recipient = case.order.recipient
    sid = f"SMreply{Message.objects.filter(direction=Message.Direction.INBOUND).count():04d}"
    response = twilio_post(
        client,
        "/outreach/twilio/inbound",
        {"MessageSid": sid, "From": str(recipient.phone), "To": "+13125550000", "Body": body},
    )
    assert response.status_code == 200, response.content
    return reload(case)


# --- Other processes and live requests -----------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url_for_others() -> str:
    """The pytest database, for the other processes."""
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def connection_kept_across_requests() -> Iterator[None]:
    """Like Django's test client: keep the test's connection (and its transaction) open across requests."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


# --- Metrics -------------------------------------------------------------------------------------------------------

# The day the metrics tests build: a Wednesday, before any clock change.
METRICS_DAY = dt.date(2026, 6, 10)


def summary(
    depots: list[Depot], group_by: str | None = None, start: dt.date = METRICS_DAY, end: dt.date = METRICS_DAY
) -> Any:
    """``metrics_summary`` over these depots and days, as the metrics API calls it."""
    return metrics_summary(
        depot_ids=[depot.pk for depot in depots],
        date_from=start,
        date_to=end,
        group_by=group_by,  # type: ignore[arg-type]
    )


def groups(result: Any) -> dict[str | None, Any]:
    return {group["key"]: group for group in result["groups"]}
