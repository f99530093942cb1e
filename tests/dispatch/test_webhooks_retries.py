"""Outbound webhooks: outbox on commit, one signed POST per event, bounded retries, the sweep, the admin.

A real HTTP receiver on 127.0.0.1 (demo/fakes/receiver.py) stands in
for the integrator. Tasks are called directly; nothing reaches Redis.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from demo.fakes.receiver import STALL, ReceivedRequest, WebhookReceiver
from dispatch import crypto, tasks
from dispatch.models import Depot, WebhookDelivery, WebhookEndpoint, WebhookEvent
from dispatch.services import webhooks
from dispatch.services.webhooks import (
    webhook_backoff,
    webhook_deliveries_retry,
    webhook_events_emit,
    webhook_signature,
    webhook_signature_verify,
)
from tests.helpers import free_port

SECRET = "whsec-0f7c2a9d41b8e365"
OTHER_SECRET = "whsec-ffffffffffffffff"
PAYLOAD = {"order": "LM-88231", "reason_code": "ACCESS_DENIED", "marker": "payload-marker-5521"}


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:
    """Delivery ids handed to Celery, instead of reaching the broker."""
    sent: list[int] = []

    def apply_async(args: tuple[Any, ...], **options: Any) -> None:
        sent.append(args[0])

    monkeypatch.setattr(tasks.webhook_deliver_task, "apply_async", apply_async)
    return sent


@pytest.fixture
def quick_timeout(monkeypatch) -> None:
    monkeypatch.setattr(webhooks, "REQUEST_TIMEOUT", (2.0, 0.5))


@pytest.fixture
def hook(chicago, receiver) -> WebhookEndpoint:
    """The Chicago CRM: subscribed to failed scans and opened cases at the Chicago depot."""
    return _endpoint(receiver.url, depot=chicago)


def _endpoint(
    url: str,
    *,
    name: str = "Chicago CRM",
    events: list[str] | None = None,
    depot: Depot | None = None,
    active: bool = True,
    secret: str = SECRET,
) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        name=name,
        url=url,
        secret=secret,
        events=events or [WebhookEvent.SCAN_FAILED, WebhookEvent.CASE_OPENED],
        depot=depot,
        active=active,
    )


def _emit_and_commit(capture: Callable[..., Any], depot: Depot, *events: tuple[str, dict[str, Any]]) -> list[int]:
    """Emit as a service would and run what it queued on commit; returns the new deliveries' ids."""
    with capture(execute=True):
        deliveries = webhook_events_emit(depot_id=depot.pk, events=list(events))
    return [delivery.pk for delivery in deliveries]


def _make_due(delivery_id: int) -> None:
    """Time passes: the scheduled retry is due now."""
    WebhookDelivery.objects.filter(pk=delivery_id).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))


def _verified(request: ReceivedRequest, secret: str = SECRET) -> bool:
    return webhook_signature_verify(
        secret=secret,
        timestamp=request.header("X-Dispatch-Timestamp"),
        body=request.body,
        signature=request.header("X-Dispatch-Signature"),
    )


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


# --- Signatures ----------------------------------------------------------------------------------------------------


def test_it_verifies_only_fresh_untampered_signatures():
    body = b'{"id":"1","event":"scan.failed"}'
    now = 1_750_000_000
    signature = webhook_signature(SECRET, now, body)

    assert signature.startswith("v1=")
    assert webhook_signature_verify(secret=SECRET, timestamp=str(now), body=body, signature=signature, now=now + 299)
    assert webhook_signature_verify(
        secret=SECRET, timestamp=now, body=body, signature=f"v1=deadbeef, {signature}", now=now
    )
    assert not webhook_signature_verify(secret=SECRET, timestamp=now, body=body + b" ", signature=signature, now=now)
    assert not webhook_signature_verify(secret=SECRET, timestamp=now + 1, body=body, signature=signature, now=now)
    assert not webhook_signature_verify(secret=OTHER_SECRET, timestamp=now, body=body, signature=signature, now=now)
    assert not webhook_signature_verify(secret=SECRET, timestamp=now, body=body, signature=signature, now=now + 301)
    assert not webhook_signature_verify(secret=SECRET, timestamp=now, body=body, signature=signature, now=now - 301)
    assert not webhook_signature_verify(secret=SECRET, timestamp=None, body=body, signature=signature, now=now)
    assert not webhook_signature_verify(secret=SECRET, timestamp="soon", body=body, signature=signature, now=now)
    assert not webhook_signature_verify(secret=SECRET, timestamp=now, body=body, signature=None, now=now)
    assert not webhook_signature_verify(
        secret=SECRET, timestamp=now, body=body, signature=signature.removeprefix("v1="), now=now
    )


