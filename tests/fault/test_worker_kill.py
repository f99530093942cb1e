"""kill -9 of the worker sending a question, before the POST and inside it: one text, a consistent case.

Before the POST means after the claim: a worker killed before it claimed the message leaves nothing
behind (the task is run again, or the outbox sweep relays it). After the claim nobody can tell from our
side whether the POST left, so the product waits out the claim's lease, marks the message unknown and
asks Twilio's message list: listed, it was sent; not listed, it goes out once more.

A database lock holds the worker between its claim and the POST (it reads the recipient there); the
fake Twilio's stall holds it inside the POST. Then the worker is killed and another one started. The
broker's redelivery of the killed worker's task, beat's outbox sweep and the reconciliation run on that
worker, its clock moved past the lease and the reconciliation delay instead of waiting them out.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from demo.fakes.twilio import STALL
from dispatch.models import Recipient
from exceptions.models import CaseEvent, ExceptionCase
from outreach.models import Message
from outreach.reconcile import RECONCILE_AFTER
from outreach.services import SEND_LEASE
from outreach.tasks import message_send_task, messages_sweep_task
from tests.fault.harness import (
    SharedClock,
    Worker,
    Workers,
    question_asked,
    queues_purge,
    side_transaction,
    wait_for,
    waiting_on_a_lock,
)

pytestmark = [
    pytest.mark.fault,
    pytest.mark.wall_clock,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

OUTREACH = ("outreach",)


@pytest.fixture
def outreach_workers(workers, broker) -> Iterator[Workers]:
    """No worker runs when a test starts (its question waits in the broker); each test's workers stop after it."""
    queues_purge(broker)
    yield workers
    workers.stop_all()


def status(message: Message) -> str:
    return Message.objects.values_list("status", flat=True).get(pk=message.pk)


def beat_sweep(worker: Worker, clock: SharedClock, *, later_by: float) -> None:
    """Beat's outbox sweep ``later_by`` seconds on (the workers' clock), run by the worker."""
    done = len(worker.results("outreach.messages_sweep"))
    clock.advance(later_by)
    messages_sweep_task.delay()
    wait_for(lambda: len(worker.results("outreach.messages_sweep")) > done, what="the outbox sweep to run")


def recover(worker: Worker, clock: SharedClock, message: Message) -> None:
    """What happens after the kill: the task redelivered, then beat's sweeps until the message is settled."""
    # The killed worker never acknowledged its task: Redis hands it out again (after its visibility timeout).
    message_send_task.delay(message.pk)
    wait_for(lambda: worker.results("outreach.message_send"), what="the redelivered task")
    assert worker.results("outreach.message_send") == ["'not_claimed'"]  # the dead worker's claim still holds

    beat_sweep(worker, clock, later_by=SEND_LEASE.total_seconds() + 1)
    assert status(message) == Message.Status.UNKNOWN  # the claim outlived its lease: did Twilio take it?
    beat_sweep(worker, clock, later_by=RECONCILE_AFTER.total_seconds() + 1)
    wait_for(lambda: status(message) == Message.Status.SENT, what="reconciliation to settle the message")
    beat_sweep(worker, clock, later_by=60)  # and nothing more happens on the next sweep


def assert_one_question_sent(message: Message, twilio) -> None:
    assert len(twilio.posts) == 1
    assert len(twilio.accepted) == 1
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert message.provider_sid == twilio.accepted[0]["Sid"]
    assert twilio.accepted[0]["Body"] == message.body
    case = ExceptionCase.objects.get(conversation=message.conversation)
    assert case.state == ExceptionCase.State.AWAITING_RECIPIENT
    assert Message.objects.filter(conversation__case=case, direction=Message.Direction.OUTBOUND).count() == 1
    assert CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.MESSAGE_OUT).count() == 1


def test_a_worker_killed_between_its_claim_and_the_post_texts_once(outreach_workers, twilio, clock, dave_stop):
    message = question_asked(dave_stop)

    with side_transaction() as holder:
        # The worker reads the recipient right after its claim: hold it there.
        holder.execute(f"LOCK TABLE {Recipient._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        (doomed,) = outreach_workers.start("fault-doomed", queues=OUTREACH)
        wait_for(lambda: waiting_on_a_lock("fault-doomed") == 1, what="the worker to wait after its claim")
        assert status(message) == Message.Status.SENDING
        doomed.kill()

    assert twilio.posts == []
    (restarted,) = outreach_workers.start("fault-restarted", queues=OUTREACH)
    recover(restarted, clock, message)

    assert_one_question_sent(message, twilio)
    message.refresh_from_db()
    assert message.attempts == 2  # the dead worker's claim, and the send after Twilio's list showed nothing
    assert doomed.received("outreach.message_send") == 1
    assert doomed.results("outreach.message_send") == []


def test_a_worker_killed_inside_the_post_texts_once(outreach_workers, twilio, clock, dave_stop):
    message = question_asked(dave_stop)
    twilio.answer(STALL)  # Twilio takes the message; its answer never reaches the worker

    (doomed,) = outreach_workers.start("fault-doomed", queues=OUTREACH)
    wait_for(lambda: len(twilio.posts) == 1, what="the worker's POST")
    doomed.kill()

    (restarted,) = outreach_workers.start("fault-restarted", queues=OUTREACH)
    recover(restarted, clock, message)

    assert_one_question_sent(message, twilio)
    message.refresh_from_db()
    assert message.attempts == 1
    assert doomed.results("outreach.message_send") == []
