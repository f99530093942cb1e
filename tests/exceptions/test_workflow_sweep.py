"""The operator, end to end on real rows: the sweep. It escalates SLA breaches once, closes old resolved
cases, and triages a case whose enqueue was lost.

Dave and Erin drive for Chicago; Alice dispatches there.
Cases are opened by failed scans through the driver's service; outreach and routing are
recorded (tests/exceptions/standins.py).
"""

from __future__ import annotations

import pytest

from exceptions import workflow
from exceptions.models import ExceptionCase, ReplyIntent
from tests.factories import StopFactory
from tests.helpers import fail, later, reload, reply, triaged

State = ExceptionCase.State
pytestmark = pytest.mark.usefixtures("outreach", "routing", "triage_enqueued")


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