# --- Secrets -------------------------------------------------------------------------------------------------------


def test_it_encrypts_the_secret_at_rest(hook):
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM dispatch_webhookendpoint WHERE id = %s", [hook.pk])
        (stored,) = cursor.fetchone()

    assert SECRET not in stored
    assert crypto.decrypt(stored) == SECRET
    assert WebhookEndpoint.objects.get(pk=hook.pk).secret == SECRET


def test_it_never_logs_the_secret_or_the_body(
    chicago, hook, receiver, enqueued, caplog, django_capture_on_commit_callbacks
):
    receiver.answer(500, 400)
    caplog.set_level(logging.DEBUG)
    (delivery_id,) = _emit_and_commit(django_capture_on_commit_callbacks, chicago, (WebhookEvent.SCAN_FAILED, PAYLOAD))

    tasks.webhook_deliver_task(delivery_id)
    _make_due(delivery_id)
    tasks.webhook_deliver_task(delivery_id)

    assert f"webhook delivery {delivery_id}" in caplog.text
    assert SECRET not in caplog.text
    assert PAYLOAD["marker"] not in caplog.text
    ours = "\n".join(record.getMessage() for record in caplog.records if record.name == webhooks.__name__)
    assert ours
    assert receiver.url.split("/hooks")[0] not in ours


# --- Admin ---------------------------------------------------------------------------------------------------------


def test_it_never_shows_the_secret_in_the_admin(admin_client_, hook):
    pages = {
        "changelist": reverse("admin:dispatch_webhookendpoint_changelist"),
        "change form": reverse("admin:dispatch_webhookendpoint_change", args=[hook.pk]),
        "history": reverse("admin:dispatch_webhookendpoint_history", args=[hook.pk]),
        "delete": reverse("admin:dispatch_webhookendpoint_delete", args=[hook.pk]),
    }

    for name, page in pages.items():
        response = admin_client_.get(page)
        assert response.status_code == 200, name
        assert SECRET not in response.text, name
        assert SECRET.encode() not in response.content, name


def test_it_creates_an_endpoint_with_a_write_only_secret(admin_client_, chicago):
    page = reverse("admin:dispatch_webhookendpoint_add")
    data = {
        "name": "Warehouse",
        "url": "https://wms.example.com/hooks",
        "events": [WebhookEvent.CASE_OPENED, WebhookEvent.CASE_RESOLVED],
        "depot": str(chicago.pk),
        "active": "on",
    }

    missing = admin_client_.post(page, data)
    created = admin_client_.post(page, {**data, "secret": SECRET})

    assert missing.status_code == 200  # re-rendered with an error: a new endpoint needs a secret
    assert created.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret == SECRET
    assert endpoint.events == [WebhookEvent.CASE_OPENED, WebhookEvent.CASE_RESOLVED]


def test_it_keeps_the_secret_when_the_field_is_left_blank(admin_client_, hook):
    page = reverse("admin:dispatch_webhookendpoint_change", args=[hook.pk])
    data = {
        "name": "Renamed",
        "url": hook.url,
        "events": list(hook.events),
        "depot": str(hook.depot_id),
        "active": "on",
        "secret": "",
    }

    kept = admin_client_.post(page, data)
    hook.refresh_from_db()
    assert kept.status_code == 302
    assert (hook.name, hook.secret) == ("Renamed", SECRET)

    replaced = admin_client_.post(page, {**data, "secret": OTHER_SECRET})
    hook.refresh_from_db()
    assert replaced.status_code == 302
    assert hook.secret == OTHER_SECRET


def test_it_shows_deliveries_as_a_read_only_log(admin_client_, hook):
    delivery = WebhookDelivery.objects.create(
        endpoint=hook, event=WebhookEvent.SCAN_FAILED, payload=PAYLOAD, last_error="HTTP 400 Bad Request"
    )

    changelist = admin_client_.get(reverse("admin:dispatch_webhookdelivery_changelist"), {"status": "pending"})
    change = admin_client_.get(reverse("admin:dispatch_webhookdelivery_change", args=[delivery.pk]))
    post = admin_client_.post(reverse("admin:dispatch_webhookdelivery_change", args=[delivery.pk]), {})
    add = admin_client_.get(reverse("admin:dispatch_webhookdelivery_add"))

    assert changelist.status_code == 200
    assert "HTTP 400 Bad Request" in changelist.text
    assert change.status_code == 200
    assert PAYLOAD["order"] in change.text
    assert SECRET not in change.text
    assert post.status_code == 403
    assert add.status_code == 403


