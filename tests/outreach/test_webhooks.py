"""Twilio's webhooks, signed with the real RequestValidator the way Twilio signs them."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from demo.fakes.twilio import FakeTwilio
from dispatch.models import Recipient
from outreach.models import Message
from outreach.services import message_send
from tests.factories import RecipientFactory
from tests.helpers import PUBLIC_URL, TWILIO_TOKEN, asked, at, twilio_post

pytestmark = pytest.mark.usefixtures("triage_enqueued")


@pytest.fixture
def sent(dave_stop, settings) -> Message:
    """A question sent through the real SDK to the fake Twilio."""
    with FakeTwilio() as fake:
        settings.OUTREACH_SMS_BACKEND = "outreach.backends.TwilioBackend"
        settings.TWILIO_API_BASE_URL = fake.url
        settings.TWILIO_ACCOUNT_SID = "AC" + "0" * 32
        settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
        settings.TWILIO_FROM_NUMBER = "+13125550000"
        settings.EXCEPTIONS_OUTREACH = "outreach.adapter.SmsOutreach"
        message = asked(dave_stop)
        message_send(message_id=message.pk)
        assert fake.posts[0]["StatusCallback"] == "http://127.0.0.1:8000/outreach/twilio/status"
    message.refresh_from_db()
    return message


def status(client, message: Message, value: str, **extra_params: str):
    return twilio_post(
        client,
        "/outreach/twilio/status",
        {"MessageSid": str(message.provider_sid), "MessageStatus": value, **extra_params},
    )


def test_a_signed_status_moves_the_message_forward(client, sent, signed):
    response = status(client, sent, "delivered")

    assert response.status_code == 204
    sent.refresh_from_db()
    assert sent.status == Message.Status.DELIVERED
    assert sent.delivered_at is not None


def test_a_late_or_replayed_status_never_moves_it_back(client, sent, signed):
    status(client, sent, "delivered")

    for late in ("sent", "queued", "delivered"):
        assert status(client, sent, late).status_code == 204

    sent.refresh_from_db()
    assert sent.status == Message.Status.DELIVERED


def test_an_opted_out_error_in_a_status_opts_the_recipient_out(client, sent, signed):
    status(client, sent, "failed", ErrorCode="21610")

    sent.refresh_from_db()
    assert (sent.status, sent.error_code) == (Message.Status.FAILED, 21610)
    assert Recipient.objects.get(pk=sent.conversation.recipient_id).opted_out


@pytest.mark.parametrize(
    "forgery",
    ["tampered parameter", "missing signature", "wrong url", "other token"],
)
def test_an_unsigned_or_forged_status_is_refused(client, sent, signed, forgery):
    params = {"MessageSid": sent.provider_sid, "MessageStatus": "delivered"}
    good = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_URL + "/outreach/twilio/status", params)
    signature = {
        "tampered parameter": good,
        "missing signature": "",
        "wrong url": RequestValidator(TWILIO_TOKEN).compute_signature(
            "https://evil.example.com/outreach/twilio/status", params
        ),
        "other token": RequestValidator("another-token").compute_signature(
            PUBLIC_URL + "/outreach/twilio/status", params
        ),
    }[forgery]
    if forgery == "tampered parameter":
        params = {**params, "MessageStatus": "failed"}

    response = twilio_post(client, "/outreach/twilio/status", params, signature=signature)

    assert response.status_code == 403
    sent.refresh_from_db()
    assert sent.status == Message.Status.SENT


# --- Replies ---------------------------------------------------------------------------------------------------------


def reply(client, message: Message, body: str, sid: str = "SMreply0001"):
    recipient = message.conversation.recipient
    return twilio_post(
        client,
        "/outreach/twilio/inbound",
        {"MessageSid": sid, "From": str(recipient.phone), "To": "+13125550000", "Body": body},
    )


def test_a_code_in_a_reply_reaches_the_vault_and_the_driver(client, sent, signed, dave, dave_stop):
    from dispatch.models import AccessCredential, DriverInstruction
    from exceptions.models import ExceptionCase

    at(dave, dave_stop)

    response = reply(client, sent, "gate code is 4821")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    case = ExceptionCase.objects.get(pk=sent.conversation.case_id)
    assert (case.state, case.pending_outcome) == (ExceptionCase.State.RESOLVING, "access_code_provided")
    assert AccessCredential.objects.get(address=dave_stop.order.address).secret == "4821"
    assert DriverInstruction.objects.filter(stop=dave_stop, kind="access_code").count() == 1
    inbound = Message.objects.get(direction=Message.Direction.INBOUND)
    assert "4821" not in inbound.body


def test_a_reply_twilio_sends_twice_is_processed_once(client, sent, signed):
    from exceptions.models import CaseEvent

    reply(client, sent, "can you come after 5?", sid="SMtwice")
    reply(client, sent, "can you come after 5?", sid="SMtwice")

    assert Message.objects.filter(direction=Message.Direction.INBOUND).count() == 1
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.UNDERSTANDING).count() == 1


def test_stop_opts_out_and_so_does_any_plain_way_of_saying_it(client, sent, signed):
    # The carrier acts on the bare keyword only; since the FCC's 2025 rule we honour "STOP PLEASE" ourselves.
    recipient_id = sent.conversation.recipient_id

    reply(client, sent, "STOP PLEASE", sid="SMa")
    assert Recipient.objects.get(pk=recipient_id).opted_out
    assert not Message.objects.filter(direction=Message.Direction.OUTBOUND, template_key="reprompt").exists()

    # YES opts a number back in at the carrier, though to us it answers nothing.
    reply(client, sent, "YES", sid="SMb")
    assert not Recipient.objects.get(pk=recipient_id).opted_out
    reply(client, sent, "stop", sid="SMc")
    assert Recipient.objects.get(pk=recipient_id).opted_out


def test_stop_and_start_hold_for_the_number_in_every_depot(client, sent, signed, milwaukee):
    # The carrier blocks our sender for a number, so another depot's record of the same person stops too.
    ours = Recipient.objects.get(pk=sent.conversation.recipient_id)
    theirs = RecipientFactory(depot=milwaukee, phone=ours.phone)
    stranger = RecipientFactory(depot=milwaukee, phone="+14145550199")

    reply(client, sent, "STOP", sid="SMa")
    assert [r.opted_out for r in Recipient.objects.filter(pk__in=[ours.pk, theirs.pk, stranger.pk]).order_by("pk")] == [
        True,
        True,
        False,
    ]

    reply(client, sent, "START", sid="SMb")
    assert not Recipient.objects.filter(pk__in=[ours.pk, theirs.pk], opted_out=True).exists()


def test_help_is_answered_in_twiml(client, sent, signed):
    response = reply(client, sent, "HELP")

    assert b"<Message>" in response.content
    assert b"STOP" in response.content


def test_an_unsigned_reply_is_refused_and_changes_nothing(client, sent, signed):
    params = {"MessageSid": "SMx", "From": str(sent.conversation.recipient.phone), "Body": "gate code is 4821"}

    response = twilio_post(client, "/outreach/twilio/inbound", params, signature="not-a-signature")

    assert response.status_code == 403
    assert not Message.objects.filter(direction=Message.Direction.INBOUND).exists()


def test_back_at_2pm_asks_routing_for_that_window(client, sent, signed, settings):
    from exceptions.models import ExceptionCase
    from tests.exceptions.standins import RecordingRouting

    RecordingRouting.reset()
    settings.EXCEPTIONS_ROUTING = "tests.exceptions.standins.RecordingRouting"

    reply(client, sent, "I'll be back at 2pm")

    case = ExceptionCase.objects.get(pk=sent.conversation.case_id)
    assert case.state == ExceptionCase.State.RESOLVING
    assert case.pending_outcome == "rescheduled_same_day"
    (request,) = RecordingRouting.requests
    local = request["window_start"].astimezone(case.depot.time_zone)
    assert (local.hour, local.minute) == (14, 0)
    RecordingRouting.reset()


def test_who_is_this_gets_one_more_question_then_a_dispatcher(client, sent, signed):
    from exceptions.models import ExceptionCase

    reply(client, sent, "who is this?", sid="SM1")
    case = ExceptionCase.objects.get(pk=sent.conversation.case_id)
    assert case.state == ExceptionCase.State.AWAITING_RECIPIENT
    assert Message.objects.filter(direction=Message.Direction.OUTBOUND, template_key="reprompt").count() == 1

    reply(client, sent, "???", sid="SM2")
    case.refresh_from_db()
    assert case.state == ExceptionCase.State.ESCALATED


def test_a_question_twilio_could_not_deliver_hands_the_case_to_a_dispatcher(client, sent, signed):
    from exceptions.models import ExceptionCase

    case = ExceptionCase.objects.get(conversation=sent.conversation)
    assert case.state == ExceptionCase.State.AWAITING_RECIPIENT

    assert status(client, sent, "undelivered", ErrorCode="30003").status_code == 204

    case.refresh_from_db()
    assert case.state == ExceptionCase.State.ESCALATED
    assert "not delivered (Twilio error 30003)" in case.escalation_reason


def test_a_delivered_status_leaves_the_case_waiting_for_the_reply(client, sent, signed):
    from exceptions.models import ExceptionCase

    status(client, sent, "delivered")

    assert ExceptionCase.objects.get(conversation=sent.conversation).state == ExceptionCase.State.AWAITING_RECIPIENT
