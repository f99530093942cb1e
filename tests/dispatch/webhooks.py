"""Outbound webhooks as the tests set them up: the Chicago CRM's endpoint and secret, events emitted as a
service emits them, retries made due, signatures checked as an integrator checks them.

The endpoints point at a real HTTP receiver on 127.0.0.1 (demo/fakes/receiver.py, the ``receiver`` fixture).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.utils import timezone

from demo.fakes.receiver import ReceivedRequest
from dispatch.models import Depot, WebhookDelivery, WebhookEndpoint, WebhookEvent
from dispatch.services.webhooks import webhook_events_emit, webhook_signature_verify

SECRET = "whsec-0f7c2a9d41b8e365"


OTHER_SECRET = "whsec-ffffffffffffffff"


PAYLOAD = {"order": "LM-88231", "reason_code": "ACCESS_DENIED", "marker": "payload-marker-5521"}


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
