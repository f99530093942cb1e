"""The board's REST API, its pages and its events: scoping, the snapshot, the case panel, every action.

Alice dispatches at Chicago, Bob at Milwaukee; Dave drives for Chicago, Oscar
for Milwaukee. Cases are opened by failed scans through the driver's service
and worked through the real workflow, with outreach and routing recorded.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pytest
import schemathesis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.wsgi import get_wsgi_application
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from dispatch import realtime
from dispatch.models import AccessCredential, DriverInstruction, Order, Recipient
from exceptions import board, payloads, workflow
from exceptions.models import CaseEvent, ExceptionCase, ReplyIntent
from exceptions.workflow import Understanding
from outreach import tasks as outreach_tasks
from outreach.models import Conversation, Message
from tests.factories import StopFactory, UserFactory
from tests.helpers import at, escalated, fail, reply, signed_in, triaged

State = ExceptionCase.State
Outcome = ExceptionCase.Outcome
SNAPSHOT = "/api/v1/board/snapshot"
pytestmark = pytest.mark.usefixtures("outreach", "routing", "triage_enqueued")


def case_url(case: ExceptionCase, action: str = "") -> str:
    return f"/api/v1/board/cases/{case.pk}" + (f"/{action}" if action else "")


def act(client: Client, case: ExceptionCase, action: str, **body: Any) -> Any:
    body.setdefault("version", ExceptionCase.objects.get(pk=case.pk).version)
    return client.post(case_url(case, action), body, content_type="application/json")


@pytest.fixture
def alice_client(alice) -> Client:
    return signed_in(alice)


# --- Who may use the board ------------------------------------------------------------------------------------------


def test_it_refuses_anyone_not_signed_in_and_drivers(dave, dave_stop):
    case = fail(dave_stop)
    before, events = ExceptionCase.objects.values().get(pk=case.pk), case.events.count()
    for client, code in ((Client(), "not_authenticated"), (signed_in(dave.user), "permission_denied")):
        snapshot = client.get(SNAPSHOT)
        assert snapshot.status_code == 403
        panel = client.get(case_url(case))
        assert panel.status_code == 403
        call = act(client, case, "call")
        assert call.status_code == 403
        assert [response.json()["code"] for response in (snapshot, panel, call)] == [code] * 3
        assert "cases" not in snapshot.json()
    assert ExceptionCase.objects.values().get(pk=case.pk) == before
    assert case.events.count() == events


def test_another_depots_case_is_a_404_to_read_and_to_act_on(alice_client, oscar_stop):
    case = escalated(oscar_stop)

    assert alice_client.get(case_url(case)).status_code == 404
    response = act(alice_client, case, "return", note="not ours")
    assert response.status_code == 404
    assert response.json()["code"] == "case_not_found"
    assert ExceptionCase.objects.get(pk=case.pk).state == State.ESCALATED
    assert alice_client.get(f"{case_url(case)}0000000000000000000000").status_code == 404


def test_a_session_post_needs_the_csrf_token(alice, dave_stop):
    case = escalated(dave_stop)
    client = signed_in(alice, csrf=True)

    refused = act(client, case, "call", note="no answer")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]

    client.get("/board/")  # the page sets the token's cookie
    token = client.cookies["csrftoken"].value
    body = {"version": ExceptionCase.objects.get(pk=case.pk).version}
    accepted = client.post(case_url(case, "call"), body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 200


# --- The snapshot ---------------------------------------------------------------------------------------------------


def test_the_snapshot_holds_the_dispatchers_depots_only(alice_client, chicago, dave, dave_stop, oscar_stop):
    at(dave, dave_stop)
    ours = fail(dave_stop)
    fail(oscar_stop)

    body = alice_client.get(SNAPSHOT).json()

    assert [row["id"] for row in body["cases"]] == [ours.pk]
    assert set(body["seq"]) == {str(chicago.pk)}
    assert [driver["id"] for driver in body["drivers"]] == [dave.pk]
    assert (body["drivers"][0]["name"], body["drivers"][0]["lat"]) == (str(dave.user), dave.last_latitude)
    row = body["cases"][0]
    assert row == board.case_row_get(case_id=ours.pk)
    assert (row["driver_id"], row["driver_name"], row["order_reference"]) == (
        dave.pk,
        str(dave.user),
        dave_stop.order.reference,
    )
    assert (row["lat"], row["lng"]) == (dave_stop.order.address.latitude, dave_stop.order.address.longitude)
    assert row["last_summary"] == "Failed scan: ACCESS_DENIED"


def test_the_queue_is_sorted_by_priority_then_the_sla_clock(alice_client, dave):
    run = StopFactory(run__driver=dave).run
    cases = [triaged(fail(StopFactory(run=run))) for _ in range(3)]
    now = timezone.now()
    ExceptionCase.objects.filter(pk=cases[0].pk).update(priority=3, sla_due_at=now + dt.timedelta(minutes=5))
    ExceptionCase.objects.filter(pk=cases[1].pk).update(priority=1, sla_due_at=now + dt.timedelta(minutes=50))
    ExceptionCase.objects.filter(pk=cases[2].pk).update(priority=3, sla_due_at=now + dt.timedelta(minutes=1))

    ids = [row["id"] for row in alice_client.get(SNAPSHOT).json()["cases"]]

    assert ids == [cases[1].pk, cases[2].pk, cases[0].pk]


def test_the_snapshot_filters_by_state_reason_driver_age_and_depot(alice, chicago, dave, erin, dave_stop):
    waiting = triaged(fail(dave_stop, "RECIPIENT_ABSENT"))
    with_human = escalated(StopFactory(run__driver=erin))
    ExceptionCase.objects.filter(pk=with_human.pk).update(opened_at=timezone.now() - dt.timedelta(minutes=45))
    client = signed_in(alice)

    def ids(**params: Any) -> list[int]:
        response = client.get(SNAPSHOT, params)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["cases"]]

    assert ids(state="escalated") == [with_human.pk]
    assert sorted(ids(state="escalated,awaiting_recipient")) == sorted([waiting.pk, with_human.pk])
    assert ids(reason="RECIPIENT_ABSENT") == [waiting.pk]
    assert ids(driver=erin.pk) == [with_human.pk]
    assert ids(age=30) == [with_human.pk]
    assert sorted(ids(depot=chicago.pk)) == sorted([waiting.pk, with_human.pk])


def test_the_snapshot_explains_bad_filters(alice_client, milwaukee):
    response = alice_client.get(SNAPSHOT, {"state": "resolved,bogus", "age": "-3", "driver": "x"})

    assert response.status_code == 400
    fields = response.json()["fields"]
    assert set(fields) == {"state", "age", "driver"}
    assert "Not an open state: resolved, bogus" in fields["state"][0]
    assert alice_client.get(SNAPSHOT, {"depot": milwaukee.pk}).status_code == 404


def test_the_counters_count_open_escalated_breaching_and_auto_resolved_today(alice, alice_client, dave, dave_stop):
    run = dave_stop.run
    triaged(fail(dave_stop))
    escalated(StopFactory(run=run))
    late = triaged(fail(StopFactory(run=run)))
    ExceptionCase.objects.filter(pk=late.pk).update(sla_due_at=timezone.now() - dt.timedelta(minutes=1))
    # Resolved today: one by a rule (no dispatcher), one by Alice; one resolved yesterday.
    by_rule = triaged(fail(StopFactory(run=run)))
    workflow.case_reply_apply(case_id=by_rule.pk, understood=Understanding(intent=ReplyIntent.PICKUP_POINT))
    by_alice = triaged(fail(StopFactory(run=run)))
    workflow.case_return_to_sender(case_id=by_alice.pk, user=alice, version=by_alice.version)
    yesterday = triaged(fail(StopFactory(run=run)))
    workflow.case_reply_apply(case_id=yesterday.pk, understood=Understanding(intent=ReplyIntent.PICKUP_POINT))
    ExceptionCase.objects.filter(pk=yesterday.pk).update(resolved_at=timezone.now() - dt.timedelta(days=1))

    with CaptureQueriesContext(connection) as queries:
        counters = alice_client.get(SNAPSHOT, {"state": "escalated"}).json()["counters"]

    assert counters == {"open": 3, "escalated": 1, "breaching": 1, "auto_resolved_today": 1}
    assert sum("exceptions_exceptioncase" in query["sql"] for query in queries.captured_queries) == 2


def test_the_snapshot_runs_the_same_few_queries_however_many_cases(alice_client, dave):
    run = StopFactory(run__driver=dave).run

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert alice_client.get(SNAPSHOT).status_code == 200
        return len(captured.captured_queries)

    fail(StopFactory(run=run))
    before = queries()
    for _ in range(10):
        escalated(StopFactory(run=run))
    assert queries() == before


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
    assert response.json()["case"]["last_summary"] == "Dispatcher messaged the recipient"


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


# --- Events ---------------------------------------------------------------------------------------------------------


def depot_messages(depot_id: int, run: Any) -> list[dict[str, Any]]:
    """What a depot's board group receives while ``run`` runs (its sends executed on commit)."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(realtime.depot_group(depot_id), channel)
    received = []
    try:
        run()

        async def drain() -> None:
            import asyncio

            while True:
                try:
                    received.append(await asyncio.wait_for(layer.receive(channel), timeout=0.3))
                except TimeoutError:
                    return

        async_to_sync(drain)()
    finally:
        async_to_sync(layer.group_discard)(realtime.depot_group(depot_id), channel)
    return received


