"""The board's actions on a case: approve, resolve, window, access code, message, call, return, assign,
release; a stale version is a 409, a move the case does not allow or bad input a 400; and any input to the
board's API gets a documented answer, never a 500.

Alice dispatches at Chicago, Carol too, Bob at Milwaukee; Dave and Erin drive for Chicago.
Cases are opened by failed scans through the driver's service
and worked through the real workflow, with outreach and routing recorded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from dispatch.models import AccessCredential, DriverInstruction, Order, Recipient
from exceptions.models import CaseEvent, ExceptionCase, ReplyIntent
from outreach import tasks as outreach_tasks
from outreach.models import Message
from tests.factories import StopFactory
from tests.helpers import act, at, case_url, escalated, fail, reply, signed_in, triaged

State = ExceptionCase.State
Outcome = ExceptionCase.Outcome
pytestmark = pytest.mark.usefixtures("outreach", "routing", "triage_enqueued")


# --- Actions --------------------------------------------------------------------------------------------------------


def test_approve_applies_the_outcome_the_policy_held_back(alice_client, dave, dave_stop):
    Order.objects.filter(pk=dave_stop.order_id).update(signature_required=True)
    at(dave, dave_stop)
    case = reply(triaged(fail(dave_stop, "RECIPIENT_ABSENT")), ReplyIntent.SAFE_DROP, detail="behind the planter")
    case = reply(case, ReplyIntent.SAFE_DROP, detail="behind the planter")  # asked when someone is in: the same
    assert "approve" in alice_client.get(case_url(case)).json()["actions"]

    response = act(alice_client, case, "approve")

    assert response.status_code == 200
    row = response.json()["case"]
    assert (row["state"], row["pending_outcome"], row["needs_human"]) == (State.RESOLVING, Outcome.SAFE_DROP, False)
    assert DriverInstruction.objects.get(stop=dave_stop).kind == DriverInstruction.Kind.SAFE_DROP


def test_resolve_records_the_outcome_settled_by_hand(alice, alice_client, dave_stop, outreach):
    case = escalated(dave_stop)

    response = act(alice_client, case, "resolve", outcome=Outcome.PICKUP_POINT, note="collects at the locker")

    assert response.status_code == 200
    assert (response.json()["case"]["state"], response.json()["case"]["outcome"]) == (
        State.RESOLVED,
        Outcome.PICKUP_POINT,
    )
    assert ExceptionCase.objects.get(pk=case.pk).resolved_by == alice


@pytest.mark.parametrize("told", [True, False], ids=["texted", "told-by-the-dispatcher"])
def test_resolve_texts_the_recipient_unless_the_dispatcher_already_told_them(alice_client, dave_stop, outreach, told):
    case = escalated(dave_stop)

    response = act(
        alice_client, case, "resolve", outcome=Outcome.CANCELLED, note="replacement promised", tell_recipient=told
    )

    assert response.status_code == 200
    assert outreach.notified == ([(case.pk, Outcome.CANCELLED)] if told else [])
    summary = CaseEvent.objects.filter(case=case, summary__startswith="Resolved by hand").get().summary
    assert summary.endswith("(the recipient is not texted the outcome)") != told


def test_window_asks_routing_for_a_slot(alice_client, dave_stop, routing):
    case = escalated(dave_stop)
    start = (timezone.now() + dt.timedelta(hours=3)).replace(microsecond=0)

    response = act(
        alice_client,
        case,
        "window",
        window_start=start.isoformat(),
        window_end=(start + dt.timedelta(hours=2)).isoformat(),
    )

    assert response.status_code == 200
    zone = dave_stop.run.depot.time_zone
    same_day = timezone.localdate(start, zone) == timezone.localdate(timezone.now(), zone)
    expected = Outcome.RESCHEDULED_SAME_DAY if same_day else Outcome.RESCHEDULED_LATER
    assert response.json()["case"]["pending_outcome"] == expected
    assert routing.requests[-1]["window_start"] == start


def test_an_access_code_goes_to_the_vault_and_never_back(alice_client, dave, dave_stop):
    at(dave, dave_stop)
    case = escalated(dave_stop)

    response = act(alice_client, case, "access-code", code="#1990")

    assert response.status_code == 200
    assert "#1990" not in response.content.decode()
    assert response.json()["case"]["pending_outcome"] == Outcome.ACCESS_CODE_PROVIDED
    credential = AccessCredential.objects.get(address=dave_stop.order.address)
    assert (credential.secret, credential.source) == ("#1990", AccessCredential.Source.DISPATCHER)


def test_message_queues_the_dispatchers_words_and_records_them(
    alice, alice_client, dave_stop, monkeypatch, django_capture_on_commit_callbacks
):
    case = escalated(dave_stop)
    # No quiet hours, whatever the time the test runs: the message goes at once.
    Recipient.objects.filter(pk=dave_stop.order.recipient_id).update(
        quiet_hours_start=dt.time(0), quiet_hours_end=dt.time(0)
    )
    sent: list[int] = []
    monkeypatch.setattr(outreach_tasks.message_send_task, "delay", sent.append)

    with django_capture_on_commit_callbacks(execute=True):
        response = act(alice_client, case, "message", text="We will be back after 5pm, is that OK?")

    assert response.status_code == 200
    message = Message.objects.get(conversation__case=case)
    assert (message.body, message.direction, message.status) == (
        "We will be back after 5pm, is that OK?",
        Message.Direction.OUTBOUND,
        Message.Status.QUEUED,
    )
    assert sent == [message.pk]
    event = CaseEvent.objects.filter(case=case).latest("id")
    assert (event.kind, event.actor_user) == (CaseEvent.Kind.MESSAGE_OUT, alice)
    assert response.json()["case"]["last_summary"] == "Dispatcher's message to the recipient: queued"


def test_a_message_held_for_quiet_hours_shows_as_held_exactly_as_written_and_can_go_now(
    alice_client, dave_stop, monkeypatch, django_capture_on_commit_callbacks
):
    case = escalated(dave_stop)
    zone = dave_stop.run.depot.time_zone
    local = timezone.now().astimezone(zone).replace(second=0, microsecond=0)
    # Quiet hours around now, whatever the time the suite runs at.
    Recipient.objects.filter(pk=dave_stop.order.recipient_id).update(
        quiet_hours_start=(local - dt.timedelta(hours=1)).time(), quiet_hours_end=(local + dt.timedelta(hours=2)).time()
    )
    sent: list[int] = []
    monkeypatch.setattr(outreach_tasks.message_send_task, "delay", sent.append)

    with django_capture_on_commit_callbacks(execute=True):
        response = act(alice_client, case, "message", text="A replacement comes tomorrow 10-12.")

    assert response.status_code == 200
    assert sent == []  # not sent, and nothing says it was
    until = local + dt.timedelta(hours=2)
    assert response.json()["case"]["last_summary"] == (
        "Dispatcher's message to the recipient: held for quiet hours until "
        f"{until:%a %d %b}, {until.hour % 12 or 12}:{until:%M %p %Z}"
    )
    detail = alice_client.get(case_url(case)).json()
    (bubble,) = detail["conversation"]
    # What a dispatcher reads is what will go: a time is not a code.
    assert bubble["body"] == "A replacement comes tomorrow 10-12."
    assert bubble["status"] == "held"
    assert dt.datetime.fromisoformat(bubble["held_until"]) == until
    assert "send-now" in detail["actions"]

    with django_capture_on_commit_callbacks(execute=True):
        response = act(alice_client, case, "send-now", message_id=bubble["id"])

    assert response.status_code == 200
    assert sent == [bubble["id"]]
    assert Message.objects.get(pk=bubble["id"]).release_at is None
    assert CaseEvent.objects.filter(case=case).latest("id").summary == "Sent a message held for quiet hours now"
    # Sent already: there is nothing held to send, and the board says so.
    again = act(alice_client, case, "send-now", message_id=bubble["id"])
    assert (again.status_code, again.json()["code"]) == (400, "not_allowed")


def test_message_to_a_recipient_who_cannot_be_reached_is_refused(alice_client, dave_stop):
    case = escalated(dave_stop)
    Recipient.objects.filter(pk=dave_stop.order.recipient_id).update(opted_out=True)
    version = ExceptionCase.objects.get(pk=case.pk).version

    response = act(alice_client, case, "message", text="Hello?")

    assert response.status_code == 400
    assert response.json()["code"] == "not_allowed"
    assert not Message.objects.filter(conversation__case=case).exists()
    assert ExceptionCase.objects.get(pk=case.pk).version == version  # the timeline line rolled back with it


def test_call_return_assign_and_release(alice, carol, alice_client, dave_stop, erin, outreach):
    case = escalated(dave_stop)

    called = act(alice_client, case, "call", note="no answer")
    assert called.json()["case"]["last_summary"] == "Called the recipient. no answer"

    mine = act(alice_client, case, "assign", user_id=None).json()["case"]
    assert mine["assigned_to"] == "alice"
    hers = act(alice_client, case, "assign", user_id=carol.pk).json()["case"]
    assert hers["assigned_to"] == "carol"

    released = act(alice_client, case, "release")
    assert released.status_code == 200
    assert released.json()["case"]["state"] == State.AWAITING_RECIPIENT
    assert released.json()["case"]["assigned_to"] is None

    other = escalated(StopFactory(run__driver=erin))
    returned = act(alice_client, other, "return", note="refused at the door")
    assert returned.status_code == 200
    assert returned.json()["case"]["outcome"] == Outcome.RETURNED_TO_SENDER


def test_a_stale_version_is_a_409_with_the_case_as_it_is(alice_client, dave_stop):
    case = escalated(dave_stop)
    seen = case.version
    act(alice_client, case, "call")

    response = act(alice_client, case, "return", version=seen)

    assert response.status_code == 409
    body = response.json()
    assert "changed since you opened it" in body["detail"]
    assert body["case"]["version"] == seen + 1
    assert ExceptionCase.objects.get(pk=case.pk).state == State.ESCALATED


def test_a_move_the_case_does_not_allow_is_a_400(alice_client, dave_stop):
    case = triaged(fail(dave_stop))

    for action in ("release", "approve"):
        response = act(alice_client, case, action)
        assert response.status_code == 400
        assert response.json()["code"] == "not_allowed"


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("call", {"version": "x"}, "version"),
        ("call", {"version": None}, "version"),
        ("resolve", {"outcome": "teleported"}, "outcome"),
        ("window", {"window_start": "tomorrow"}, "window_start"),
        ("window", {"window_start": "0001-01-01T00:00:00Z"}, "window_start"),
        ("window", {"window_start": "NOW", "window_end": "BEFORE"}, "window_end"),
        ("access-code", {"code": ""}, "code"),
        ("message", {"text": "x" * 641}, "text"),
        ("assign", {"user_id": "OUTSIDER"}, "user_id"),
    ],
)
def test_bad_input_is_a_400_with_field_messages(alice_client, bob, dave_stop, action, body, field):
    case = escalated(dave_stop)
    now = timezone.now()
    replacements = {
        "NOW": (now + dt.timedelta(hours=1)).isoformat(),
        "BEFORE": now.isoformat(),
        "OUTSIDER": bob.pk,
    }
    body = {key: replacements.get(value, value) if isinstance(value, str) else value for key, value in body.items()}
    body.setdefault("version", case.version)

    response = alice_client.post(case_url(case, action), body, content_type="application/json")

    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_a_body_that_is_not_an_object_is_a_400(alice_client, dave_stop):
    case = escalated(dave_stop)
    before, events = ExceptionCase.objects.values().get(pk=case.pk), case.events.count()
    for raw, code in (("[1, 2]", "invalid"), ("{not json", "parse_error"), ('"text"', "invalid")):
        response = alice_client.post(case_url(case, "call"), raw, content_type="application/json")
        assert response.status_code == 400
        assert response.json()["code"] == code, raw
    assert ExceptionCase.objects.values().get(pk=case.pk) == before
    assert case.events.count() == events


# --- Any input: a documented answer, never a 500 --------------------------------------------------------------------


board_schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application()).include(
    operation_id_regex=r"^board_"
)


@pytest.fixture
def alice_browser(alice, dave_stop) -> dict[str, Any]:
    client = signed_in(alice)
    client.get("/board/")
    token = client.cookies["csrftoken"].value
    return {
        "case_id": escalated(dave_stop).pk,
        "cookies": {"sessionid": client.cookies["sessionid"].value, "csrftoken": token},
        "headers": {"X-CSRFToken": token},
    }


@board_schema.parametrize()
@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_board_api_keeps_its_contract_for_any_input(case, alice_browser, keep_test_connection):
    # Random ids are all 404s: point most requests at Alice's case, so bodies reach the workflow.
    drawn = (case.path_parameters or {}).get("case_id")
    if drawn is not None and (not isinstance(drawn, int) or drawn % 4):
        case.path_parameters["case_id"] = alice_browser["case_id"]
    case.call_and_validate(
        cookies=alice_browser["cookies"],
        headers=alice_browser["headers"],
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
