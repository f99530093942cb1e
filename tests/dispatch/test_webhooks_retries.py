"""Outbound webhooks, retries and the sweep: bounded retries with backoff (transient answers, stalled and
unreachable receivers, Retry-After), failing at once on a rejection or a redirect; the sweep relays what is due
and lost; the tasks' names and queue.

A real HTTP receiver on 127.0.0.1 (demo/fakes/receiver.py) stands in
for the integrator. Tasks are called directly; nothing reaches Redis.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.utils import timezone

from demo.fakes.receiver import STALL
from dispatch import tasks
from dispatch.models import WebhookDelivery, WebhookEvent
from dispatch.services import webhooks
from dispatch.services.webhooks import webhook_backoff, webhook_events_emit
from tests.dispatch.webhooks import PAYLOAD, _emit_and_commit, _endpoint, _make_due, _verified
from tests.helpers import free_port


@pytest.fixture
def quick_timeout(monkeypatch) -> None:
    monkeypatch.setattr(webhooks, "REQUEST_TIMEOUT", (2.0, 0.5))


# --- Retries -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 503, 429, 408])
def test_it_retries_a_transient_answer_with_backoff_then_delivers(
    status, chicago, hook, receiver, enqueued, django_capture_on_commit_callbacks
):
    receiver.answer(status, 200)
    (delivery_id,) = _emit_and_commit(django_capture_on_commit_callbacks, chicago, (WebhookEvent.SCAN_FAILED, PAYLOAD))

    before = timezone.now()
    tasks.webhook_deliver_task(delivery_id)

    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.attempts == 1
    assert delivery.last_status_code == status
    assert str(status) in delivery.last_error
    assert delivery.claimed_until is None
    assert before <= delivery.next_attempt_at <= timezone.now() + webhooks.BACKOFF_BASE
    tasks.webhook_deliver_task(delivery_id)  # a duplicate before the retry is due sends nothing
    assert len(receiver.requests) == 1

    _make_due(delivery_id)
    tasks.webhook_deliver_task(delivery_id)

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.attempts == 2
    assert delivery.last_status_code == 200
    assert delivery.last_error == ""
    first, second = receiver.requests
    assert first.header("X-Dispatch-Delivery") == second.header("X-Dispatch-Delivery")
    assert first.body == second.body
    assert _verified(second)


def test_it_waits_at_least_as_long_as_retry_after_asks(monkeypatch):
    monkeypatch.setattr(webhooks.random, "uniform", lambda low, high: low)

    assert webhook_backoff(attempts=1, retry_after=dt.timedelta(seconds=120)) == dt.timedelta(seconds=120)
    assert webhook_backoff(attempts=1, retry_after=dt.timedelta(days=2)) == webhooks.BACKOFF_CAP
    assert webhook_backoff(attempts=1, retry_after=None) == dt.timedelta(0)
    assert webhooks._retry_after("120") == dt.timedelta(seconds=120)
    assert webhooks._retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None  # the date form is ignored


def test_it_backs_off_exponentially_up_to_an_hour(monkeypatch):
    monkeypatch.setattr(webhooks.random, "uniform", lambda low, high: high)
    ceilings = [webhook_backoff(attempts=n).total_seconds() for n in range(1, 10)]

    assert ceilings == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    monkeypatch.setattr(webhooks.random, "uniform", lambda low, high: low)
    assert webhook_backoff(attempts=3) == dt.timedelta(0)


def test_it_fails_at_once_when_the_receiver_rejects_the_event(
    chicago, hook, receiver, enqueued, django_capture_on_commit_callbacks
):
    receiver.answer(400)
    (delivery_id,) = _emit_and_commit(django_capture_on_commit_callbacks, chicago, (WebhookEvent.SCAN_FAILED, PAYLOAD))

    tasks.webhook_deliver_task(delivery_id)
    _make_due(delivery_id)
    tasks.webhook_sweep_task()
    tasks.webhook_deliver_task(delivery_id)

    assert len(receiver.requests) == 1
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == 1
    assert delivery.last_status_code == 400
    assert delivery.last_error.startswith("HTTP 400")
    assert enqueued == [delivery_id]  # the sweep did not pick it up again


def test_it_gives_up_after_the_maximum_attempts(chicago, hook, receiver, enqueued, django_capture_on_commit_callbacks):
    receiver.answer(*[500] * (webhooks.MAX_ATTEMPTS + 1))
    (delivery_id,) = _emit_and_commit(django_capture_on_commit_callbacks, chicago, (WebhookEvent.SCAN_FAILED, PAYLOAD))

    for _ in range(webhooks.MAX_ATTEMPTS + 2):
        tasks.webhook_deliver_task(delivery_id)
        _make_due(delivery_id)

    assert len(receiver.requests) == webhooks.MAX_ATTEMPTS
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == webhooks.MAX_ATTEMPTS
    assert delivery.last_status_code == 500
    assert delivery.last_error.startswith(f"Gave up after {webhooks.MAX_ATTEMPTS} attempts")


def test_it_counts_a_stalled_receiver_as_a_failed_attempt(
    chicago, hook, receiver, enqueued, quick_timeout, django_capture_on_commit_callbacks
):
    receiver.answer(STALL)
    (delivery_id,) = _emit_and_commit(django_capture_on_commit_callbacks, chicago, (WebhookEvent.SCAN_FAILED, PAYLOAD))

    tasks.webhook_deliver_task(delivery_id)

    assert len(receiver.requests) == 1
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.attempts == 1
    assert delivery.last_status_code is None
    assert "Timed out" in delivery.last_error
    assert delivery.claimed_until is None
    assert delivery.next_attempt_at >= timezone.now() - dt.timedelta(seconds=5)

    _make_due(delivery_id)
    tasks.webhook_deliver_task(delivery_id)
    assert WebhookDelivery.objects.get(pk=delivery_id).status == WebhookDelivery.Status.DELIVERED


def test_it_retries_when_the_receiver_is_unreachable(chicago, receiver, enqueued, django_capture_on_commit_callbacks):
    port = free_port()
    _endpoint(f"http://127.0.0.1:{port}/hooks", depot=chicago)
    (delivery_id,) = _emit_and_commit(django_capture_on_commit_callbacks, chicago, (WebhookEvent.SCAN_FAILED, PAYLOAD))

    tasks.webhook_deliver_task(delivery_id)

    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.attempts == 1
    assert delivery.last_error.startswith("Could not connect")
    assert str(port) not in delivery.last_error


def test_it_does_not_follow_redirects(chicago, hook, receiver, enqueued, django_capture_on_commit_callbacks):
    receiver.answer(301)
    (delivery_id,) = _emit_and_commit(django_capture_on_commit_callbacks, chicago, (WebhookEvent.SCAN_FAILED, PAYLOAD))

    tasks.webhook_deliver_task(delivery_id)

    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.get(pk=delivery_id).status == WebhookDelivery.Status.FAILED


# --- The sweep -----------------------------------------------------------------------------------------------------


def test_it_sweeps_only_due_unclaimed_pending_deliveries(chicago, hook, enqueued):
    now = timezone.now()

    def delivery(**fields: Any) -> int:
        row = WebhookDelivery.objects.create(endpoint=hook, event=WebhookEvent.SCAN_FAILED, payload={}, **fields)
        return row.pk

    lost = delivery(next_attempt_at=now - dt.timedelta(minutes=5))
    retry_due = delivery(next_attempt_at=now - dt.timedelta(seconds=1), attempts=3)
    claim_lapsed = delivery(next_attempt_at=now - dt.timedelta(minutes=5), claimed_until=now - dt.timedelta(seconds=1))
    delivery(next_attempt_at=now + dt.timedelta(minutes=5), attempts=1)  # retry not due yet
    delivery(next_attempt_at=now - dt.timedelta(minutes=5), claimed_until=now + dt.timedelta(seconds=60))  # in flight
    delivery(status=WebhookDelivery.Status.DELIVERED, next_attempt_at=now - dt.timedelta(minutes=5))
    delivery(status=WebhookDelivery.Status.FAILED, next_attempt_at=now - dt.timedelta(minutes=5))

    assert tasks.webhook_sweep_task() == 3

    assert sorted(enqueued) == sorted([lost, retry_due, claim_lapsed])


def test_it_sweeps_in_batches_oldest_due_first(chicago, hook, enqueued):
    now = timezone.now()
    rows = [
        WebhookDelivery.objects.create(
            endpoint=hook, event=WebhookEvent.SCAN_FAILED, payload={}, next_attempt_at=now - dt.timedelta(minutes=n)
        ).pk
        for n in range(1, 6)
    ]

    assert webhooks.webhook_deliveries_relay(limit=2) == 2

    assert enqueued == [rows[4], rows[3]]


def test_it_relays_a_delivery_whose_enqueue_was_lost(
    chicago, hook, receiver, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):  # committed, but the process died before enqueueing
        (delivery,) = webhook_events_emit(depot_id=chicago.pk, events=[(WebhookEvent.SCAN_FAILED, PAYLOAD)])

    tasks.webhook_sweep_task()
    for delivery_id in enqueued:
        tasks.webhook_deliver_task(delivery_id)

    assert enqueued == [delivery.pk]
    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == WebhookDelivery.Status.DELIVERED


def test_it_gives_up_when_the_last_attempt_died_with_its_worker(chicago, hook, receiver, enqueued):
    now = timezone.now()
    abandoned = WebhookDelivery.objects.create(
        endpoint=hook,
        event=WebhookEvent.SCAN_FAILED,
        payload={},
        attempts=webhooks.MAX_ATTEMPTS,
        next_attempt_at=now - dt.timedelta(minutes=5),
        claimed_until=now - dt.timedelta(seconds=1),
    )

    tasks.webhook_sweep_task()
    tasks.webhook_deliver_task(abandoned.pk)

    abandoned.refresh_from_db()
    assert abandoned.status == WebhookDelivery.Status.FAILED
    assert enqueued == []
    assert receiver.requests == []


# --- The tasks --------------------------------------------------------------------------------------------------------


def test_it_names_the_tasks_and_keeps_them_on_the_default_queue():
    from config.celery import app
    from dispatch.beat import BEAT_SCHEDULE

    assert tasks.webhook_deliver_task.name == "dispatch.webhook_deliver"
    assert tasks.webhook_sweep_task.name == "dispatch.webhook_sweep"
    for name in (tasks.webhook_deliver_task.name, tasks.webhook_sweep_task.name):
        assert app.amqp.router.route({}, name).get("queue").name == "default"
    assert {entry["task"] for entry in BEAT_SCHEDULE.values()} == {"dispatch.webhook_sweep"}
    json.dumps(BEAT_SCHEDULE)  # the schedule is plain data