def test_each_change_sends_the_cases_row_numbered_after_commit(
    alice, chicago, dave_stop, django_capture_on_commit_callbacks
):
    case = escalated(dave_stop)
    start = realtime.board_seq_current([chicago.pk])[chicago.pk]

    def click() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            workflow.case_call_mark(case_id=case.pk, user=alice, version=case.version, note="voicemail")
        with django_capture_on_commit_callbacks(execute=True):
            workflow.case_assign(case_id=case.pk, user=alice, version=case.version + 1, assignee=alice)

    first, second = depot_messages(chicago.pk, click)

    assert (first["type"], first["depot_id"], first["seq"], second["seq"]) == (
        "case.changed",
        chicago.pk,
        start + 1,
        start + 2,
    )
    assert second["payload"] == board.case_row_get(case_id=case.pk)
    assert first["payload"]["last_summary"] == "Called the recipient. voicemail"


def test_a_rolled_back_change_sends_nothing_and_takes_no_number(alice, chicago, dave_stop):
    case = escalated(dave_stop)
    start = realtime.board_seq_current([chicago.pk])[chicago.pk]

    def click_then_fail() -> None:
        with transaction.atomic():
            workflow.case_call_mark(case_id=case.pk, user=alice, version=case.version)
            raise RuntimeError("rolled back")

    def rolled_back() -> None:
        with pytest.raises(RuntimeError):
            click_then_fail()

    assert depot_messages(chicago.pk, rolled_back) == []
    assert realtime.board_seq_current([chicago.pk])[chicago.pk] == start


