"""A failed scan to an answered case over real HTTP: the driver API, the SDK to a fake Twilio, signed callbacks."""

from __future__ import annotations

import pytest
from django.utils import timezone

from dispatch.models import AccessCredential, ApiToken, DriverInstruction
from exceptions import workflow
from exceptions.models import ExceptionCase
from outreach.models import Message
from outreach.services import message_send
from tests.helpers import TWILIO_TOKEN, at, client_for

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("triage_enqueued"),
]


def test_a_gate_code_by_sms_reaches_the_driver(dave, dave_stop, live_twilio, live_server, triage_enqueued):
    at(dave, dave_stop)
    api = client_for(dave.user, ApiToken.Kind.DRIVER)
    scan = api.post(
        f"/api/v1/driver/stops/{dave_stop.pk}/scans",
        {"outcome": "failed", "reason_code": "ACCESS_DENIED", "device_time": timezone.now().isoformat()},
        format="json",
        HTTP_IDEMPOTENCY_KEY="e2e-1",
    )
    assert scan.status_code == 201, scan.content
    case_id = scan.json()["case_id"]
    assert triage_enqueued == [case_id]
    workflow.case_triage(case_id=case_id)  # what the triage task runs
    question = Message.objects.get(conversation__case_id=case_id)

    assert message_send(message_id=question.pk).status == Message.Status.SENT
    question.refresh_from_db()
    assert live_twilio.report_status(question.provider_sid, "delivered", auth_token=TWILIO_TOKEN) == 204
    question.refresh_from_db()
    assert question.status == Message.Status.DELIVERED

    recipient = dave_stop.order.recipient
    inbound = f"{live_server.url}/outreach/twilio/inbound"
    assert (
        live_twilio.reply(inbound, sender=str(recipient.phone), body="gate code is 4821", auth_token=TWILIO_TOKEN)
        == 200
    )

    case = ExceptionCase.objects.get(pk=case_id)
    assert (case.state, case.pending_outcome) == (ExceptionCase.State.RESOLVING, "access_code_provided")
    assert AccessCredential.objects.get(address=dave_stop.order.address).secret == "4821"
    feed = api.get("/api/v1/driver/instructions?after=0").json()
    assert [item["kind"] for item in feed["instructions"]] == [DriverInstruction.Kind.ACCESS_CODE]

    delivered = api.post(
        f"/api/v1/driver/stops/{dave_stop.pk}/scans",
        {"outcome": "delivered", "device_time": timezone.now().isoformat()},
        format="json",
        HTTP_IDEMPOTENCY_KEY="e2e-2",
    )
    assert delivered.status_code == 201
    case.refresh_from_db()
    assert (case.state, case.outcome) == (ExceptionCase.State.RESOLVED, "access_code_provided")


def test_a_forged_callback_to_the_live_server_is_refused(live_twilio, live_server):
    status = live_twilio.post_to(
        f"{live_server.url}/outreach/twilio/status",
        {"MessageSid": "SMforged", "MessageStatus": "delivered"},
        auth_token="not-our-token",
    )

    assert status == 403
