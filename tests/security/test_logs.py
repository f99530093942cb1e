"""No access code and no full phone number in the logs, through a whole case over real HTTP.

Every logger is turned up to DEBUG and recorded (including the ones that do not
propagate: Django's server log, Celery's) while a case runs the way production
runs it: the driver's failed scan through the API, triage and the SMS task
through Celery's own call path, the real Twilio SDK to a fake Twilio, signed
callbacks to the live server, a gate code texted back, a code entered on the
board, the driver's reveal; then requests that fail on purpose carrying codes
and numbers. Records are formatted with their arguments and exceptions, the
way a handler would write them, before the project's own redaction: what is
checked is what the code hands to logging.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

import pytest
from django.utils import timezone

from demo.fakes.twilio import OPTED_OUT, STALL
from dispatch.models import AccessCredential, ApiToken, Driver, Recipient
from exceptions import tasks as exception_tasks
from exceptions.models import ExceptionCase
from outreach import tasks as outreach_tasks
from outreach.models import Message
from outreach.reconcile import message_reconcile
from tests.helpers import DESK_NUMBER, TWILIO_TOKEN, at, client_for, signed_in

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("triage_enqueued"),
]

RECIPIENT_PHONE = "+17735550142"
RECIPIENT_ALT_PHONE = "+17735550143"
DRIVER_PHONE = "+13125550177"
# Six digits and marked codes: no id, port, timestamp or SID holds them by chance.
TEXTED_CODE = "482157"
BOARD_CODE = "#731905"
FAILED_REQUEST_CODE = "#640218"


class Recorder(logging.Handler):
    """Each record as a handler would write it (message with its arguments, exception, stack), plus the raw
    arguments a structured (JSON) handler would write too; formatted at once, before any other handler's
    filter can rewrite the record."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{self.format(record)} args={record.args!r}")


@pytest.fixture
def recorded_logs(settings) -> Iterator[Recorder]:
    """Root at DEBUG (LOG_LEVEL=DEBUG), and every logger with it, Django's and Celery's included.

    Loggers our LOGGING setting pins to a level keep it, and their children inherit it, as in production:
    that level is the product's own decision.
    """
    recorder = Recorder()
    root = logging.getLogger()
    loggers = [root, *(lg for lg in root.manager.loggerDict.values() if isinstance(lg, logging.Logger))]
    saved = {logger: (logger.level, logger.disabled) for logger in loggers}
    pinned = tuple(settings.LOGGING.get("loggers", {}))
    # Django's server log and Celery's do not propagate to the root: record them where they are.
    attached = [logger for logger in loggers if logger is root or not logger.propagate]
    for logger in loggers:
        if not any(logger.name == name or logger.name.startswith(f"{name}.") for name in pinned):
            logger.setLevel(logging.DEBUG)
        logger.disabled = False
    for logger in attached:
        logger.handlers.insert(0, recorder)
    try:
        yield recorder
    finally:
        for logger in attached:
            logger.removeHandler(recorder)
        for logger, (level, disabled) in saved.items():
            logger.setLevel(level)
            logger.disabled = disabled


