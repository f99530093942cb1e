"""The operator, end to end on real rows: every transition, the illegal ones, and the timeline."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import transaction
from django.utils import timezone

from dispatch.models import AccessCredential, AccessRevealAudit, DriverInstruction, Order, ScanEvent, Stop
from exceptions import workflow
from exceptions.models import CaseEvent, EscalationRule, ExceptionCase, PlaybookStep, ReplyIntent
from exceptions.workflow import CaseConflict, WorkflowError
from tests.factories import AccessCredentialFactory, RunFactory, StopFactory, reason
from tests.helpers import at, fail, later, reload, reply, scan, triaged

State = ExceptionCase.State
Outcome = ExceptionCase.Outcome
pytestmark = pytest.mark.usefixtures("outreach", "routing", "triage_enqueued")


def instructions(stop: Stop) -> list[DriverInstruction]:
    return list(DriverInstruction.objects.filter(stop=stop).order_by("seq"))


# --- Opening and triage ----------------------------------------------------------------------------------------------


def test_it_opens_a_case_with_the_scan_and_triages_after_commit(
    dave_stop, triage_enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        case = fail(dave_stop)

    assert case.state == State.OPENED
    assert case.next_action == ExceptionCase.Timer.TRIAGE
    assert triage_enqueued == [case.pk]
    (event,) = case.events.all()
    assert (event.kind, event.to_state, event.actor) == (CaseEvent.Kind.SCAN, State.OPENED, CaseEvent.Actor.DRIVER)


def test_it_triages_once(dave_stop, outreach):
    case = triaged(fail(dave_stop))
    events = case.events.count()

    assert triaged(case).events.count() == events
    assert len(outreach.asked) == 1


def _access_playbook_ends_with_a_dispatcher() -> None:
    """What an admin may choose: an unanswered access failure goes to a dispatcher at priority 2."""
    PlaybookStep.objects.filter(playbook__reason_code__code="ACCESS_DENIED", position=3).update(
        action=PlaybookStep.Action.ESCALATE, priority=2
    )


def test_it_asks_for_the_code_then_reprompts_once_then_tries_again_later(dave_stop, outreach):
    case = triaged(fail(dave_stop))
    assert case.state == State.AWAITING_RECIPIENT
    assert outreach.asked == [{"case": case.pk, "topic": "access_code", "reprompt": False}]
    assert case.next_action == ExceptionCase.Timer.REPLY_DEADLINE
    assert case.sla_due_at == case.opened_at + dt.timedelta(minutes=30)

    assert workflow.case_timer_fire(case_id=case.pk, now=later(11))
    case = reload(case)
    assert case.state == State.AWAITING_RECIPIENT
    assert outreach.asked[-1] == {"case": case.pk, "topic": "access_code", "reprompt": True}
    assert case.prompts_sent == 2

    assert workflow.case_timer_fire(case_id=case.pk, now=later(22))
    case = reload(case)
    # Nobody answered: the stop goes back on the road later, no dispatcher needed.
    assert (case.state, case.pending_outcome) == (State.RESOLVING, Outcome.RESCHEDULED_SAME_DAY)
    assert case.escalated_at is None
    assert CaseEvent.objects.filter(case=case, summary="Playbook: move to a later slot").exists()
    assert len(outreach.asked) == 2


def test_an_admin_can_send_unanswered_access_failures_to_a_dispatcher(dave_stop, outreach):
    _access_playbook_ends_with_a_dispatcher()
    case = triaged(fail(dave_stop))
    workflow.case_timer_fire(case_id=case.pk, now=later(11))

    assert workflow.case_timer_fire(case_id=case.pk, now=later(22))
    case = reload(case)
    assert (case.state, case.priority) == (State.ESCALATED, 2)
    assert "playbook" in case.escalation_reason
    assert len(outreach.asked) == 2


def test_a_timer_that_is_not_due_does_nothing(dave_stop):
    case = triaged(fail(dave_stop))

    assert not workflow.case_timer_fire(case_id=case.pk, now=later(1))
    assert reload(case).version == case.version


def test_it_sends_an_untried_verified_code_straight_to_the_driver(dave, dave_stop, outreach):
    code = AccessCredentialFactory(address=dave_stop.order.address, last_worked_at=later(-60 * 24))
    at(dave, dave_stop, metres_north=20)

    case = triaged(fail(dave_stop))

    assert (case.state, case.pending_outcome) == (State.RESOLVING, Outcome.ACCESS_CODE_PROVIDED)
    assert outreach.asked == []
    (instruction,) = instructions(dave_stop)
    assert instruction.kind == DriverInstruction.Kind.ACCESS_CODE
    assert code.secret not in instruction.text
    dave_stop.refresh_from_db()
    assert dave_stop.status == Stop.Status.PENDING

    scan(dave_stop, outcome=ScanEvent.Outcome.DELIVERED)
    case = reload(case)
    assert (case.state, case.outcome) == (State.RESOLVED, Outcome.ACCESS_CODE_PROVIDED)
    assert outreach.notified == [(case.pk, Outcome.ACCESS_CODE_PROVIDED)]


def test_a_code_that_fails_twice_is_flagged_and_not_offered(dave, dave_stop, outreach):
    code = AccessCredentialFactory(address=dave_stop.order.address, last_worked_at=later(-60), failure_count=1)
    AccessRevealAudit.objects.create(
        user=dave.user, stop=dave_stop, result=AccessRevealAudit.Result.GRANTED, credential_ids=[code.pk]
    )

    case = triaged(fail(dave_stop, "WRONG_ACCESS_CODE"))

    code.refresh_from_db()
    assert code.is_flagged
    assert case.events.filter(summary__contains="flagged").exists()
    assert case.state == State.AWAITING_RECIPIENT
    assert outreach.asked[0]["topic"] == "access_code"


def test_a_recipient_who_cannot_be_reached_goes_to_a_dispatcher(dave_stop, outreach):
    outreach.reachable = False

    case = triaged(fail(dave_stop))

    assert case.state == State.ESCALATED
    assert case.escalation_reason == "The recipient opted out and has no app."


def test_without_any_outreach_channel_the_case_goes_to_a_dispatcher(dave_stop, settings):
    settings.EXCEPTIONS_OUTREACH = "exceptions.ports.NoOutreach"

    case = triaged(fail(dave_stop))

    assert case.state == State.ESCALATED
    assert "No outreach channel" in case.escalation_reason


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


def test_a_late_reply_is_recorded_and_changes_nothing(dave_stop, alice):
    case = triaged(fail(dave_stop))
    case = workflow.case_return_to_sender(case_id=case.pk, user=alice, version=case.version)

    case = reply(case, ReplyIntent.AVAILABLE_NOW)

    assert (case.state, case.outcome) == (State.RESOLVED, Outcome.RETURNED_TO_SENDER)
    assert case.events.last().summary.startswith("Late reply")


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


# --- Every move, legal and illegal ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("from_state", "to_state"), list(itertools.product(State.values, State.values)))
def test_the_transition_table_is_enforced(dave_stop, from_state, to_state):
    case = fail(dave_stop)
    ExceptionCase.objects.filter(pk=case.pk).update(state=from_state)
    case = reload(case)
    legal = to_state in workflow.ALLOWED[from_state] or to_state == from_state

    with transaction.atomic():
        if legal:
            workflow._change(case, now=timezone.now(), kind=CaseEvent.Kind.STATE, summary="move", state=to_state)
            assert case.state == to_state
        else:
            with pytest.raises(WorkflowError, match="cannot become"):
                workflow._change(case, now=timezone.now(), kind=CaseEvent.Kind.STATE, summary="move", state=to_state)


# --- Rules ------------------------------------------------------------------------------------------------------------


def test_a_rule_escalates_at_triage_with_its_priority(dave_stop, outreach):
    rule = EscalationRule.objects.create(name="Gated: call first", position=1, priority=1, min_attempts=1)
    rule.reason_codes.add(reason("ACCESS_DENIED"))

    case = triaged(fail(dave_stop))

    assert (case.state, case.priority, case.escalation_rule) == (State.ESCALATED, 1, rule)
    assert outreach.asked == []


def test_a_return_to_sender_rule_ends_the_third_failure(dave_stop):
    EscalationRule.objects.create(
        name="Three strikes", position=1, min_attempts=3, action=EscalationRule.Action.RETURN_TO_SENDER
    )
    ScanEvent.objects.bulk_create(
        ScanEvent(stop=dave_stop, driver=dave_stop.run.driver, outcome="failed", reason_code=reason("RECIPIENT_ABSENT"),
                  device_time=timezone.now(), idempotency_key=f"earlier-{n}")
        for n in range(2)
    )  # fmt: skip

    case = triaged(fail(dave_stop))

    assert (case.state, case.outcome) == (State.RESOLVED, Outcome.RETURNED_TO_SENDER)


def test_an_approval_rule_holds_an_outcome_the_policy_allows(dave, dave_stop):
    EscalationRule.objects.create(
        name="High value", position=1, order_value_above=10, action=EscalationRule.Action.REQUIRE_APPROVAL
    )
    at(dave, dave_stop)

    case = reply(triaged(fail(dave_stop, "RECIPIENT_ABSENT")), ReplyIntent.NEIGHBOR, detail="4A")

    assert (case.state, case.pending_outcome, case.requires_approval) == (State.ESCALATED, Outcome.NEIGHBOUR, True)


def test_a_no_reply_rule_fires_before_the_playbook_deadline(dave_stop, outreach):
    EscalationRule.objects.create(name="Silent 5 min", position=1, no_reply_minutes=5, priority=2)

    case = triaged(fail(dave_stop))
    assert case.next_action == ExceptionCase.Timer.RULE_CHECK

    assert workflow.case_timer_fire(case_id=case.pk, now=later(6))
    assert reload(case).state == State.ESCALATED
    assert len(outreach.asked) == 1


# --- The sweep ------------------------------------------------------------------------------------------------------


def test_the_sweep_escalates_sla_breaches_once(dave_stop, erin):
    waiting = triaged(fail(dave_stop))
    escalated = reply(triaged(fail(StopFactory(run__driver=erin))), ReplyIntent.CALL_REQUEST)

    result = workflow.case_timers_sweep(now=later(31))

    assert result.breached == 2
    for case in (reload(waiting), reload(escalated)):
        assert (case.state, case.priority) == (State.ESCALATED, 1)
        assert case.sla_breached_at is not None
    assert reload(escalated).escalated_at == escalated.escalated_at
    assert workflow.case_timers_sweep(now=later(32)).breached == 0


def test_the_sweep_closes_old_resolved_cases(dave_stop, alice):
    case = triaged(fail(dave_stop))
    workflow.case_return_to_sender(case_id=case.pk, user=alice, version=case.version)

    assert workflow.case_timers_sweep(now=later(13 * 60)).closed == 1
    assert reload(case).state == State.CLOSED


def test_the_sweep_triages_a_case_whose_enqueue_was_lost(dave_stop, outreach):
    case = fail(dave_stop)

    assert workflow.case_timers_sweep(now=later(2)).fired == 1
    assert reload(case).state == State.AWAITING_RECIPIENT


# --- The timeline ----------------------------------------------------------------------------------------------------


FOLDED = (
    "state",
    "priority",
    "outcome",
    "pending_outcome",
    "requires_approval",
    "playbook_step",
    "prompts_sent",
    "escalation_reason",
)


def test_the_timeline_rebuilds_the_case(dave, dave_stop, alice):
    Order.objects.filter(pk=dave_stop.order_id).update(safe_drop_allowed=False)
    case = triaged(fail(dave_stop, "RECIPIENT_ABSENT"))
    case = reply(case, ReplyIntent.SAFE_DROP, detail="garage")
    case = reply(case, ReplyIntent.SAFE_DROP, detail="garage")  # asked when someone is in: the same answer
    at(dave, dave_stop)
    case = workflow.case_approve(case_id=case.pk, user=alice, version=case.version)
    scan(dave_stop, outcome=ScanEvent.Outcome.DELIVERED)
    case = reload(case)

    folded = workflow.timeline_fold(case.events.order_by("at", "id"))

    assert case.state == State.RESOLVED
    defaults = {field: ExceptionCase._meta.get_field(field).get_default() for field in FOLDED}
    assert {field: folded.get(field, defaults[field]) for field in FOLDED} == {
        field: getattr(case, field) for field in FOLDED
    }
    assert [event.to_state for event in case.events.order_by("at", "id") if event.to_state] == [
        State.OPENED, State.TRIAGING, State.AWAITING_RECIPIENT, State.ESCALATED, State.RESOLVING, State.RESOLVED,
    ]  # fmt: skip
    assert case.version == case.events.count()


def test_the_default_rules_escalate_a_third_failure_and_hold_a_valuable_order(dave, dave_stop):
    for _ in range(2):
        case = reply(triaged(fail(dave_stop, "RECIPIENT_ABSENT")), ReplyIntent.PICKUP_POINT, detail="x")
        Stop.objects.filter(pk=dave_stop.pk).update(status=Stop.Status.FAILED)
    case = triaged(fail(dave_stop, "RECIPIENT_ABSENT"))
    assert (case.state, case.escalation_rule.name) == (State.ESCALATED, "Third failed attempt: a dispatcher decides")

    valuable = StopFactory(run=dave_stop.run, order__declared_value=900)
    at(dave, valuable)
    case = reply(triaged(fail(valuable, "RECIPIENT_ABSENT")), ReplyIntent.NEIGHBOR, detail="2B")
    assert (case.state, case.pending_outcome, case.requires_approval) == (State.ESCALATED, Outcome.NEIGHBOUR, True)


def test_a_reply_before_triage_is_recorded_for_triage(dave_stop):
    case = reply(fail(dave_stop), ReplyIntent.AVAILABLE_NOW)

    assert case.state == State.OPENED
    assert case.last_intent == ReplyIntent.AVAILABLE_NOW
    assert instructions(dave_stop) == []
