"""Outbound webhooks, signatures and secrets: only fresh, untampered signatures verify; the endpoint's
secret is encrypted at rest; neither the secret nor the body is ever logged.

A real HTTP receiver on 127.0.0.1 (demo/fakes/receiver.py) stands in
for the integrator. Tasks are called directly; nothing reaches Redis.
"""

from __future__ import annotations

import logging

from django.db import connection

from dispatch import crypto, tasks
from dispatch.models import WebhookEndpoint, WebhookEvent
from dispatch.services import webhooks
from dispatch.services.webhooks import webhook_signature, webhook_signature_verify
from tests.dispatch.webhooks import OTHER_SECRET, PAYLOAD, SECRET, _emit_and_commit, _make_due

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
