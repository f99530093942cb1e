"""The operator, end to end on real rows: opening a case and triage. The scan opens it and triage follows
the commit, once; the playbook asks, reprompts once, then tries again later (or, as an admin may choose, hands
the case to a dispatcher); a verified code goes straight to the driver, a failing one is flagged; a recipient
out of reach, or no outreach channel at all, sends the case to a dispatcher.

Dave drives for Chicago.
Cases are opened by failed scans through the driver's service; outreach and routing are
recorded (tests/exceptions/standins.py).
"""

from __future__ import annotations

import datetime as dt

import pytest

from dispatch.models import AccessRevealAudit, DriverInstruction, ScanEvent, Stop
from exceptions import workflow
from exceptions.models import CaseEvent, ExceptionCase
from tests.factories import AccessCredentialFactory
from tests.helpers import _access_playbook_ends_with_a_dispatcher, at, fail, instructions, later, reload, scan, triaged

State = ExceptionCase.State
Outcome = ExceptionCase.Outcome
pytestmark = pytest.mark.usefixtures("outreach", "routing", "triage_enqueued")


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
