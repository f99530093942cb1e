"""WhatsApp as a second channel, through the same Twilio Messaging API (the real SDK against the fake Twilio).

A recipient who prefers WhatsApp is written to at "whatsapp:" addresses from the WhatsApp sender. Outside the
24 hours after they last wrote, only an approved template may go (the text is its variable); without one, the text
goes by SMS. Their WhatsApp replies come in on the same signed webhook and are acted on like texts.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from dispatch.models import Recipient
from exceptions.models import ExceptionCase
from outreach.models import Channel, Message
from tests.helpers import at, fail, instructions, reload, texts_sent, triaged, twilio_post

pytestmark = pytest.mark.usefixtures("triage_enqueued", "signed")

SENDER = "whatsapp:+14155550100"
TEMPLATE = "HX" + "1" * 32


@pytest.fixture
def whatsapp(settings, twilio) -> Any:
    settings.TWILIO_WHATSAPP_FROM = SENDER
    settings.TWILIO_WHATSAPP_TEMPLATE_SID = TEMPLATE
    return twilio


@pytest.fixture
def prefers_whatsapp(dave_stop) -> Recipient:
    recipient = dave_stop.order.recipient
    recipient.preferred_channel = Recipient.Channel.WHATSAPP
    recipient.save()
    return recipient


def _asked(dave: Any, stop: Any, fake: Any) -> ExceptionCase:
    at(dave, stop)
    case = triaged(fail(stop))
    texts_sent(fake)
    return case


def _whatsapp_reply(client: Any, recipient: Recipient, body: str, sid: str) -> None:
    params = {"MessageSid": sid, "From": f"whatsapp:{recipient.phone}", "To": SENDER, "Body": body}
    assert twilio_post(client, "/outreach/twilio/inbound", params).status_code == 200


def test_the_first_message_goes_as_the_approved_template_carrying_the_text(whatsapp, prefers_whatsapp, dave, dave_stop):
    case = _asked(dave, dave_stop, whatsapp)

    (sent,) = whatsapp.accepted
    assert (sent["To"], sent["From"], sent["ContentSid"]) == (f"whatsapp:{prefers_whatsapp.phone}", SENDER, TEMPLATE)
    assert "Body" not in sent
    question = Message.objects.get(conversation__case=case, direction="outbound")
    assert json.loads(sent["ContentVariables"]) == {"1": question.body}
    assert (question.channel, question.status) == (Channel.WHATSAPP, Message.Status.SENT)


def test_a_whatsapp_reply_is_acted_on_and_the_answer_goes_freely_inside_the_window(
    client, whatsapp, prefers_whatsapp, dave, dave_stop
):
    case = _asked(dave, dave_stop, whatsapp)

    _whatsapp_reply(client, prefers_whatsapp, "the gate code is 4417", "SMwa0001")

    case = reload(case)
    assert case.pending_outcome == ExceptionCase.Outcome.ACCESS_CODE_PROVIDED
    assert [i.kind for i in instructions(dave_stop)][-1] == "access_code"
    reply = Message.objects.get(conversation__case=case, direction="inbound")
    assert (reply.channel, reply.body) == (Channel.WHATSAPP, "the gate code is ••••")
    texts_sent(whatsapp)
    read_back = whatsapp.accepted[-1]
    assert (read_back["To"], read_back["From"]) == (f"whatsapp:{prefers_whatsapp.phone}", SENDER)
    assert read_back["Body"] == "Got it: code 4417. The driver will be back to try again."
    assert "ContentSid" not in read_back


def test_outside_the_window_with_no_template_it_goes_by_sms(settings, whatsapp, prefers_whatsapp, dave, dave_stop):
    settings.TWILIO_WHATSAPP_TEMPLATE_SID = ""

    case = _asked(dave, dave_stop, whatsapp)

    (sent,) = whatsapp.accepted
    assert sent["To"] == str(prefers_whatsapp.phone)
    assert "From" in sent
    assert not sent["From"].startswith("whatsapp:")
    assert Message.objects.get(conversation__case=case, direction="outbound").channel == Channel.SMS


def test_without_a_whatsapp_sender_the_preference_falls_back_to_sms(twilio, prefers_whatsapp, dave, dave_stop):
    case = _asked(dave, dave_stop, twilio)

    (sent,) = twilio.accepted
    assert sent["To"] == str(prefers_whatsapp.phone)
    assert Message.objects.get(conversation__case=case, direction="outbound").channel == Channel.SMS