def test_a_whole_case_logs_no_code_and_no_phone_number(
    alice, bob, dave, erin, dave_stop, live_twilio, live_server, sends_enqueued, recorded_logs, settings
):
    recipient = dave_stop.order.recipient
    Recipient.objects.filter(pk=recipient.pk).update(
        phone=RECIPIENT_PHONE, alt_phone=RECIPIENT_ALT_PHONE, quiet_hours_start="00:00", quiet_hours_end="00:00"
    )
    Driver.objects.filter(pk=dave.pk).update(phone=DRIVER_PHONE)
    at(dave, dave_stop)
    api = client_for(dave.user, ApiToken.Kind.DRIVER)
    inbound = f"{live_server.url}/outreach/twilio/inbound"

    # The driver's failed scan opens a case; triage asks the recipient by SMS through the real SDK.
    scan = api.post(
        f"/api/v1/driver/stops/{dave_stop.pk}/scans",
        {"outcome": "failed", "reason_code": "ACCESS_DENIED", "device_time": timezone.now().isoformat()},
        format="json",
        HTTP_IDEMPOTENCY_KEY="logs-1",
    )
    assert scan.status_code == 201, scan.content
    case_id = scan.json()["case_id"]
    exception_tasks.case_triage_task.apply(args=(case_id,))
    (question,) = sends_enqueued
    assert outreach_tasks.message_send_task.apply(args=(question,)).get() == Message.Status.SENT
    assert live_twilio.posts[-1]["To"] == RECIPIENT_PHONE
    sent = Message.objects.get(pk=question)
    assert live_twilio.report_status(sent.provider_sid, "delivered", auth_token=TWILIO_TOKEN) == 204

    # The recipient texts the gate code back; a dispatcher enters another; the driver reveals them.
    assert (
        live_twilio.reply(inbound, sender=RECIPIENT_PHONE, body=f"gate code is {TEXTED_CODE}", auth_token=TWILIO_TOKEN)
        == 200
    )
    assert [c.secret for c in AccessCredential.objects.filter(address=dave_stop.order.address)] == [TEXTED_CODE]
    board = signed_in(alice)
    version = ExceptionCase.objects.get(pk=case_id).version
    entered = board.post(
        f"/api/v1/board/cases/{case_id}/access-code",
        {"version": version, "code": BOARD_CODE},
        content_type="application/json",
    )
    assert entered.status_code == 200, entered.content
    revealed = api.post(f"/api/v1/driver/stops/{dave_stop.pk}/access-code/reveal")
    assert {code["code"] for code in revealed.json()["codes"]} >= {TEXTED_CODE, BOARD_CODE}

    # Requests that fail, carrying codes and numbers.
    forged = live_twilio.post_to(
        inbound,
        {"MessageSid": "SMforged", "From": RECIPIENT_PHONE, "Body": f"code {FAILED_REQUEST_CODE}"},
        auth_token="not-our-token",
    )
    assert forged == 403
    stale = board.post(
        f"/api/v1/board/cases/{case_id}/access-code",
        {"version": version, "code": FAILED_REQUEST_CODE},
        content_type="application/json",
    )
    assert stale.status_code == 409
    elsewhere = signed_in(bob).post(
        f"/api/v1/board/cases/{case_id}/access-code",
        {"version": version + 1, "code": FAILED_REQUEST_CODE},
        content_type="application/json",
    )
    assert elsewhere.status_code == 404
    malformed = api.post(
        f"/api/v1/driver/stops/{dave_stop.pk}/scans",
        {
            "outcome": "failed",
            "device_time": "yesterday",
            "notes": f"call {RECIPIENT_PHONE}, code {FAILED_REQUEST_CODE}",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="logs-2",
    )
    assert malformed.status_code == 400
    assert client_for(erin.user).post(f"/api/v1/driver/stops/{dave_stop.pk}/access-code/reveal").status_code == 404
    # A send Twilio never answers, settled by asking Twilio for the recipient's messages; then one it refuses.
    settings.TWILIO_HTTP_TIMEOUT = 0.5
    live_twilio.answer(STALL, OPTED_OUT)
    for text in ("We are on our way back.", "We could not reach you."):
        message = board.post(
            f"/api/v1/board/cases/{case_id}/message",
            {"version": ExceptionCase.objects.get(pk=case_id).version, "text": text},
            content_type="application/json",
        )
        assert message.status_code == 200, message.content
        outreach_tasks.message_send_task.apply(args=(sends_enqueued[-1],))
    stalled, refused = Message.objects.filter(pk__in=sends_enqueued[-2:]).order_by("pk")
    assert (stalled.status, refused.status) == (Message.Status.UNKNOWN, Message.Status.FAILED)
    later = timezone.now() + dt.timedelta(hours=1)
    assert message_reconcile(message_id=stalled.pk, now=later) == Message.Status.SENT

    lines = recorded_logs.lines
    # The recorder saw the live server's thread and Celery's task log, not only the test's own thread.
    assert any("Forbidden: /outreach/twilio/inbound" in line for line in lines), "the recorder missed records"
    assert any(line.startswith("celery.app.trace") for line in lines), "the recorder missed Celery's records"
    secrets = (TEXTED_CODE, BOARD_CODE, BOARD_CODE.lstrip("#"), FAILED_REQUEST_CODE, FAILED_REQUEST_CODE.lstrip("#"))
    numbers = (RECIPIENT_PHONE, RECIPIENT_ALT_PHONE, DRIVER_PHONE, DESK_NUMBER)
    leaks = [
        (secret, line)
        for line in lines
        for secret in (*secrets, *numbers, *(number.lstrip("+") for number in numbers))
        if secret in line
    ]
    assert not leaks, "\n".join(f"{secret!r} in: {line}" for secret, line in leaks)
