"""The same send delivered twice at the same moment, to two worker processes: one text.

Redis redelivers an unacknowledged task (a worker lost, the visibility timeout), the outbox sweep
relays a message whose task is late, a retry and a relay meet: the send must tolerate two copies
running at once. Both workers are held on the message's row until both wait there, then let go
together, so the two claims really race in Postgres.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from outreach.models import Message
from outreach.tasks import message_send_task
from tests.fault.harness import Worker, question_held, side_transaction, wait_for, waiting_on_a_lock

pytestmark = [
    pytest.mark.fault,
    pytest.mark.wall_clock,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("empty_queues"),
]


@pytest.fixture(scope="module")
def two_workers(workers) -> tuple[Worker, Worker]:
    first, second = workers.start("fault-a", "fault-b", queues=("outreach",))
    return first, second


def test_the_same_send_delivered_twice_at_once_texts_once(two_workers, twilio, clock, dave_stop):
    first, second = two_workers
    message = question_held(dave_stop)
    table = Message._meta.db_table

    # The quiet hours are over. Another transaction holds the row until both copies of the task wait on it.
    Message.objects.filter(pk=message.pk).update(release_at=timezone.now() - dt.timedelta(seconds=1))
    with side_transaction() as holder:
        holder.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE", [message.pk])  # noqa: S608
        message_send_task.delay(message.pk)
        message_send_task.delay(message.pk)
        wait_for(lambda: waiting_on_a_lock("fault-a", "fault-b") == 2, what="both workers waiting on the message")
        holder.connection.commit()

    def both_done() -> list[str]:
        results = first.results("outreach.message_send") + second.results("outreach.message_send")
        return sorted(results) if len(results) == 2 else []

    results = wait_for(both_done, what="both copies of the task to finish")

    assert results == ["'not_claimed'", "'sent'"]
    assert first.received("outreach.message_send") == second.received("outreach.message_send") == 1
    assert len(twilio.posts) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Message.Status.SENT, 1)
    assert message.provider_sid == twilio.accepted[0]["Sid"]
