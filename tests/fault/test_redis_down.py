"""Commits while Redis is stopped, then Redis back: every side effect happens once, none is lost.

While Redis is down the transactions still commit (Postgres is the source of truth), and what they
publish after commit fails: a failed scan's triage, a question's send, a re-route's slot search (and
the board's events, which clients reload; see test_board_reconnect). Redis then restarts empty, as a
crash without persistence leaves it. What brings each one back is durable in the database and swept
by beat: the new case's triage timer, the question's outbox row, the case waiting for its slot.

Beat's tasks run on the worker with its clock moved past their grace periods; they run twice, and
the second pass finds nothing left to do.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from exceptions import workflow
from exceptions.models import CaseEvent, ExceptionCase
from exceptions.tasks import case_timers_sweep_task
from outreach.models import Message
from outreach.tasks import messages_sweep_task
from routing.models import PlanVersion
from routing.tasks import slot_requests_relay_task
from tests.factories import StopFactory
from tests.fault.harness import (
    QUEUES,
    RedisServer,
    SharedClock,
    Worker,
    question_asked,
    reachable_any_time,
    realtime_on,
    wait_for,
)
from tests.helpers import fail

pytestmark = [
    pytest.mark.fault,
    pytest.mark.wall_clock,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

BEAT = ("exceptions.case_timers_sweep", "outreach.messages_sweep", "routing.slot_requests_relay")


@pytest.fixture(scope="module")
def worker(workers) -> Worker:
    (started,) = workers.start("fault-redis-down")
    return started


@pytest.fixture(autouse=True)
def _board_on_the_suites_redis(empty_queues, broker, settings) -> None:
    realtime_on(broker, settings, prefix="fault-redis-down")  # the board's numbers and events fail too


def bound(server: RedisServer) -> bool:
    """The worker is back: it declared its queues again in the new, empty Redis."""
    client = server.client()
    return all(client.exists(f"_kombu.binding.{queue}") for queue in QUEUES)


def beat_tick(worker: Worker, clock: SharedClock, *, later_by: float) -> None:
    """Beat's sweeps, ``later_by`` seconds on (on the worker's clock), run by the worker; returns when all ran."""
    done = {task: len(worker.results(task)) for task in BEAT}
    clock.advance(later_by)
    case_timers_sweep_task.delay()
    messages_sweep_task.delay()
    slot_requests_relay_task.delay()
    wait_for(lambda: all(len(worker.results(task)) > done[task] for task in BEAT), what="beat's sweeps to run")


def outbound(case: ExceptionCase) -> list[Message]:
    return list(Message.objects.filter(conversation__case=case, direction=Message.Direction.OUTBOUND))


def triage_events(case: ExceptionCase) -> int:
    return CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.DECISION, summary__startswith="Triage:").count()


def routing_answers(case: ExceptionCase) -> int:
    """Routing's answers on the case's timeline (a slot, a later day's plan, or no slot): the lines after its ask."""
    asked = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.ROUTE_CHANGE, summary__startswith="Asked routing")
    assert asked.count() == 1
    return CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.ROUTE_CHANGE, at__gte=asked.get().at).count() - 1


def test_what_commits_while_redis_is_down_happens_once_redis_is_back(
    worker, broker, twilio, clock, alice, dave, erin, dave_stop, erin_stop
):
    rescheduled_stop = StopFactory(run=dave_stop.run)
    for stop in (dave_stop, erin_stop):
        reachable_any_time(stop)
    question = question_asked(rescheduled_stop)
    wait_for(lambda: Message.objects.filter(pk=question.pk, status=Message.Status.SENT).exists(), what="a first text")

    broker.stop()
    # A failed scan: the case commits, its triage task is lost.
    untriaged = fail(dave_stop)
    # A case triaged right then: its question commits, the question's send is lost.
    unsent = fail(erin_stop)
    workflow.case_triage(case_id=unsent.pk)
    # A dispatcher asks for another slot: the case commits as waiting for routing, the search is lost.
    waiting = ExceptionCase.objects.get(pk=question.conversation.case_id)
    workflow.case_window_set(
        case_id=waiting.pk,
        user=alice,
        version=waiting.version,
        window_start=timezone.now() + dt.timedelta(minutes=30),
        window_end=None,
    )
    assert ExceptionCase.objects.get(pk=untriaged.pk).state == ExceptionCase.State.OPENED
    assert [m.status for m in outbound(unsent)] == [Message.Status.QUEUED]
    assert ExceptionCase.objects.get(pk=waiting.pk).state == ExceptionCase.State.RESOLVING
    assert len(twilio.posts) == 1

    broker.start()
    wait_for(lambda: bound(broker), what="the worker to reconnect to the restarted Redis")
    beat_tick(worker, clock, later_by=61)
    wait_for(
        lambda: (
            all(m.status == Message.Status.SENT for m in outbound(untriaged) + outbound(unsent))
            and len(outbound(untriaged)) == 1
        ),
        what="the lost triage and the lost send to happen",
    )
    wait_for(
        lambda: ExceptionCase.objects.get(pk=waiting.pk).state != ExceptionCase.State.RESOLVING,
        what="routing to answer the case",
    )
    beat_tick(worker, clock, later_by=61)

    for case in (untriaged, unsent):
        assert triage_events(case) == 1
        (message,) = outbound(case)
        assert message.status == Message.Status.SENT
    assert routing_answers(waiting) == 1
    assert PlanVersion.objects.filter(case=waiting).count() <= 1
    assert worker.received("routing.case_slot_find") == 1
    # One text per message, each the one Twilio took.
    sent = Message.objects.filter(direction=Message.Direction.OUTBOUND)
    assert all(message.status == Message.Status.SENT for message in sent)
    assert sorted(message.provider_sid for message in sent) == sorted(post["Sid"] for post in twilio.accepted)
    assert len(twilio.posts) == len(twilio.accepted) == sent.count()
