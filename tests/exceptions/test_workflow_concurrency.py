"""Replies, timers and dispatcher clicks racing on one case, in real threads against Postgres; late replies
racing each other, and a failed scan opening a new case for the stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction

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


def test_two_twin_replies_at_once_produce_one_outcome(dave, dave_stop):
    at(dave, dave_stop)
    case = triaged(fail(dave_stop, "RECIPIENT_ABSENT"))
    twin = Understanding(intent=ReplyIntent.NEIGHBOR, detail="3B")

    results = race(
        lambda: workflow.case_reply_apply(case_id=case.pk, understood=twin),
        lambda: workflow.case_reply_apply(case_id=case.pk, understood=twin),
    )

    assert not [result for result in results if isinstance(result, Exception)]
    case = reload(case)
    assert case.state == ExceptionCase.State.RESOLVING
    assert DriverInstruction.objects.filter(stop=dave_stop).count() == 1
    assert case.events.filter(kind=CaseEvent.Kind.UNDERSTANDING).count() == 2
    assert case.events.filter(kind=CaseEvent.Kind.INSTRUCTION).count() == 1
    assert case.version == case.events.count()


def test_two_different_replies_at_once_end_with_the_later_one(dave, dave_stop):
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
    later_reply = case.events.filter(kind=CaseEvent.Kind.UNDERSTANDING).order_by("pk").last()
    wanted = {ReplyIntent.AVAILABLE_NOW: ExceptionCase.Outcome.RETRY_NOW, ReplyIntent.NEIGHBOR: "neighbour"}
    assert (case.state, case.pending_outcome) == (ExceptionCase.State.RESOLVING, wanted[later_reply.payload["intent"]])
    # The driver was told twice: the first outcome, then the one that superseded it.
    assert DriverInstruction.objects.filter(stop=dave_stop).count() == 2
    assert case.events.filter(summary__startswith="Superseded").count() == 1
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


# --- Replies after the case ended ----------------------------------------------------------------------------------


def ended_with_the_stop_still_to_do(dave_stop) -> ExceptionCase:
    """The recipient gave a time, routing put the stop back on the run, the case resolved: the parcel is still out."""
    case = triaged(fail(dave_stop, "RECIPIENT_ABSENT"))
    workflow.case_reply_apply(
        case_id=case.pk, understood=Understanding(intent=ReplyIntent.RESCHEDULE, window_start=later(240))
    )
    workflow.case_reschedule_confirm(case_id=case.pk, new_stop_id=dave_stop.pk, summary="back on the run")
    case = reload(case)
    assert case.state == ExceptionCase.State.RESOLVED
    return case


def test_two_late_requests_at_once_reopen_the_case_once(dave, dave_stop):
    case = ended_with_the_stop_still_to_do(dave_stop)
    at(dave, dave_stop)

    twin = Understanding(intent=ReplyIntent.NEIGHBOR, detail="3B")

    results = race(
        lambda: workflow.case_reply_apply(case_id=case.pk, understood=twin),
        lambda: workflow.case_reply_apply(case_id=case.pk, understood=twin),
    )

    assert not [result for result in results if isinstance(result, Exception)]
    case = reload(case)
    assert (case.state, case.reopened_count) == (ExceptionCase.State.RESOLVING, 1)
    assert case.events.filter(kind=CaseEvent.Kind.REOPENED).count() == 1
    heard = sorted(case.events.filter(kind=CaseEvent.Kind.UNDERSTANDING).values_list("payload__heard", flat=True))
    assert heard == ["open", "open", "reopened"]  # the first reply, then the two late ones
    assert DriverInstruction.objects.filter(stop=dave_stop).count() == 1
    assert case.version == case.events.count()


def test_a_late_request_racing_a_failed_scan_goes_to_the_case_the_scan_opened(dave, dave_stop):
    # The scan's transaction opens a new case for the stop and holds it uncommitted; the late reply, not
    # seeing it yet, reopens the old case and waits on the one-open-case-per-stop index until the scan
    # commits. Its reopening is then undone and the reply goes to the scan's case.
    from tests.helpers import scan

    old = ended_with_the_stop_still_to_do(dave_stop)
    opened, release = threading.Event(), threading.Event()
    replied: list[Any] = []

    def failed_scan() -> None:
        try:
            with transaction.atomic():
                scan(dave_stop, code="RECIPIENT_ABSENT")
                opened.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    def late_reply() -> None:
        try:
            replied.append(
                workflow.case_reply_apply(case_id=old.pk, understood=Understanding(intent=ReplyIntent.CALL_REQUEST))
            )
        except Exception as error:  # the test inspects it
            replied.append(error)
        finally:
            connection.close()

    scanning = threading.Thread(target=failed_scan)
    scanning.start()
    assert opened.wait(timeout=30)
    replying = threading.Thread(target=late_reply)
    replying.start()
    waiting = False
    for _ in range(200):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            waiting = cursor.fetchone()[0] > 0
        if waiting:
            break
        time.sleep(0.05)
    release.set()
    scanning.join(timeout=30)
    replying.join(timeout=30)

    assert waiting, "the late reply never waited on the scan's new case"
    (taken,) = replied
    assert isinstance(taken, ExceptionCase), taken
    old, new = reload(old), reload(taken)
    assert new.pk != old.pk
    assert ExceptionCase.objects.filter(stop=dave_stop, state__in=ExceptionCase.OPEN_STATES).get().pk == new.pk
    assert (old.state, old.reopened_count) == (ExceptionCase.State.RESOLVED, 0)
    assert not old.events.filter(kind=CaseEvent.Kind.REOPENED).exists()
    assert old.events.get(payload__heard="passed_on").payload["case_id"] == new.pk
    assert new.events.get(kind=CaseEvent.Kind.UNDERSTANDING).payload["passed_from"] == old.pk
    assert (old.version, new.version) == (old.events.count(), new.events.count())
