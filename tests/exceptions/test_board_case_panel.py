"""The board's case panel: the timeline, the conversation, the order and the actions a case offers (a
message only when a channel reaches the recipient), the dispatchers it may be assigned to; no panel or
snapshot shows an access code or a full phone number.

Alice dispatches at Chicago, Carol too; Dave drives for Chicago.
Cases are opened by failed scans through the driver's service
and worked through the real workflow, with outreach and routing recorded.
"""

from __future__ import annotations

import json

import pytest

from dispatch.models import Order, Recipient
from exceptions.board import payloads
from exceptions.models import CaseEvent
from outreach.models import Conversation, Message
from tests.factories import UserFactory
from tests.helpers import SNAPSHOT, act, case_url, escalated

pytestmark = pytest.mark.usefixtures("outreach", "routing", "triage_enqueued")


# --- A case's panel -------------------------------------------------------------------------------------------------


def test_the_panel_shows_the_timeline_conversation_order_and_actions(alice_client, dave_stop):
    Order.objects.filter(pk=dave_stop.order_id).update(signature_required=True, declared_value="120.50")
    case = escalated(dave_stop)

    body = alice_client.get(case_url(case)).json()

    assert (body["case"]["id"], body["case"]["needs_human"]) == (case.pk, True)
    assert [item["kind"] for item in body["timeline"]][:2] == [CaseEvent.Kind.SCAN, CaseEvent.Kind.DECISION]
    assert body["timeline"][-1]["summary"].startswith("Escalated")
    order = body["order"]
    assert (order["reference"], order["value"], order["signature_required"]) == (
        dave_stop.order.reference,
        "120.50",
        True,
    )
    assert order["address"] == str(dave_stop.order.address)
    assert body["actions"] == ["resolve", "window", "access-code", "message", "call", "return", "assign", "release"]


@pytest.mark.parametrize(("push_url", "offered"), [("", False), ("https://app.example.com/push", True)])
def test_message_is_offered_only_when_a_channel_reaches_the_recipient(
    alice_client, dave_stop, settings, push_url, offered
):
    # Opted out of texts, with an app: only push reaches them, and only when push is set up.
    settings.EXCEPTIONS_OUTREACH = "outreach.adapter.SmsOutreach"
    settings.OUTREACH_PUSH_URL, settings.OUTREACH_PUSH_SECRET = push_url, "push-secret" if push_url else ""
    Recipient.objects.filter(pk=dave_stop.order.recipient_id).update(opted_out=True, external_id="APP-7")
    case = escalated(dave_stop)

    assert ("message" in alice_client.get(case_url(case)).json()["actions"]) is offered


def test_the_panel_offers_the_depots_active_dispatchers_to_assign(alice, carol, alice_client, dave_stop, chicago):
    UserFactory(username="zed", first_name="Zed", is_active=False).depots.add(chicago)
    UserFactory(username="yan", first_name="Yan")  # another depot's dispatcher
    case = escalated(dave_stop)

    assignees = alice_client.get(case_url(case)).json()["assignees"]

    assert [(user["username"], user["name"]) for user in assignees] == [
        ("alice", f"Alice {alice.last_name}".strip()),
        ("carol", f"Carol {carol.last_name}".strip()),
    ]
    assert {user["id"] for user in assignees} == {alice.pk, carol.pk}


def test_no_payload_shows_an_access_code_or_a_full_phone_number(alice, alice_client, dave_stop):
    case = escalated(dave_stop)
    recipient = dave_stop.order.recipient
    Recipient.objects.filter(pk=recipient.pk).update(phone="+13125550187")
    conversation = Conversation.objects.create(case=case, recipient=recipient)
    for body in (
        f"Hi, about order {dave_stop.order.reference}: what is the gate code?",
        "gate code is 4 8 2 1, or call me on 312 555 0187",
        "the lockbox says A7X93",
    ):
        Message.objects.create(conversation=conversation, direction="inbound", body=body, idempotency_key=body[:20])
    act(alice_client, case, "access-code", code="#7731")
    act(alice_client, case, "call", note="said the code is 9944")

    panel = alice_client.get(case_url(case)).content.decode()
    snapshot = alice_client.get(SNAPSHOT).content.decode()

    for text in (panel, snapshot):
        # Spelled so that no id or timestamp can contain them by chance.
        for secret in ("4 8 2 1", "#7731", "is 9944", "A7X93", "5550187", "555 0187", "13125550187"):
            assert secret not in text
    detail = json.loads(panel)
    assert detail["recipient"]["phone_masked"] == "••••87"
    bodies = [item["body"] for item in detail["conversation"]]
    assert bodies[0] == f"Hi, about order {dave_stop.order.reference}: what is the gate code?"
    assert bodies[1] == "gate code is ••••, or call me on ••••"
    assert bodies[2] == "the lockbox says ••••"
    assert "said the code is ••••" in detail["timeline"][-1]["summary"]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("code 4821#", "code ••••"),
        ("*1990 then enter", "•••• then enter"),
        ("leave it with Maria in 3B", "leave it with Maria in 3B"),
        ("back at 2:30, or 14:00", "back at 2:30, or 14:00"),
        ("door 12-34-56", "door ••••"),
        ("apt 12B code B4X9", "apt 12B code ••••"),
    ],
)
def test_it_masks_what_could_be_a_code_and_leaves_the_rest(text, masked):
    assert payloads.text_masked(text) == masked