def _queries_to_get(client: Client, page: str) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(page)
    assert response.status_code == 200
    return len(context.captured_queries)


def test_it_lists_endpoints_and_deliveries_in_a_fixed_number_of_queries(admin_client_, chicago, milwaukee, hook):
    WebhookDelivery.objects.create(endpoint=hook, event=WebhookEvent.SCAN_FAILED, payload={})
    pages = [reverse("admin:dispatch_webhookendpoint_changelist"), reverse("admin:dispatch_webhookdelivery_changelist")]
    for page in pages:
        admin_client_.get(page)  # warm per-process caches
    with_one_row = [_queries_to_get(admin_client_, page) for page in pages]

    for depot in (chicago, milwaukee, None):
        endpoint = _endpoint(hook.url, name=f"More {depot}", depot=depot)
        WebhookDelivery.objects.create(endpoint=endpoint, event=WebhookEvent.CASE_OPENED, payload={})

    assert [_queries_to_get(admin_client_, page) for page in pages] == with_one_row


def test_it_retries_failed_deliveries_from_the_admin(
    admin_client_, hook, receiver, enqueued, django_capture_on_commit_callbacks
):
    failed = WebhookDelivery.objects.create(
        endpoint=hook,
        event=WebhookEvent.SCAN_FAILED,
        payload=PAYLOAD,
        status=WebhookDelivery.Status.FAILED,
        attempts=webhooks.MAX_ATTEMPTS,
        next_attempt_at=timezone.now() - dt.timedelta(days=1),
    )
    delivered = WebhookDelivery.objects.create(
        endpoint=hook, event=WebhookEvent.SCAN_FAILED, payload=PAYLOAD, status=WebhookDelivery.Status.DELIVERED
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_.post(
            reverse("admin:dispatch_webhookdelivery_changelist"),
            {"action": "retry_now", "_selected_action": [str(failed.pk), str(delivered.pk)]},
        )

    assert response.status_code == 302
    assert enqueued == [failed.pk]
    failed.refresh_from_db()
    assert failed.status == WebhookDelivery.Status.PENDING
    assert failed.attempts == 0
    assert failed.next_attempt_at <= timezone.now()
    assert WebhookDelivery.objects.get(pk=delivered.pk).status == WebhookDelivery.Status.DELIVERED

    tasks.webhook_deliver_task(failed.pk)
    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.get(pk=failed.pk).status == WebhookDelivery.Status.DELIVERED


def test_it_leaves_an_attempt_in_flight_alone_when_retrying(hook, enqueued, django_capture_on_commit_callbacks):
    in_flight = WebhookDelivery.objects.create(
        endpoint=hook,
        event=WebhookEvent.SCAN_FAILED,
        payload={},
        claimed_until=timezone.now() + dt.timedelta(seconds=60),
    )
    waiting = WebhookDelivery.objects.create(
        endpoint=hook,
        event=WebhookEvent.SCAN_FAILED,
        payload={},
        attempts=2,
        next_attempt_at=timezone.now() + dt.timedelta(minutes=10),
    )

    with django_capture_on_commit_callbacks(execute=True):
        queued = webhook_deliveries_retry(delivery_ids=[in_flight.pk, waiting.pk, 424242])

    assert queued == 1
    assert enqueued == [waiting.pk]
    waiting.refresh_from_db()
    assert waiting.attempts == 2
    assert waiting.next_attempt_at <= timezone.now()


def test_it_names_the_tasks_and_keeps_them_on_the_default_queue():
    from config.celery import app
    from dispatch.beat import BEAT_SCHEDULE

    assert tasks.webhook_deliver_task.name == "dispatch.webhook_deliver"
    assert tasks.webhook_sweep_task.name == "dispatch.webhook_sweep"
    for name in (tasks.webhook_deliver_task.name, tasks.webhook_sweep_task.name):
        assert app.amqp.router.route({}, name).get("queue").name == "default"
    assert {entry["task"] for entry in BEAT_SCHEDULE.values()} == {"dispatch.webhook_sweep"}
    json.dumps(BEAT_SCHEDULE)  # the schedule is plain data
