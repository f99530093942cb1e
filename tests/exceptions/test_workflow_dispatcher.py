"""The operator, end to end on real rows: what a dispatcher does to a case, and conflicts. A stale version is
a conflict; return to sender (and parcels refused at the door, valuable ones only with approval); addresses not
found; release to automation; codes and windows entered by hand; nothing more once resolved.

Alice dispatches at Chicago; Dave and Erin drive there.
Cases are opened by failed scans through the driver's service; outreach and routing are
recorded (tests/exceptions/standins.py).
"""

from __future__ import annotations

import datetime as dt

import pytest

from dispatch.models import AccessCredential, Driver, DriverInstruction, Order, Stop
from exceptions import workflow
from exceptions.models import CaseEvent, EscalationRule, ExceptionCase, ReplyIntent
from exceptions.workflow import CaseConflict, WorkflowError
from tests.factories import StopFactory
from tests.helpers import at, fail, instructions, later, reload, reply, triaged

State = ExceptionCase.State
Outcome = ExceptionCase.Outcome
pytestmark = pytest.mark.usefixtures("outreach", "routing", "triage_enqueued")


# --- Dispatcher actions and conflicts -------------------------------------------------------------------------------


def test_a_dispatcher_action_on_a_case_that_changed_gets_a_conflict(dave_stop, alice):
    case = triaged(fail(dave_stop))
    seen = case.version
    reply(case, ReplyIntent.CALL_REQUEST)

    with pytest.raises(CaseConflict, match="changed since you opened it"):
        workflow.case_return_to_sender(case_id=case.pk, user=alice, version=seen)

    assert reload(case).state == State.ESCALATED


def test_return_to_sender_takes_the_stop_off_and_tells_the_driver(dave_stop, alice, outreach):
    case = reply(triaged(fail(dave_stop)), ReplyIntent.REFUSE)

    case = workflow.case_return_to_sender(case_id=case.pk, user=alice, version=case.version, note="refused")

    assert (case.state, case.outcome, case.resolved_by) == (State.RESOLVED, Outcome.RETURNED_TO_SENDER, alice)
    dave_stop.refresh_from_db()
    assert (dave_stop.status, dave_stop.order.status) == (Stop.Status.SKIPPED, Order.Status.RETURNED)
    assert outreach.notified == [(case.pk, Outcome.RETURNED_TO_SENDER)]


def test_a_parcel_refused_at_the_door_goes_back_to_the_sender(dave_stop, outreach, no_default_rules):
    case = triaged(fail(dave_stop, code="REFUSED"))

    assert (case.state, case.outcome, case.resolved_by) == (State.RESOLVED, Outcome.RETURNED_TO_SENDER, None)
    assert not case.touched_by_dispatcher
    dave_stop.refresh_from_db()
    assert (dave_stop.status, dave_stop.order.status) == (Stop.Status.SKIPPED, Order.Status.RETURNED)
    (skip,) = instructions(dave_stop)
    assert skip.kind == DriverInstruction.Kind.SKIP
    assert outreach.asked == []
    assert outreach.notified == [(case.pk, Outcome.RETURNED_TO_SENDER)]


def test_a_valuable_refused_parcel_waits_for_a_dispatcher_to_approve_its_return(dave_stop, outreach, alice):
    rule = EscalationRule.objects.create(
        name="Approve anything", position=0, action=EscalationRule.Action.REQUIRE_APPROVAL
    )

    case = triaged(fail(dave_stop, code="REFUSED"))

    assert (case.state, case.pending_outcome) == (State.ESCALATED, Outcome.RETURNED_TO_SENDER)
    assert case.escalation_rule == rule
    dave_stop.refresh_from_db()
    assert dave_stop.status != Stop.Status.SKIPPED
    case = workflow.case_approve(case_id=case.pk, user=alice, version=case.version)
    assert (case.state, case.outcome) == (State.RESOLVED, Outcome.RETURNED_TO_SENDER)


