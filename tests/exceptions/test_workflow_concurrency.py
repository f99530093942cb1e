"""Replies, timers and dispatcher clicks racing on one case, in real threads against Postgres."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from dispatch.models import DriverInstruction
from exceptions import workflow
from exceptions.models import CaseEvent, ExceptionCase, ReplyIntent
from exceptions.workflow import CaseConflict, Understanding
from tests.factories import RunFactory, StopFactory
from tests.helpers import at, fail, later, reload, triaged

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("outreach", "routing", "triage_enqueued"),
]


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at the same moment, each in its own thread and database connection."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except Exception as error:  # the test inspects what each call raised
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_replies_at_once_produce_one_outcome(dave, dave_stop):
    at(dave, dave_stop)
    case = triaged(fail(dave_stop, "RECIPIENT_ABSENT"))

    results = race(
        lambda: workflow.case_reply_apply(case_id=case.pk, understood=Understanding(intent=ReplyIntent.AVAILABLE_NOW)),
        lambda: workflow.case_reply_apply(
            case_id=case.pk, understood=Understanding(intent=ReplyIntent.NEIGHBOR, detail="3B")
        ),
    )

    assert not [result for result in results if isinstance(result, Exception)]
    case = reload(case)
    assert case.state == ExceptionCase.State.RESOLVING
    assert DriverInstruction.objects.filter(stop=dave_stop).count() == 1
    assert case.events.filter(kind=CaseEvent.Kind.UNDERSTANDING).count() == 2
    assert case.events.filter(kind=CaseEvent.Kind.INSTRUCTION).count() == 1
    assert case.version == case.events.count()


def test_a_click_racing_a_reply_is_applied_after_it_or_refused(dave, dave_stop, alice):
    case = triaged(fail(dave_stop))
    workflow.case_reply_apply(case_id=case.pk, understood=Understanding(intent=ReplyIntent.CALL_REQUEST))
    case = reload(case)

    results = race(
        lambda: workflow.case_reply_apply(case_id=case.pk, understood=Understanding(intent=ReplyIntent.REFUSE)),
        lambda: workflow.case_return_to_sender(case_id=case.pk, user=alice, version=case.version),
    )

    click = results[1]
    final = reload(case)
    if isinstance(click, CaseConflict):
        # The reply won the lock: the dispatcher decided on a stale case and is told so.
        assert final.state == ExceptionCase.State.ESCALATED
    else:
        assert final.outcome == ExceptionCase.Outcome.RETURNED_TO_SENDER
        assert final.events.last().kind == CaseEvent.Kind.UNDERSTANDING  # the late reply, recorded only
    assert final.version == final.events.count()


def test_two_sweeps_at_once_fire_each_timer_once(dave, erin, outreach):
    runs = [RunFactory(driver=driver) for driver in (dave, erin)]
    cases = [triaged(fail(StopFactory(run=run))) for run in runs for _ in range(5)]
    moment = later(11)

    results = race(
        lambda: workflow.case_timers_sweep(now=moment),
        lambda: workflow.case_timers_sweep(now=moment),
    )

    assert sum(result.fired for result in results) == len(cases)
    assert sorted(asked["case"] for asked in outreach.asked if asked["reprompt"]) == sorted(c.pk for c in cases)
