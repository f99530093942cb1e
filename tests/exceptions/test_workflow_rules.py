"""The operator, end to end on real rows: escalation rules as the workflow applies them. A rule escalates at
triage with its priority, returns the third failure to the sender, holds an outcome for approval, fires on no
reply before the playbook's deadline; the default rules escalate a third failure and hold a valuable order.

Dave drives for Chicago.
Cases are opened by failed scans through the driver's service; outreach and routing are
recorded (tests/exceptions/standins.py).
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from dispatch.models import ScanEvent, Stop
from exceptions import workflow
from exceptions.models import EscalationRule, ExceptionCase, ReplyIntent
from tests.factories import StopFactory, reason
from tests.helpers import at, fail, later, reload, reply, triaged

State = ExceptionCase.State
Outcome = ExceptionCase.Outcome
pytestmark = pytest.mark.usefixtures("outreach", "routing", "triage_enqueued")


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
