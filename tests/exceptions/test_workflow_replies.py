"""The operator, end to end on real rows: the recipient's replies and where the driver is. A code goes to the
vault and a nearby driver; "coming down" depends on the driver's distance and how fresh the position is;
retries, later slots, safe drops, neighbours, pickup points; replies a human must handle, replies not
understood, late replies, replies to a case a dispatcher owns or that was escalated, replies before triage.

Dave drives for Chicago; Alice dispatches there.
Cases are opened by failed scans through the driver's service; outreach and routing are
recorded (tests/exceptions/standins.py).
"""

from __future__ import annotations

import pytest

from dispatch.models import AccessCredential, DriverInstruction, Order, ScanEvent, Stop
from exceptions import workflow
from exceptions.models import CaseEvent, ExceptionCase, ReplyIntent
from tests.factories import RunFactory, StopFactory
from tests.helpers import (
    _access_playbook_ends_with_a_dispatcher,
    at,
    fail,
    instructions,
    later,
    reload,
    reply,
    scan,
    triaged,
)

State = ExceptionCase.State
Outcome = ExceptionCase.Outcome
pytestmark = pytest.mark.usefixtures("outreach", "routing", "triage_enqueued")


# --- Replies and proximity --------------------------------------------------------------------------------------------


def test_a_code_in_a_reply_goes_to_the_vault_and_the_nearby_driver(dave, dave_stop):
    at(dave, dave_stop, metres_north=40)
    case = triaged(fail(dave_stop))

    case = reply(case, ReplyIntent.ACCESS_CODE, code="7734")

    assert (case.state, case.pending_outcome) == (State.RESOLVING, Outcome.ACCESS_CODE_PROVIDED)
    stored = AccessCredential.objects.get(address=dave_stop.order.address)
    assert (stored.secret, stored.source) == ("7734", AccessCredential.Source.RECIPIENT)
    understood = case.events.get(kind=CaseEvent.Kind.UNDERSTANDING)
    assert "7734" not in str(understood.payload)
    assert "7734" not in instructions(dave_stop)[0].text


@pytest.mark.parametrize(
    ("metres", "minutes_ago", "expected"),
    [
        (30, 0, DriverInstruction.Kind.WAIT),
        (400, 0, DriverInstruction.Kind.RETRY_NOW),
        (3000, 0, None),
        (30, 20, None),
    ],
    ids=["at-the-stop", "down-the-street", "moved-on", "position-stale"],
)
def test_coming_down_depends_on_where_the_driver_is(dave, dave_stop, routing, metres, minutes_ago, expected):
    case = triaged(fail(dave_stop))
    at(dave, dave_stop, metres_north=metres, minutes_ago=minutes_ago)

    case = reply(case, ReplyIntent.AVAILABLE_NOW)

    if expected:
        assert (case.state, case.pending_outcome) == (State.RESOLVING, Outcome.RETRY_NOW)
        assert [i.kind for i in instructions(dave_stop)] == [expected]
        assert routing.requests == []
    else:
        assert (case.state, case.pending_outcome) == (State.RESOLVING, Outcome.RESCHEDULED_SAME_DAY)
        assert instructions(dave_stop) == []
        assert routing.requests == [{"case": case.pk, "window_start": None, "window_end": None}]


def test_a_retry_delivered_resolves_the_case(dave, dave_stop, outreach):
    at(dave, dave_stop)
    case = reply(triaged(fail(dave_stop, "RECIPIENT_ABSENT")), ReplyIntent.AVAILABLE_NOW)

    scan(dave_stop, outcome=ScanEvent.Outcome.DELIVERED)

    case = reload(case)
    assert (case.state, case.outcome, case.resolved_by) == (State.RESOLVED, Outcome.DELIVERED_ON_RETRY, None)
    assert not case.touched_by_dispatcher
    assert outreach.notified == [(case.pk, Outcome.DELIVERED_ON_RETRY)]