def test_the_sweep_sends_every_breached_case_with_consecutive_numbers(
    chicago, dave_stop, django_capture_on_commit_callbacks
):
    cases = [triaged(fail(StopFactory(run=dave_stop.run))) for _ in range(3)]
    start = realtime.board_seq_current([chicago.pk])[chicago.pk]

    def sweep() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            workflow.case_timers_sweep(now=timezone.now() + dt.timedelta(minutes=31))

    messages = depot_messages(chicago.pk, sweep)
    breached = [message for message in messages if message["payload"]["sla_breached"]]

    assert {message["payload"]["id"] for message in breached} == {case.pk for case in cases}
    assert [message["seq"] for message in messages] == list(range(start + 1, start + 1 + len(messages)))
    assert all(message["payload"]["state"] == State.ESCALATED for message in breached)


def test_the_row_of_a_locked_case_costs_no_query(dave_stop, carol):
    case = escalated(dave_stop)
    ExceptionCase.objects.filter(pk=case.pk).update(assigned_to=carol)
    locked = (
        ExceptionCase.objects.select_related(*workflow.CASE_RELATED).filter(pk=case.pk).get()
    )  # what the workflow's lock loads

    with CaptureQueriesContext(connection) as queries:
        row = payloads.case_row_of(locked, last_summary="x")

    assert queries.captured_queries == []
    assert {**row, "last_summary": ""} == {**(board.case_row_get(case_id=case.pk) or {}), "last_summary": ""}
    assert row["assigned_to"] == "carol"


