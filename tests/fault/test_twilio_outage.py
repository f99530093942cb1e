"""Twilio answers 500 for a minute: the sends back off, then every question goes out exactly once.

Three questions are queued as Twilio breaks. Each failed try writes when the next may come (its
``release_at``, from the backoff) and asks Celery for a retry then; beat's outbox sweep relays a try
whose retry task is lost, and never one that is not due. Time runs on the workers' clock: the test
moves it to the next try that is due and lets beat's sweep run, until the minute is over and the
texts are out. The fake answers 500 to every POST before the minute ends on that same clock.
"""

from __future__ import annotations

import datetime as dt

import pytest

from outreach.models import Message
from outreach.services import MAX_SEND_ATTEMPTS
from outreach.tasks import messages_sweep_task
from tests.factories import StopFactory
from tests.fault.harness import FaultTwilio, SharedClock, Worker, question_asked, wait_for

pytestmark = [
    pytest.mark.fault,
    pytest.mark.wall_clock,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("empty_queues"),
]

OUTAGE = dt.timedelta(minutes=1)


@pytest.fixture(scope="module")
def worker(workers) -> Worker:
    (started,) = workers.start("fault-outage", queues=("outreach",))
    return started


def fresh(messages: list[Message]) -> list[Message]:
    return list(Message.objects.filter(pk__in=[m.pk for m in messages]).order_by("pk"))


def settled(messages: list[Message]) -> list[Message] | None:
    """The messages once no try is in flight or on its way (each is sent, or waits for its next try), else None."""
    now = fresh(messages)
    waiting = all(m.status != Message.Status.QUEUED or m.release_at is not None for m in now)
    in_flight = any(m.status == Message.Status.SENDING for m in now)
    return now if waiting and not in_flight else None


def next_due(worker: Worker, clock: SharedClock, messages: list[Message]) -> bool:
    """Move the clock to the next try that is due and let beat's sweep relay it; False once nothing is queued."""
    current = wait_for(lambda: settled(messages), what="the tries in flight to end")
    queued = [m for m in current if m.status == Message.Status.QUEUED]
    if not queued:
        return False
    due_at = min(m.release_at for m in queued if m.release_at is not None)
    due = {m.pk: m.attempts for m in queued if m.release_at == due_at}
    clock.advance_past(due_at)
    sweeps = len(worker.results("outreach.messages_sweep"))
    messages_sweep_task.delay()
    wait_for(lambda: len(worker.results("outreach.messages_sweep")) > sweeps, what="the outbox sweep")
    wait_for(
        lambda: all(m.attempts > due[m.pk] for m in fresh(messages) if m.pk in due),
        what="the due tries to be made",
    )
    return True


def test_a_minute_of_twilio_errors_backs_off_then_sends_each_text_once(worker, twilio: FaultTwilio, clock, dave_stop):
    stops = [dave_stop, StopFactory(run=dave_stop.run), StopFactory(run=dave_stop.run)]
    twilio.down_until = clock.now() + OUTAGE
    messages = [question_asked(stop) for stop in stops]  # each send goes to the worker at once, and fails

    for _ in range(len(messages) * MAX_SEND_ATTEMPTS):
        if not next_due(worker, clock, messages):
            break

    final = fresh(messages)
    assert [m.status for m in final] == [Message.Status.SENT] * len(messages)
    for message in final:
        phone = message.conversation.recipient.phone
        posts = twilio.posts_to(phone)
        (accepted,) = twilio.accepted_to(phone)
        assert accepted["Sid"] == message.provider_sid
        assert accepted["Body"] == message.body
        assert len(posts) == message.attempts <= MAX_SEND_ATTEMPTS
        with twilio._lock:
            times = [at for at, post in zip(twilio.posted_at, twilio.posts, strict=True) if post["To"] == str(phone)]
        during = [at for at in times if at < twilio.down_until]
        # Tried again while Twilio was down, but backed off: a handful of tries in the minute, not a stream.
        assert 2 <= len(during) <= 5
        assert len(times) - len(during) == 1  # and once Twilio was back, one try: accepted
