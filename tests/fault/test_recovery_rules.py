"""The rules the fault scenarios rely on, one at a time: backoff, the durable retry time, reconciliation, the relay.

Plain database tests (no worker): each pins one product rule that a scenario of this suite found missing.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from demo.fakes.twilio import STALL
from exceptions import workflow
from exceptions.models import ExceptionCase
from exceptions.workflow import ROUTING_GRACE
from outreach.models import Message
from outreach.reconcile import RECONCILE_AFTER, message_reconcile, messages_unknown_due
from outreach.services import (
    BACKOFF_BASE_SECONDS,
    BACKOFF_CAP_SECONDS,
    MAX_SEND_ATTEMPTS,
    message_send,
    messages_sweep,
    send_backoff,
)
from routing.adapter import SLOT_FIND_GRACE, slot_requests_unanswered
from tests.fault.harness import question_asked
from tests.helpers import fail

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("triage_enqueued")]

SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def local_twilio(twilio, settings):
    """The fake Twilio for sends made in this process: a stalled POST gives up fast."""
    settings.TWILIO_HTTP_TIMEOUT = 0.5
    return twilio


# --- Backoff ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("attempts", [1, 2, 3, 5, 8, 20])
def test_each_wait_is_in_the_upper_half_of_its_step(attempts):
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempts - 1))

    waits = [send_backoff(attempts=attempts) for _ in range(200)]

    assert all(ceiling / 2 <= wait <= ceiling for wait in waits)


def test_the_waits_before_the_last_try_outlast_a_minute_of_errors():
    # Full jitter (from zero) let a quarter of the messages in a one-minute outage use up every try.
    for _ in range(2000):
        assert sum(send_backoff(attempts=n) for n in range(1, MAX_SEND_ATTEMPTS)) > 60


# --- The next try is on the row ----------------------------------------------------------------------------------


def test_a_failed_try_is_retried_at_its_backoff_and_not_before_even_by_the_sweep(dave_stop, local_twilio):
    local_twilio.answer(500)
    message = question_asked(dave_stop)

    result = message_send(message_id=message.pk)

    assert (result.status, result.retry) == (Message.Status.QUEUED, True)
    message.refresh_from_db()
    assert message.release_at is not None
    retry_at = message.release_at
    assert retry_at > timezone.now()
    assert dt.timedelta(seconds=result.retry_in) <= retry_at - message.created_at
    # A duplicate of the task, or the outbox sweep, does not bring the try forward.
    assert message_send(message_id=message.pk, now=retry_at - SECOND).status == "not_claimed"
    assert messages_sweep(now=retry_at - SECOND) == ([], 0)
    # Once it is due, the sweep relays it (in case the retry task was lost), and it goes.
    assert messages_sweep(now=retry_at) == ([message.pk], 0)
    assert message_send(message_id=message.pk, now=retry_at).status == Message.Status.SENT
    assert len(local_twilio.posts) == 2


# --- Reconciliation counts from the send -------------------------------------------------------------------------


def test_reconciliation_waits_from_the_send_not_from_when_the_message_was_written(dave_stop, local_twilio):
    local_twilio.answer(STALL)
    message = question_asked(dave_stop)
    # Written hours ago (held through the night, say), sent just now.
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - dt.timedelta(hours=9))

    assert message_send(message_id=message.pk).status == Message.Status.UNKNOWN

    message.refresh_from_db()
    assert message.claimed_until is not None
    settled = message.claimed_until + RECONCILE_AFTER
    assert messages_unknown_due(now=settled - SECOND) == []
    assert message_reconcile(message_id=message.pk, now=settled - SECOND) == "not_due"
    assert messages_unknown_due(now=settled) == [message.pk]
    assert message_reconcile(message_id=message.pk, now=settled) == Message.Status.SENT
    assert len(local_twilio.posts) == 1


def test_a_dead_senders_message_that_twilio_never_took_goes_out_once_more(dave_stop, local_twilio):
    message = question_asked(dave_stop)
    # A worker claimed it and died before its POST: the sweep finds the claim expired.
    lease_end = timezone.now() - SECOND
    Message.objects.filter(pk=message.pk).update(status=Message.Status.SENDING, attempts=1, claimed_until=lease_end)
    assert messages_sweep() == ([], 1)

    settled = lease_end + RECONCILE_AFTER
    assert message_reconcile(message_id=message.pk, now=settled) == Message.Status.QUEUED
    assert message_send(message_id=message.pk, now=settled).status == Message.Status.SENT

    message.refresh_from_db()
    assert (message.status, message.attempts) == (Message.Status.SENT, 2)
    assert len(local_twilio.posts) == 1


# --- Routing: a lost slot search is asked again ------------------------------------------------------------------


def test_a_case_waiting_for_its_slot_is_relayed_after_the_grace_until_its_timer(alice, dave_stop, outreach, routing):
    case = fail(dave_stop)
    workflow.case_triage(case_id=case.pk)
    window_start = timezone.now() + dt.timedelta(hours=2)
    case = workflow.case_window_set(
        case_id=case.pk, user=alice, version=ExceptionCase.objects.get(pk=case.pk).version,
        window_start=window_start, window_end=None,
    )  # fmt: skip
    assert (case.state, case.next_action) == (ExceptionCase.State.RESOLVING, ExceptionCase.Timer.ROUTING)
    assert case.next_action_due_at is not None
    asked_at = case.next_action_due_at - ROUTING_GRACE

    assert slot_requests_unanswered(now=asked_at + SLOT_FIND_GRACE - SECOND) == []
    assert slot_requests_unanswered(now=asked_at + SLOT_FIND_GRACE) == [(case.pk, window_start.isoformat(), None)]
    # Once the routing timer is due, the timer sweep hands the case to a dispatcher instead.
    assert slot_requests_unanswered(now=case.next_action_due_at) == []

    workflow.case_reschedule_fail(case_id=case.pk, reason="No run has room.")
    assert slot_requests_unanswered(now=asked_at + SLOT_FIND_GRACE) == []