# --- Pages ----------------------------------------------------------------------------------------------------------


def test_the_board_page_carries_the_users_depots_the_tiles_and_the_socket(alice, chicago, settings):
    settings.BOARD_TILE_URL = ""
    response = signed_in(alice).get("/board/")

    assert response.status_code == 200
    assert [depot.pk for depot in response.context["depots"]] == [chicago.pk]
    assert (response.context["tile_url"], response.context["ws_path"]) == ("", "/ws/board/")
    assert "csrftoken" in response.cookies


def test_the_analytics_page_carries_the_users_depots(admin_user, chicago, milwaukee):
    response = signed_in(admin_user).get("/analytics/")

    assert response.status_code == 200
    assert {depot.pk for depot in response.context["depots"]} == {chicago.pk, milwaukee.pk}


def test_the_pages_send_others_to_sign_in(dave):
    assert Client().get("/")["Location"] == "/board/"
    for client in (Client(), signed_in(dave.user)):
        for page in ("/board/", "/analytics/"):
            response = client.get(page)
            assert response.status_code == 302
            assert response["Location"].startswith(f"/accounts/login/?next={page}")


def test_a_dispatcher_signs_in_and_lands_on_the_board(alice):
    alice.set_password("correct-horse-battery")
    alice.save()
    client = Client(enforce_csrf_checks=True)
    page = client.get("/accounts/login/")
    token = page.cookies["csrftoken"].value

    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "correct-horse-battery", "csrfmiddlewaretoken": token}
    )

    assert (response.status_code, response["Location"]) == (302, "/board/")
    assert client.session["_auth_user_id"] == str(alice.pk)
    alice.refresh_from_db()
    assert alice.last_login is not None
    assert client.get("/board/").status_code == 200
    out = client.post("/accounts/logout/", {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert (out.status_code, out["Location"]) == (302, "/accounts/login/")
    assert "_auth_user_id" not in client.session
    assert client.get("/board/")["Location"].startswith("/accounts/login/")


# --- Metrics: CSV and areas ------------------------------------------------------------------------------------------


def test_the_metrics_come_as_csv_with_a_file_name(alice, dave_stop):
    escalated(dave_stop)
    client = signed_in(alice)
    today = timezone.localdate(timezone.now(), dave_stop.run.depot.time_zone).isoformat()

    as_json = client.get("/api/v1/metrics", {"group_by": "reason_code"})
    for response in (
        client.get("/api/v1/metrics", {"group_by": "reason_code", "format": "csv"}),
        client.get("/api/v1/metrics.csv", {"group_by": "reason_code"}),
    ):
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert response["Content-Disposition"] == f'attachment; filename="metrics_{today}_{today}_by_reason_code.csv"'
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        assert [row["group"] for row in rows] == ["total", "reason_code"]
        assert rows[1]["key"] == "ACCESS_DENIED"
        assert rows[0]["cases_opened"] == str(as_json.json()["totals"]["cases"]["opened"]) == "1"
        assert "failed_attempt_cost_cost_per_failed_attempt_USD" in rows[0]
    assert as_json["Content-Type"] == "application/json"


def test_a_bad_metrics_query_in_csv_is_answered_in_json(alice_client, chicago):
    response = alice_client.get("/api/v1/metrics.csv", {"group_by": "galaxy"})

    assert response.status_code == 400
    assert "group_by" in response.json()["fields"]


def test_the_metrics_group_by_area_with_each_areas_centre(alice_client, dave_stop):
    escalated(dave_stop)
    address = dave_stop.order.address

    body = alice_client.get("/api/v1/metrics", {"group_by": "area"}).json()

    (group,) = body["groups"]
    assert (group["key"], group["cases"]["opened"]) == (address.postal_code, 1)
    assert (group["lat"], group["lng"]) == pytest.approx((address.latitude, address.longitude))
    assert "lat" not in alice_client.get("/api/v1/metrics", {"group_by": "reason_code"}).json()["groups"][0]


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
