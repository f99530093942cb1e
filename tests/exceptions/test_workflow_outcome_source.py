"""The operator, end to end on real rows: whose choice a case's outcome is (``outcome_source``), as the workflow
records it. A time the recipient gives is theirs to the end, and the parcel counts as settled in their choice;
the playbook's move on silence, a slot later today for a driver who moved on and a refused parcel sent back are
automation's; a window or a return a dispatcher sets is theirs, while approving a recipient's choice keeps it
the recipient's; a delivery nobody asked for is the driver's; a retry that fails again forgets the choice.

Dave drives for Chicago; Alice dispatches there.
Cases are opened by failed scans through the driver's service; outreach and routing are
recorded (tests/exceptions/standins.py).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from dispatch.models import Order, ScanEvent
from exceptions import workflow
from exceptions.models import ExceptionCase, ReplyIntent
from tests.helpers import act, at, escalated, fail, later, reload, reply, scan, summary, triaged

State = ExceptionCase.State
Outcome = ExceptionCase.Outcome
Source = ExceptionCase.OutcomeSource
pytestmark = pytest.mark.usefixtures("outreach", "routing", "triage_enqueued")


def ending_today(stop) -> dict:
    """How today's failed parcels at the stop's depot ended, as the metrics count them."""
    depot = stop.run.depot
    today = timezone.localdate(timezone.now(), depot.time_zone)
    outcomes = summary([depot], start=today, end=today)["totals"]["outcomes"]
    return {
        (ending, side): count
        for ending, split in outcomes.items()
        if ending != "failed_parcels"
        for side, count in split.items()
        if count
    }


# --- The recipient ------------------------------------------------------------------------------------------------


def test_a_time_the_recipient_gives_is_their_choice_to_the_end(dave_stop):
    case = triaged(fail(dave_stop, "RECIPIENT_ABSENT"))

    case = reply(case, ReplyIntent.RESCHEDULE, window_start=later(120))
    assert (case.pending_outcome, case.outcome_source) == (Outcome.RESCHEDULED_SAME_DAY, Source.RECIPIENT)

    workflow.case_reschedule_confirm(case_id=case.pk, new_stop_id=dave_stop.pk, summary="re-inserted at 12:05")

    case = reload(case)
    assert (case.state, case.outcome, case.outcome_source) == (
        State.RESOLVED,
        Outcome.RESCHEDULED_SAME_DAY,
        Source.RECIPIENT,
    )
    assert ending_today(dave_stop) == {("recipient_choice", "without_dispatcher"): 1}


def test_a_retry_the_recipient_asked_for_stays_theirs_when_it_is_delivered(dave, dave_stop):
    at(dave, dave_stop)
    case = reply(triaged(fail(dave_stop, "RECIPIENT_ABSENT")), ReplyIntent.AVAILABLE_NOW)
    assert (case.pending_outcome, case.outcome_source) == (Outcome.RETRY_NOW, Source.RECIPIENT)

    scan(dave_stop, outcome=ScanEvent.Outcome.DELIVERED)

    case = reload(case)
    assert (case.outcome, case.outcome_source) == (Outcome.DELIVERED_ON_RETRY, Source.RECIPIENT)
    assert ending_today(dave_stop) == {("delivered_same_day", "without_dispatcher"): 1}


def test_a_retry_that_fails_again_forgets_whose_choice_it_was(dave, dave_stop):
    at(dave, dave_stop)
    case = reply(triaged(fail(dave_stop, "RECIPIENT_ABSENT")), ReplyIntent.AVAILABLE_NOW)

    fail(dave_stop, "ACCESS_DENIED")

    case = reload(case)
    assert (case.state, case.pending_outcome, case.outcome_source) == (State.TRIAGING, "", "")


# --- Automation ---------------------------------------------------------------------------------------------------


def test_the_playbooks_move_on_silence_is_automations(dave_stop):
    case = triaged(fail(dave_stop))
    workflow.case_timer_fire(case_id=case.pk, now=later(11))

    workflow.case_timer_fire(case_id=case.pk, now=later(22))

    case = reload(case)
    assert (case.pending_outcome, case.outcome_source) == (Outcome.RESCHEDULED_SAME_DAY, Source.PLAYBOOK)
    workflow.case_reschedule_confirm(case_id=case.pk, new_stop_id=dave_stop.pk, summary="re-inserted at 15:40")
    case = reload(case)
    assert (case.outcome, case.outcome_source) == (Outcome.RESCHEDULED_SAME_DAY, Source.PLAYBOOK)
    assert ending_today(dave_stop) == {("moved_unasked", "without_dispatcher"): 1}


def test_a_slot_later_today_for_a_driver_who_moved_on_is_automations(dave, dave_stop):
    at(dave, dave_stop, metres_north=3000)

    case = reply(triaged(fail(dave_stop, "RECIPIENT_ABSENT")), ReplyIntent.AVAILABLE_NOW)

    assert (case.pending_outcome, case.outcome_source) == (Outcome.RESCHEDULED_SAME_DAY, Source.PLAYBOOK)


def test_a_parcel_refused_at_the_door_goes_back_by_the_playbook(dave_stop, no_default_rules):
    case = triaged(fail(dave_stop, code="REFUSED"))

    assert (case.outcome, case.outcome_source) == (Outcome.RETURNED_TO_SENDER, Source.PLAYBOOK)
    assert ending_today(dave_stop) == {("returned", "without_dispatcher"): 1}


def test_a_delivery_nobody_asked_for_is_the_drivers(dave_stop):
    case = triaged(fail(dave_stop, "RECIPIENT_ABSENT"))
    assert case.outcome_source == ""

    scan(dave_stop, outcome=ScanEvent.Outcome.DELIVERED)

    case = reload(case)
    assert (case.outcome, case.outcome_source) == (Outcome.DELIVERED_ON_RETRY, Source.DRIVER)


# --- A dispatcher -------------------------------------------------------------------------------------------------


def test_a_window_a_dispatcher_sets_on_the_board_is_theirs(alice_client, dave_stop):
    case = escalated(dave_stop)
    start = (timezone.now() + dt.timedelta(days=1)).replace(microsecond=0)

    response = act(alice_client, case, "window", window_start=start.isoformat())

    assert response.status_code == 200
    case = reload(case)
    assert (case.pending_outcome, case.outcome_source) == (Outcome.RESCHEDULED_LATER, Source.DISPATCHER)
    assert case.touched_by_dispatcher


def test_a_return_a_dispatcher_decides_is_theirs(alice, dave_stop):
    case = reply(triaged(fail(dave_stop)), ReplyIntent.REFUSE)

    case = workflow.case_return_to_sender(case_id=case.pk, user=alice, version=case.version)

    assert (case.outcome, case.outcome_source) == (Outcome.RETURNED_TO_SENDER, Source.DISPATCHER)
    assert ending_today(dave_stop) == {("returned", "with_dispatcher"): 1}


def test_approving_a_recipients_choice_keeps_it_theirs(alice, dave, dave_stop):
    Order.objects.filter(pk=dave_stop.order_id).update(safe_drop_allowed=False)
    case = triaged(fail(dave_stop, "RECIPIENT_ABSENT"))
    case = reply(case, ReplyIntent.SAFE_DROP, detail="garage")
    case = reply(case, ReplyIntent.SAFE_DROP, detail="garage")  # asked when someone is in: the same answer
    assert (case.state, case.pending_outcome, case.outcome_source) == (
        State.ESCALATED,
        Outcome.SAFE_DROP,
        Source.RECIPIENT,
    )
    at(dave, dave_stop)

    workflow.case_approve(case_id=case.pk, user=alice, version=case.version)
    scan(dave_stop, outcome=ScanEvent.Outcome.DELIVERED)

    case = reload(case)
    assert (case.outcome, case.outcome_source, case.touched_by_dispatcher) == (
        Outcome.SAFE_DROP,
        Source.RECIPIENT,
        True,
    )
    assert ending_today(dave_stop) == {("delivered_same_day", "with_dispatcher"): 1}
