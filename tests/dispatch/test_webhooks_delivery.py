"""Outbound webhooks, delivery: the outbox on commit (nothing when the transaction rolls back), one signed
POST per event however often its task runs, one event id across endpoints, and only to the active endpoints
of the event and the depot.

A real HTTP receiver on 127.0.0.1 (demo/fakes/receiver.py) stands in
for the integrator. Tasks are called directly; nothing reaches Redis.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from dispatch import tasks
from dispatch.models import Depot, WebhookDelivery, WebhookEndpoint, WebhookEvent
from dispatch.services.webhooks import webhook_events_emit
from tests.dispatch.webhooks import OTHER_SECRET, PAYLOAD, SECRET, _emit_and_commit, _endpoint, _make_due, _verified

# --- Emitting ------------------------------------------------------------------------------------------------------


def _scan_that_fails_to_save(depot: Depot) -> None:
    with transaction.atomic():
        webhook_events_emit(depot_id=depot.pk, events=[(WebhookEvent.SCAN_FAILED, PAYLOAD)])
        raise RuntimeError("the scan failed to save")


def test_it_queues_nothing_when_the_transaction_rolls_back(
    chicago, hook, receiver, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        _scan_that_fails_to_save(chicago)

    assert callbacks == []
    assert enqueued == []
    assert not WebhookDelivery.objects.exists()
    assert receiver.requests == []


def test_it_delivers_one_signed_post_after_commit(
    chicago, hook, receiver, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        (delivery,) = webhook_events_emit(depot_id=chicago.pk, events=[(WebhookEvent.SCAN_FAILED, PAYLOAD)])
    assert enqueued == []  # nothing before commit
    for callback in callbacks:
        callback()
    assert enqueued == [delivery.pk]

    tasks.webhook_deliver_task(delivery.pk)

    (request,) = receiver.requests
    assert request.method == "POST"
    assert request.path == "/hooks"
    assert request.header("Content-Type") == "application/json"
    assert request.header("X-Dispatch-Event") == "scan.failed"
    assert request.header("X-Dispatch-Delivery") == str(delivery.event_id)
    # Recomputed the way the module docstring tells integrators to, not with our helper.
    timestamp = request.header("X-Dispatch-Timestamp")
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256).hexdigest()
    assert request.header("X-Dispatch-Signature") == f"v1={expected}"
    assert abs(int(timestamp) - time.time()) < 60
    assert _verified(request)
    assert not _verified(request, secret=OTHER_SECRET)
    body = json.loads(request.body)
    assert body["id"] == str(delivery.event_id)
    assert body["event"] == "scan.failed"
    assert body["data"] == PAYLOAD
    assert dt.datetime.fromisoformat(body["created_at"]) == delivery.created_at
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.attempts == 1
    assert delivery.last_status_code == 200
    assert delivery.delivered_at is not None
    assert delivery.claimed_until is None


def test_it_sends_nothing_more_for_a_duplicate_task(
    chicago, hook, receiver, enqueued, django_capture_on_commit_callbacks
):
    (delivery_id,) = _emit_and_commit(django_capture_on_commit_callbacks, chicago, (WebhookEvent.SCAN_FAILED, PAYLOAD))

    tasks.webhook_deliver_task(delivery_id)
    tasks.webhook_deliver_task(delivery_id)
    _make_due(delivery_id)
    tasks.webhook_deliver_task(delivery_id)

    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.get(pk=delivery_id).attempts == 1


def test_it_sends_nothing_while_another_worker_holds_the_claim(
    chicago, hook, receiver, enqueued, django_capture_on_commit_callbacks
):
    (delivery_id,) = _emit_and_commit(django_capture_on_commit_callbacks, chicago, (WebhookEvent.SCAN_FAILED, PAYLOAD))
    WebhookDelivery.objects.filter(pk=delivery_id).update(claimed_until=timezone.now() + dt.timedelta(seconds=60))

    tasks.webhook_deliver_task(delivery_id)

    assert receiver.requests == []
    assert WebhookDelivery.objects.get(pk=delivery_id).status == WebhookDelivery.Status.PENDING


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_sends_once_when_the_same_task_runs_twice_at_once(receiver):
    """Committed rows and one connection per thread, as with several workers."""
    delivery = WebhookDelivery.objects.create(
        endpoint=_endpoint(receiver.url), event=WebhookEvent.SCAN_FAILED, payload=PAYLOAD
    )
    workers = 6
    start = threading.Barrier(workers)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait(timeout=10)
            tasks.webhook_deliver_task(delivery.pk)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.DELIVERED, 1)


def test_it_returns_quietly_when_the_delivery_is_gone(db, receiver):
    tasks.webhook_deliver_task(987654321)

    assert receiver.requests == []


def test_it_gives_each_event_one_id_across_endpoints(
    chicago, hook, receiver, enqueued, django_capture_on_commit_callbacks
):
    _endpoint(receiver.url, name="Warehouse")

    ids = _emit_and_commit(
        django_capture_on_commit_callbacks,
        chicago,
        (WebhookEvent.SCAN_FAILED, PAYLOAD),
        (WebhookEvent.CASE_OPENED, {"case_id": 7}),
    )

    deliveries = WebhookDelivery.objects.filter(pk__in=ids)
    assert sorted(enqueued) == sorted(ids)
    assert len(ids) == 4
    assert deliveries.filter(event=WebhookEvent.SCAN_FAILED).values("event_id").distinct().count() == 1
    assert deliveries.values("event_id").distinct().count() == 2


def test_it_sends_nothing_to_endpoints_for_other_events_or_depots(
    chicago, milwaukee, receiver, enqueued, django_capture_on_commit_callbacks
):
    _endpoint(receiver.url, name="Reschedules only", events=[WebhookEvent.STOP_RESCHEDULED])
    _endpoint(receiver.url, name="Milwaukee CRM", depot=milwaukee)

    ids = _emit_and_commit(django_capture_on_commit_callbacks, chicago, (WebhookEvent.SCAN_FAILED, PAYLOAD))
    tasks.webhook_sweep_task()
    for delivery_id in enqueued:
        tasks.webhook_deliver_task(delivery_id)

    assert ids == []
    assert not WebhookDelivery.objects.exists()
    assert receiver.requests == []


def test_it_sends_to_an_all_depots_endpoint(chicago, milwaukee, receiver, enqueued, django_capture_on_commit_callbacks):
    _endpoint(receiver.url, name="Head office", depot=None)

    (delivery_id,) = _emit_and_commit(django_capture_on_commit_callbacks, milwaukee, (WebhookEvent.CASE_OPENED, {}))
    tasks.webhook_deliver_task(delivery_id)

    assert len(receiver.requests) == 1


def test_it_sends_nothing_to_an_inactive_endpoint(chicago, receiver, enqueued, django_capture_on_commit_callbacks):
    _endpoint(receiver.url, depot=chicago, active=False)

    ids = _emit_and_commit(django_capture_on_commit_callbacks, chicago, (WebhookEvent.SCAN_FAILED, PAYLOAD))

    assert ids == []
    assert enqueued == []
    assert receiver.requests == []


def test_it_sends_nothing_to_an_endpoint_deactivated_after_the_event(
    chicago, hook, receiver, enqueued, django_capture_on_commit_callbacks
):
    (delivery_id,) = _emit_and_commit(django_capture_on_commit_callbacks, chicago, (WebhookEvent.SCAN_FAILED, PAYLOAD))
    WebhookEndpoint.objects.filter(pk=hook.pk).update(active=False)

    tasks.webhook_deliver_task(delivery_id)

    assert receiver.requests == []
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert "inactive" in delivery.last_error
