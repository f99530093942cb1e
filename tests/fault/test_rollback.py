"""A transaction that queued work and rolled back: nothing is sent, no task runs.

The rolled-back transaction does what a failed scan does (the case, its triage task) and what triage
does (the question, its send task), then fails. A second, committed failed scan follows it through the
same worker: once its question reached the fake Twilio, anything the first had published would have
run before it (one worker, queues in order), so its absence is seen rather than waited for.
"""

from __future__ import annotations

import pytest
from django.db import transaction

from dispatch.models import ScanEvent, Stop
from exceptions import workflow
from exceptions.models import ExceptionCase
from outreach.models import Message
from tests.fault.harness import QUEUES, Worker, reachable_any_time, wait_for
from tests.helpers import fail

pytestmark = [
    pytest.mark.fault,
    pytest.mark.wall_clock,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("empty_queues"),
]


class Crash(Exception):
    """Whatever fails after the work was queued (a later write, a bug)."""


@pytest.fixture(scope="module")
def worker(workers) -> Worker:
    (started,) = workers.start("fault-rollback")
    return started


def test_a_rolled_back_transaction_sends_nothing_and_runs_no_task(worker, broker, twilio, dave_stop, erin_stop):
    rolled_back, committed = reachable_any_time(dave_stop), reachable_any_time(erin_stop)

    def queue_then_crash() -> None:
        with transaction.atomic():
            case = fail(dave_stop)  # the scan, the case, and its triage task after commit
            workflow.case_triage(case_id=case.pk)  # the question, and its send after commit
            assert Message.objects.filter(conversation__case=case).count() == 1
            raise Crash

    with pytest.raises(Crash):
        queue_then_crash()

    fail(erin_stop)  # committed: its triage runs on the worker, which then sends its question
    wait_for(lambda: twilio.accepted, what="the committed case's question")
    wait_for(lambda: worker.results("outreach.message_send") == ["'sent'"], what="the send task to finish")

    assert [post["To"] for post in twilio.posts] == [str(committed.phone)]
    assert twilio.posts_to(rolled_back.phone) == []
    assert worker.received("exceptions.case_triage") == 1
    assert worker.received("outreach.message_send") == 1
    assert not ExceptionCase.objects.filter(stop=dave_stop).exists()
    assert not ScanEvent.objects.filter(stop=dave_stop).exists()
    assert not Message.objects.filter(conversation__recipient=rolled_back).exists()
    assert Stop.objects.get(pk=dave_stop.pk).status == dave_stop.status
    assert [broker.client().llen(queue) for queue in QUEUES] == [0, 0, 0]