def test_a_retry_that_fails_again_is_triaged_again_for_the_new_reason(
    dave, dave_stop, triage_enqueued, django_capture_on_commit_callbacks
):
    at(dave, dave_stop)
    case = reply(triaged(fail(dave_stop, "RECIPIENT_ABSENT")), ReplyIntent.AVAILABLE_NOW)

    with django_capture_on_commit_callbacks(execute=True):
        again = fail(dave_stop, "ACCESS_DENIED")

    assert again.pk == case.pk
    case = reload(case)
    assert (case.state, case.reason_code.code, case.pending_outcome) == (State.TRIAGING, "ACCESS_DENIED", "")
    assert triage_enqueued[-1] == case.pk
    assert triaged(case).state == State.AWAITING_RECIPIENT


def test_a_time_tomorrow_moves_the_stop_to_a_later_run(dave, dave_stop, routing, outreach):
    case = triaged(fail(dave_stop, "RECIPIENT_ABSENT"))
    tomorrow = later(24 * 60)

    case = reply(case, ReplyIntent.RESCHEDULE, window_start=tomorrow)
    assert (case.state, case.pending_outcome) == (State.RESOLVING, Outcome.RESCHEDULED_LATER)
    assert routing.requests[0]["window_start"] == tomorrow

    # Routing moves the order: the old stop leaves its run before the new one becomes active.
    Stop.objects.filter(pk=dave_stop.pk).update(status=Stop.Status.RESCHEDULED)
    new_stop = StopFactory(run=RunFactory(driver=dave, service_date=tomorrow.date()), order=dave_stop.order)
    workflow.case_reschedule_confirm(case_id=case.pk, new_stop_id=new_stop.pk, summary="moved to tomorrow's run")

    case = reload(case)
    assert (case.state, case.outcome) == (State.RESOLVED, Outcome.RESCHEDULED_LATER)
    dave_stop.refresh_from_db()
    assert dave_stop.status == Stop.Status.RESCHEDULED
    assert dave_stop.order.status == Order.Status.RESCHEDULED
    assert [i.kind for i in instructions(dave_stop)] == [DriverInstruction.Kind.SKIP]


def test_when_routing_finds_no_slot_a_dispatcher_picks_one(dave_stop, routing):
    case = reply(triaged(fail(dave_stop, "RECIPIENT_ABSENT")), ReplyIntent.RESCHEDULE, window_start=later(120))

    workflow.case_reschedule_fail(case_id=case.pk, reason="every run is full")

    case = reload(case)
    assert case.state == State.ESCALATED
    assert case.pending_outcome == Outcome.RESCHEDULED_SAME_DAY
    assert "every run is full" in case.escalation_reason


def test_a_safe_drop_the_order_forbids_asks_when_someone_is_in_then_waits_for_a_dispatcher(
    dave, dave_stop, alice, outreach
):
    Order.objects.filter(pk=dave_stop.order_id).update(signature_required=True)
    at(dave, dave_stop)
    case = reply(triaged(fail(dave_stop, "RECIPIENT_ABSENT")), ReplyIntent.SAFE_DROP, detail="behind the planter")

    assert case.state == State.AWAITING_RECIPIENT
    assert [a["topic"] for a in outreach.asked] == ["alternatives", "in_person"]
    assert instructions(dave_stop) == []

    case = reply(case, ReplyIntent.SAFE_DROP, detail="behind the planter")

    assert len(outreach.asked) == 2
    assert (case.state, case.pending_outcome) == (State.ESCALATED, Outcome.SAFE_DROP)
    assert "signature" in case.escalation_reason
    assert instructions(dave_stop) == []

    case = workflow.case_approve(case_id=case.pk, user=alice, version=case.version)

    assert (case.state, case.pending_outcome) == (State.RESOLVING, Outcome.SAFE_DROP)
    assert case.touched_by_dispatcher
    (instruction,) = instructions(dave_stop)
    assert instruction.kind == DriverInstruction.Kind.SAFE_DROP
    assert "behind the planter" in instruction.text


def test_a_neighbour_the_order_allows_is_applied_without_anyone(dave, dave_stop):
    at(dave, dave_stop)

    case = reply(triaged(fail(dave_stop, "RECIPIENT_ABSENT")), ReplyIntent.NEIGHBOR, detail="Maria in 3B")

    assert (case.state, case.pending_outcome) == (State.RESOLVING, Outcome.NEIGHBOUR)
    assert "Maria in 3B" in instructions(dave_stop)[0].text


