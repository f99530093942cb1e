"""App push: a signed JSON POST to the customer's app, for recipients who prefer it or cannot be texted."""

from __future__ import annotations

import json

import pytest

from demo.fakes.receiver import WebhookReceiver
from dispatch.models import Recipient
from dispatch.services.webhooks import webhook_signature_verify
from exceptions import workflow
from outreach.models import Message
from outreach.services import message_send
from tests.helpers import fail

pytestmark = pytest.mark.usefixtures("triage_enqueued")
SECRET = "push-secret-for-tests"


@pytest.fixture
def app(settings):
    with WebhookReceiver() as receiver:
        settings.OUTREACH_PUSH_URL = receiver.url
        settings.OUTREACH_PUSH_SECRET = SECRET
        settings.EXCEPTIONS_OUTREACH = "outreach.adapter.SmsOutreach"
        yield receiver


def asked_by(stop, **recipient) -> Message:
    Recipient.objects.filter(pk=stop.order.recipient_id).update(external_id="crm-77", **recipient)
    case = fail(stop)
    workflow.case_triage(case_id=case.pk)
    return Message.objects.get(conversation__case=case)


@pytest.mark.parametrize(
    "recipient",
    [{"preferred_channel": "push"}, {"opted_out": True}],
    ids=["prefers-the-app", "opted-out-of-texts"],
)
def test_it_pushes_a_signed_message_to_the_app(dave_stop, app, recipient):
    message = asked_by(dave_stop, **recipient)
    assert message.channel == "push"

    assert message_send(message_id=message.pk).status == Message.Status.DELIVERED
    assert message_send(message_id=message.pk).status == "not_claimed"

    (request,) = app.requests
    assert webhook_signature_verify(
        secret=SECRET,
        timestamp=request.header("X-Dispatch-Timestamp"),
        body=request.body,
        signature=request.header("X-Dispatch-Signature"),
    )
    assert json.loads(request.body)["recipient"] == "crm-77"


def test_a_busy_app_is_tried_again(dave_stop, app):
    app.answer(503)
    message = asked_by(dave_stop, preferred_channel="push")

    assert message_send(message_id=message.pk).retry
    message.refresh_from_db()
    assert message_send(message_id=message.pk, now=message.release_at).status == Message.Status.DELIVERED
    assert len(app.requests) == 2


def test_without_a_push_endpoint_a_text_is_sent(dave_stop, settings):
    settings.EXCEPTIONS_OUTREACH = "outreach.adapter.SmsOutreach"

    message = asked_by(dave_stop, preferred_channel="push")

    assert message.channel == "sms"
