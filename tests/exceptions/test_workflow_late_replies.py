"""A recipient who writes after the case ended is heard: through Twilio's signed webhook, a request goes to
the order's open case, reopens the case (acted on as any reply, or for a dispatcher once the parcel was
delivered), or puts a code in the vault; thanks and the like stay on the timeline. A reopened case is
worked again (SLA, board, stale clicks refused) and counts once, at its last resolution.

Dave drives for Chicago, Erin too; Alice dispatches there.
Cases are opened by failed scans through the driver's service, the recipient is asked by the real outreach
(texts kept by the locmem backend) and answers through the inbound webhook.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
import time_machine
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from dispatch import realtime
from dispatch.models import AccessCredential, DriverInstruction, Order, Run, ScanEvent, Stop
from exceptions import workflow
from exceptions.analytics import metrics_summary
from exceptions.models import CaseEvent, ExceptionCase, PlaybookStep
from outreach.models import Message
from tests.clock import TODAY, local
from tests.factories import RunFactory, StopFactory
from tests.helpers import DESK_NUMBER, SNAPSHOT, act, at, fail, instructions, later, reload, scan, triaged, twilio_post
from tests.routing.line import place, run_with_stops

State = ExceptionCase.State
Outcome = ExceptionCase.Outcome
Kind = CaseEvent.Kind
pytestmark = pytest.mark.usefixtures("triage_enqueued", "signed")
TOMORROW = TODAY + dt.timedelta(days=1)


def texted(client: Any, stop: Stop, body: str) -> Any:
    """The recipient of the stop's order texts the desk: Twilio's signed webhook, as Twilio posts it."""
    params = {
        "MessageSid": f"SM{uuid.uuid4().hex}",
        "From": str(stop.order.recipient.phone),
        "To": DESK_NUMBER,
        "Body": body,
    }
    response = twilio_post(client, "/outreach/twilio/inbound", params)
    assert response.status_code == 200
    return response


def delivered(client: Any, dave: Any, stop: Stop) -> ExceptionCase:
    """Dave could not get in; asked by text, the recipient gave the gate code; Dave delivered: resolved."""
    at(dave, stop)
    case = triaged(fail(stop))
    texted(client, stop, "gate code is 4821")
    scan(stop, outcome=ScanEvent.Outcome.DELIVERED)
    case = reload(case)
    assert (case.state, case.outcome, case.order.status) == (
        State.RESOLVED,
        Outcome.ACCESS_CODE_PROVIDED,
        Order.Status.DELIVERED,
    )
    return case


def overnight() -> Any:
    """Thirteen hours on: beat's sweep has closed every case resolved before (12 h on the board)."""
    return time_machine.travel(later(13 * 60), tick=True)


