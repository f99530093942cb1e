"""The operator, end to end on real rows: every move a case may make, legal and illegal (the transition
table), and the timeline, whose events rebuild the case.

Dave drives for Chicago; Alice dispatches there.
Cases are opened by failed scans through the driver's service; outreach and routing are
recorded (tests/exceptions/standins.py).
"""

from __future__ import annotations

import itertools

import pytest
from django.db import transaction
from django.utils import timezone

from dispatch.models import Order, ScanEvent
from exceptions import workflow
from exceptions.models import CaseEvent, ExceptionCase, ReplyIntent
from exceptions.workflow import WorkflowError
from tests.helpers import at, fail, reload, reply, scan, triaged

State = ExceptionCase.State
Outcome = ExceptionCase.Outcome
pytestmark = pytest.mark.usefixtures("outreach", "routing", "triage_enqueued")


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


# --- The timeline ----------------------------------------------------------------------------------------------------


FOLDED = (
    "state",
    "priority",
    "outcome",
    "pending_outcome",
    "outcome_source",
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