@pytest.mark.parametrize(
    ("intent", "reason_part"),
    [
        (ReplyIntent.CALL_REQUEST, "call"),
        (ReplyIntent.REFUSE, "refused"),
    ],
)
def test_replies_a_human_must_handle_are_escalated(dave_stop, intent, reason_part):
    case = reply(triaged(fail(dave_stop)), intent)

    assert case.state == State.ESCALATED
    assert reason_part in case.escalation_reason
    assert case.last_intent == intent


def test_a_reply_not_understood_gets_one_more_question_then_a_human(dave_stop, outreach):
    case = reply(triaged(fail(dave_stop)), ReplyIntent.UNCLEAR)
    assert (case.state, case.prompts_sent) == (State.AWAITING_RECIPIENT, 2)
    assert outreach.asked[-1] == {"case": case.pk, "topic": "access_code", "reprompt": True}

    case = reply(case, ReplyIntent.UNCLEAR)
    assert case.state == State.ESCALATED
    assert "not understood" in case.escalation_reason
    assert len(outreach.asked) == 2


def test_a_pickup_point_takes_the_parcel_off_the_run(dave_stop, outreach):
    case = reply(triaged(fail(dave_stop, "RECIPIENT_ABSENT")), ReplyIntent.PICKUP_POINT, detail="locker")

    assert (case.state, case.outcome) == (State.RESOLVED, Outcome.PICKUP_POINT)
    dave_stop.refresh_from_db()
    assert dave_stop.status == Stop.Status.SKIPPED
    assert [i.kind for i in instructions(dave_stop)] == [DriverInstruction.Kind.SKIP]


def test_a_late_reply_that_asks_for_nothing_is_recorded_and_changes_nothing(dave_stop, alice):
    case = triaged(fail(dave_stop))
    case = workflow.case_return_to_sender(case_id=case.pk, user=alice, version=case.version)

    case = reply(case, ReplyIntent.UNCLEAR)

    assert (case.state, case.outcome) == (State.RESOLVED, Outcome.RETURNED_TO_SENDER)
    assert case.events.last().summary.startswith("Late reply")


def test_a_late_request_after_the_return_goes_to_a_dispatcher(dave_stop, alice):
    # Late requests through the webhook, branch by branch: tests/exceptions/test_workflow_late_replies.py.
    case = triaged(fail(dave_stop))
    case = workflow.case_return_to_sender(case_id=case.pk, user=alice, version=case.version)

    case = reply(case, ReplyIntent.AVAILABLE_NOW)

    assert (case.state, case.outcome, case.reopened_count) == (State.ESCALATED, "", 1)
    assert case.escalation_reason == (
        "The recipient wrote after the parcel was returned to the sender: Is there now or coming"
    )


def test_a_reply_to_a_case_a_dispatcher_owns_is_left_to_them(dave, dave_stop, alice):
    at(dave, dave_stop)
    case = reply(triaged(fail(dave_stop)), ReplyIntent.CALL_REQUEST)
    case = workflow.case_assign(case_id=case.pk, user=alice, version=case.version, assignee=alice)

    case = reply(case, ReplyIntent.AVAILABLE_NOW)

    assert case.state == State.ESCALATED
    assert instructions(dave_stop) == []


def test_an_unowned_escalated_case_goes_back_to_work_on_a_useful_reply(dave, dave_stop, outreach):
    _access_playbook_ends_with_a_dispatcher()
    outreach_reply_due = triaged(fail(dave_stop))
    workflow.case_timer_fire(case_id=outreach_reply_due.pk, now=later(11))
    workflow.case_timer_fire(case_id=outreach_reply_due.pk, now=later(22))
    assert reload(outreach_reply_due).state == State.ESCALATED
    at(dave, dave_stop)

    case = reply(outreach_reply_due, ReplyIntent.ACCESS_CODE, code="2580")

    assert (case.state, case.pending_outcome) == (State.RESOLVING, Outcome.ACCESS_CODE_PROVIDED)


def test_a_reply_before_triage_is_recorded_for_triage(dave_stop):
    case = reply(fail(dave_stop), ReplyIntent.AVAILABLE_NOW)

    assert case.state == State.OPENED
    assert case.last_intent == ReplyIntent.AVAILABLE_NOW
    assert instructions(dave_stop) == []