def board_events(depot_id: int, run: Any) -> list[dict[str, Any]]:
    """What the depot's board group receives while ``run`` runs (its sends executed on commit)."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(realtime.depot_group(depot_id), channel)
    received: list[dict[str, Any]] = []

    async def drain() -> None:
        import asyncio

        while True:
            try:
                received.append(await asyncio.wait_for(layer.receive(channel), timeout=0.3))
            except TimeoutError:
                return

    try:
        run()
        async_to_sync(drain)()
    finally:
        async_to_sync(layer.group_discard)(realtime.depot_group(depot_id), channel)
    return received


# --- The parcel was delivered -----------------------------------------------------------------------------------------


def test_a_call_asked_for_after_delivery_reopens_the_case_for_a_dispatcher_on_the_board(
    client, alice_client, chicago, dave, dave_stop, django_capture_on_commit_callbacks
):
    case = delivered(client, dave, dave_stop)
    resolved_version = case.version

    with overnight():
        workflow.case_timers_sweep()
        assert reload(case).state == State.CLOSED

        def call_me() -> None:
            with django_capture_on_commit_callbacks(execute=True):
                texted(client, dave_stop, "please call me")

        (event,) = board_events(chicago.pk, call_me)

    case = reload(case)
    assert (case.state, case.escalation_reason) == (
        State.ESCALATED,
        "The recipient asked for a call after the case ended.",
    )
    assert (case.outcome, case.resolved_at, case.closed_at, case.reopened_count) == ("", None, None, 1)
    assert case.sla_due_at > case.reopened_at
    assert case.sla_breached_at is None
    kinds = list(case.events.order_by("at", "id").values_list("kind", "to_state"))
    assert kinds[-3:] == [
        (Kind.REOPENED, State.TRIAGING),
        (Kind.UNDERSTANDING, ""),
        (Kind.ESCALATION, State.ESCALATED),
    ]
    assert case.events.filter(kind=Kind.STATE, to_state=State.RESOLVED).exists()  # the first life stays told
    assert (event["type"], event["payload"]["id"], event["payload"]["state"]) == (
        "case.changed",
        case.pk,
        State.ESCALATED,
    )
    assert event["payload"]["needs_human"]
    queue = {row["id"]: row for row in alice_client.get(SNAPSHOT).json()["cases"]}
    assert queue[case.pk]["version"] == case.version > resolved_version
    assert case.version == case.events.count()


def test_a_code_after_delivery_goes_to_the_vault_only(client, dave, dave_stop):
    case = delivered(client, dave, dave_stop)
    version = case.version

    texted(client, dave_stop, "new gate code is 5190")

    case = reload(case)
    assert (case.state, case.reopened_count) == (State.RESOLVED, 0)
    assert sorted(
        AccessCredential.objects.filter(address=dave_stop.order.address).values_list("secret", flat=True)
    ) == [
        "4821",
        "5190",
    ]
    line = case.events.get(kind=Kind.UNDERSTANDING, payload__heard="vault")
    assert "in the vault for the next visit" in line.summary
    assert "5190" not in str(line.payload)
    assert case.version == version + 1
    assert DriverInstruction.objects.filter(stop=dave_stop).count() == 1  # the first code, nothing more


def test_a_refusal_after_delivery_reopens_the_case_for_a_dispatcher(client, dave, dave_stop):
    case = delivered(client, dave, dave_stop)

    texted(client, dave_stop, "I don't want it, send it back")

    case = reload(case)
    assert case.state == State.ESCALATED
    assert case.escalation_reason == "The recipient wrote after the parcel was delivered: Refused the parcel"


def test_a_refusal_after_the_return_asks_for_nothing_more(client, alice, dave_stop):
    case = triaged(fail(dave_stop))
    workflow.case_return_to_sender(case_id=case.pk, user=alice, version=reload(case).version)

    texted(client, dave_stop, "I don't want it, send it back")

    case = reload(case)
    assert (case.state, case.outcome, case.reopened_count) == (State.RESOLVED, Outcome.RETURNED_TO_SENDER, 0)
    assert case.events.filter(kind=Kind.UNDERSTANDING, payload__heard="honoured").exists()


@pytest.mark.parametrize("body", ["thanks!", "ok", "HELP"])
def test_thanks_and_the_like_after_the_end_stay_on_the_timeline(client, dave, dave_stop, body):
    case = delivered(client, dave, dave_stop)

    texted(client, dave_stop, body)

    case = reload(case)
    assert (case.state, case.reopened_count) == (State.RESOLVED, 0)
    line = case.events.order_by("at", "id").last()
    assert (line.kind, line.payload["heard"]) == (Kind.UNDERSTANDING, "filed")
    assert line.summary.startswith("Late reply")


def test_a_click_on_the_case_as_it_was_before_it_reopened_is_a_409(client, alice_client, dave, dave_stop):
    case = delivered(client, dave, dave_stop)
    seen = case.version
    ended = act(alice_client, case, "call", version=seen)
    assert (ended.status_code, ended.json()["code"]) == (400, "not_allowed")

    texted(client, dave_stop, "please call me")

    stale = act(alice_client, case, "resolve", version=seen, outcome=Outcome.DELIVERED_ON_RETRY)
    assert stale.status_code == 409
    assert stale.json()["case"]["state"] == State.ESCALATED
    case = reload(case)
    assert case.state == State.ESCALATED
    settled = act(alice_client, case, "resolve", outcome=Outcome.DELIVERED_ON_RETRY, note="Called: all fine")
    assert settled.status_code == 200
    assert reload(case).state == State.RESOLVED


def test_a_delivered_parcel_reopened_for_a_dispatcher_does_not_go_out_again(client, alice_client, dave, dave_stop):
    case = delivered(client, dave, dave_stop)
    texted(client, dave_stop, "leave it with my neighbour in 3B")
    case = reload(case)
    assert case.escalation_reason == (
        "The recipient wrote after the parcel was delivered: Named a neighbour (my neighbour in 3B)"
    )

    window = act(alice_client, case, "window", window_start=local(15).isoformat(), window_end=local(17).isoformat())
    code = act(alice_client, case, "access-code", code="1234")

    for refused in (window, code):
        assert (refused.status_code, refused.json()["code"]) == (400, "not_allowed")
        assert "The parcel was delivered: it does not go out again." in refused.json()["detail"]
    dave_stop.refresh_from_db()
    assert (dave_stop.status, dave_stop.order.status) == (Stop.Status.DELIVERED, Order.Status.DELIVERED)
    assert reload(case).state == State.ESCALATED
    assert act(alice_client, case, "return", note="Picked up from the neighbour").status_code == 200


# --- The parcel is still to be delivered ------------------------------------------------------------------------------


def test_a_late_request_goes_to_the_orders_open_case_and_is_acted_on_there(client, dave, dave_stop, routing):
    first = triaged(fail(dave_stop, "RECIPIENT_ABSENT"))
    texted(client, dave_stop, "back at 2pm")
    assert reload(first).state == State.RESOLVING
    workflow.case_reschedule_confirm(case_id=first.pk, new_stop_id=dave_stop.pk, summary="back on the run at 14:05")
    assert reload(first).state == State.RESOLVED
    # Dave tries again and fails. The admin's playbook hands a second absence straight to a dispatcher,
    # so the second case has texted nobody (its conversation is the first case's).
    PlaybookStep.objects.filter(playbook__reason_code__code="RECIPIENT_ABSENT", position=1).update(
        action=PlaybookStep.Action.ESCALATE, priority=2
    )
    second = triaged(fail(dave_stop, "RECIPIENT_ABSENT"))
    assert second.state == State.ESCALATED
    at(dave, dave_stop, metres_north=300)

    texted(client, dave_stop, "I'm home now")

    first, second = reload(first), reload(second)
    assert (first.state, first.reopened_count) == (State.RESOLVED, 0)
    passed = first.events.get(kind=Kind.UNDERSTANDING, payload__heard="passed_on")
    assert passed.payload["case_id"] == second.pk
    understood = second.events.get(kind=Kind.UNDERSTANDING)
    assert (understood.payload["heard"], understood.payload["passed_from"]) == ("open", first.pk)
    assert (second.state, second.pending_outcome) == (State.RESOLVING, Outcome.RETRY_NOW)
    assert [i.kind for i in instructions(dave_stop)][-1] == DriverInstruction.Kind.RETRY_NOW


def test_a_code_after_the_case_ended_reopens_it_and_reaches_the_nearby_driver(client, dave, dave_stop, routing):
    case = triaged(fail(dave_stop, "RECIPIENT_ABSENT"))
    texted(client, dave_stop, "back at 2pm")
    workflow.case_reschedule_confirm(case_id=case.pk, new_stop_id=dave_stop.pk, summary="back on the run at 14:05")
    assert reload(case).state == State.RESOLVED
    at(dave, dave_stop, metres_north=300)  # driving past again

    texted(client, dave_stop, "gate code is 4821")

    case = reload(case)
    assert (case.state, case.pending_outcome, case.reopened_count) == (State.RESOLVING, Outcome.ACCESS_CODE_PROVIDED, 1)
    assert AccessCredential.objects.get(address=dave_stop.order.address).secret == "4821"
    assert [i.kind for i in instructions(dave_stop)][-1] == DriverInstruction.Kind.ACCESS_CODE
    assert case.next_action == ExceptionCase.Timer.DRIVER_RETRY  # swept like any case the driver must retry


def test_a_reopened_case_follows_the_parcel_to_its_stop_on_another_run(client, dave, erin, dave_stop, routing):
    case = triaged(fail(dave_stop, "RECIPIENT_ABSENT"))
    texted(client, dave_stop, "tomorrow after 5pm")
    # Routing's answer: the parcel left Dave's run for Erin's tomorrow (its old stop row stays, moved on).
    Stop.objects.filter(pk=dave_stop.pk).update(status=Stop.Status.RESCHEDULED)
    tomorrows = StopFactory(run=RunFactory(driver=erin, service_date=TOMORROW), order=dave_stop.order)
    workflow.case_reschedule_confirm(case_id=case.pk, new_stop_id=tomorrows.pk, summary="Erin's run", later_day=True)
    assert (reload(case).state, reload(case).outcome) == (State.RESOLVED, Outcome.RESCHEDULED_LATER)

    texted(client, dave_stop, "leave it with my neighbour in 3B")

    case = reload(case)
    assert (case.stop_id, case.reopened_count) == (tomorrows.pk, 1)
    reopened = case.events.get(kind=Kind.REOPENED)
    assert reopened.payload["from_stop_id"] == dave_stop.pk
    assert "follows the parcel" in reopened.summary
    # Erin is not near it: the neighbour is for a slot routing finds, asked for this case's stop.
    assert (case.state, case.pending_outcome) == (State.RESOLVING, Outcome.RESCHEDULED_SAME_DAY)
    assert routing.requests[-1]["case"] == case.pk
    assert ExceptionCase.objects.filter(stop=tomorrows, state__in=ExceptionCase.OPEN_STATES).get().pk == case.pk


def test_a_late_request_in_an_older_conversation_reopens_the_orders_newest_case(client, alice, dave_stop, routing):
    first = triaged(fail(dave_stop, "RECIPIENT_ABSENT"))
    texted(client, dave_stop, "back at 2pm")
    workflow.case_reschedule_confirm(case_id=first.pk, new_stop_id=dave_stop.pk, summary="back on the run at 14:05")
    texted(client, dave_stop, "STOP")
    # Opted out, the recipient is not texted about the second failure: no conversation of its own.
    second = triaged(fail(dave_stop, "RECIPIENT_ABSENT"))
    assert second.state == State.ESCALATED
    second = workflow.case_resolve(
        case_id=second.pk, user=alice, version=second.version, outcome=Outcome.PICKUP_POINT, note="Locker on Elm"
    )
    texted(client, dave_stop, "START")

    texted(client, dave_stop, "actually come back at 4pm")

    first, second = reload(first), reload(second)
    assert (first.state, first.reopened_count) == (State.RESOLVED, 0)
    assert first.events.get(payload__heard="passed_on").payload["case_id"] == second.pk
    assert (second.reopened_count, second.state, second.pending_outcome) == (
        1,
        State.RESOLVING,
        Outcome.RESCHEDULED_SAME_DAY,
    )
    assert routing.requests[-1] == {"case": second.pk, "window_start": local(16), "window_end": None}


def test_a_new_time_after_the_case_closed_reopens_it_and_routing_moves_the_stop(
    client, dave, erin, eager_tasks, django_capture_on_commit_callbacks
):
    _run, stops = run_with_stops(dave, [1, 2, 3])
    tomorrows, _ = run_with_stops(erin, [2], day=TOMORROW, end=(20, 0), status=Run.Status.PLANNED)
    place(dave, 1)
    case = triaged(fail(stops[0], "RECIPIENT_ABSENT"))
    with django_capture_on_commit_callbacks(execute=True):
        texted(client, stops[0], "back at 2pm")
    case = reload(case)
    assert (case.state, case.outcome, case.stop_id) == (State.RESOLVED, Outcome.RESCHEDULED_SAME_DAY, stops[0].pk)
    first_resolution = case.resolved_at

    # Dave's day ended without reaching the stop; the case closed overnight. At 01:00 the recipient writes.
    with time_machine.travel(local(1, 0, TOMORROW), tick=True):
        workflow.case_timers_sweep()
        assert reload(case).state == State.CLOSED
        with django_capture_on_commit_callbacks(execute=True):
            texted(client, stops[0], "Thursday after 5pm works")

    case = reload(case)
    assert (case.state, case.reopened_count) == (State.RESOLVED, 1)
    assert case.outcome in (Outcome.RESCHEDULED_SAME_DAY, Outcome.RESCHEDULED_LATER)
    assert case.resolved_at > first_resolution
    moved = Stop.objects.get(order_id=case.order_id, status=Stop.Status.PENDING)
    assert (moved.run_id, moved.window_start) == (tomorrows.pk, local(17, 0, TOMORROW))
    assert case.outcome_detail["new_stop_id"] == moved.pk
    assert [i.kind for i in instructions(stops[0])][-1] == DriverInstruction.Kind.SKIP
    assert DriverInstruction.objects.filter(driver=erin, kind=DriverInstruction.Kind.ROUTE_UPDATED).exists()
    after = list(case.events.filter(at__gte=case.reopened_at).order_by("at", "id").values_list("kind", flat=True))
    assert after[:2] == [Kind.REOPENED, Kind.UNDERSTANDING]
    assert after[-1] == Kind.STATE
    outcomes = Message.objects.filter(conversation__case=case, template_key__startswith="outcome").order_by(
        "created_at"
    )
    assert outcomes.count() == 2  # the recipient hears of the new plan, as of the first
    # Resolved twice, counted once: on the day of its last resolution.
    for day, counted in ((TODAY, 0), (TOMORROW, 1)):
        totals = metrics_summary(depot_ids=[case.depot_id], date_from=day, date_to=day)["totals"]
        assert (totals["resolution"]["resolved"], totals["no_touch"]["finished"]) == (counted, counted)
