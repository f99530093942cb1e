"""Outbound webhooks in the admin: endpoints with a write-only secret never shown, deliveries as a read-only
log listed in a fixed number of queries, failed deliveries retried from the admin (an attempt in flight left
alone).

A real HTTP receiver on 127.0.0.1 (demo/fakes/receiver.py) stands in
for the integrator. Tasks are called directly; nothing reaches Redis.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dispatch import tasks
from dispatch.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from dispatch.services import webhooks
from dispatch.services.webhooks import webhook_deliveries_retry
from tests.dispatch.webhooks import OTHER_SECRET, PAYLOAD, SECRET, _endpoint


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