def test_an_address_not_found_asks_for_directions_and_they_reach_the_driver_and_the_address(
    dave, dave_stop, outreach, no_default_rules
):
    case = triaged(fail(dave_stop, code="ADDRESS_NOT_FOUND"))
    assert [a["topic"] for a in outreach.asked] == ["directions"]
    at(dave, dave_stop, metres_north=30)  # still outside: told where to go, not to wait for anyone

    case = reply(case, ReplyIntent.DIRECTIONS, detail="Coach house behind the main house, down the driveway")

    assert (case.state, case.pending_outcome) == (State.RESOLVING, Outcome.RETRY_NOW)
    (retry,) = instructions(dave_stop)
    assert retry.kind == DriverInstruction.Kind.RETRY_NOW
    assert retry.text == "Directions from the recipient: Coach house behind the main house, down the driveway"
    address = dave_stop.order.address
    address.refresh_from_db()
    assert "Recipient's directions" in address.building_notes
    assert address.building_notes.endswith("Coach house behind the main house, down the driveway")


def test_a_spanish_speaking_driver_reads_the_directions_in_spanish_and_the_desk_in_english(
    dave, dave_stop, outreach, no_default_rules
):
    Driver.objects.filter(pk=dave.pk).update(language="es")
    case = triaged(fail(dave_stop, code="ADDRESS_NOT_FOUND"))
    at(dave, dave_stop)

    case = reply(case, ReplyIntent.DIRECTIONS, detail="Coach house behind the main house")

    (retry,) = instructions(dave_stop)
    assert retry.text == "Indicaciones del destinatario: Coach house behind the main house"
    told = case.events.filter(kind=CaseEvent.Kind.INSTRUCTION).values_list("summary", flat=True)
    assert list(told) == ["Driver told: Directions from the recipient: Coach house behind the main house"]


def test_an_address_not_found_nobody_answers_goes_to_a_dispatcher(dave_stop, outreach, no_default_rules):
    case = triaged(fail(dave_stop, code="ADDRESS_NOT_FOUND"))

    assert workflow.case_timer_fire(case_id=case.pk, now=later(16))
    assert workflow.case_timer_fire(case_id=case.pk, now=later(27))

    case = reload(case)
    assert [a["reprompt"] for a in outreach.asked] == [False, True]
    assert case.state == State.ESCALATED


def test_release_to_automation_goes_on_with_the_playbook(dave_stop, alice, outreach):
    case = reply(triaged(fail(dave_stop)), ReplyIntent.CALL_REQUEST)
    case = workflow.case_call_mark(case_id=case.pk, user=alice, version=case.version, note="no answer")

    case = workflow.case_release(case_id=case.pk, user=alice, version=case.version)

    assert case.state == State.AWAITING_RECIPIENT
    assert outreach.asked[-1]["reprompt"] is True


def test_a_dispatcher_can_enter_a_code_and_set_a_window(dave, dave_stop, erin, alice, routing):
    at(dave, dave_stop)
    case = reply(triaged(fail(dave_stop)), ReplyIntent.CALL_REQUEST)
    case = workflow.case_access_code_enter(case_id=case.pk, user=alice, version=case.version, code="#1990")
    assert (case.state, case.pending_outcome) == (State.RESOLVING, Outcome.ACCESS_CODE_PROVIDED)
    assert AccessCredential.objects.get(address=dave_stop.order.address).source == AccessCredential.Source.DISPATCHER

    other = reply(triaged(fail(StopFactory(run__driver=erin))), ReplyIntent.CALL_REQUEST)
    start = later(180)
    other = workflow.case_window_set(
        case_id=other.pk,
        user=alice,
        version=other.version,
        window_start=start,
        window_end=start + dt.timedelta(hours=2),
    )
    assert (other.state, other.pending_outcome) == (State.RESOLVING, Outcome.RESCHEDULED_SAME_DAY)
    assert routing.requests[-1]["window_start"] == start

    with pytest.raises(WorkflowError, match="end after it starts"):
        workflow.case_window_set(
            case_id=other.pk, user=alice, version=other.version, window_start=start, window_end=start
        )


def test_nothing_more_can_be_done_to_a_resolved_case(dave_stop, alice):
    case = triaged(fail(dave_stop))
    case = workflow.case_return_to_sender(case_id=case.pk, user=alice, version=case.version)

    with pytest.raises(WorkflowError, match="resolved: nothing more"):
        workflow.case_approve(case_id=case.pk, user=alice, version=case.version)
    other = triaged(fail(StopFactory(run=dave_stop.run)))
    with pytest.raises(WorkflowError, match="no outcome waiting"):
        workflow.case_approve(case_id=other.pk, user=alice, version=other.version)


def test_only_an_escalated_case_can_be_released(dave_stop, alice):
    case = triaged(fail(dave_stop))

    with pytest.raises(WorkflowError, match="Only an escalated case"):
        workflow.case_release(case_id=case.pk, user=alice, version=case.version)
