"""The dispatch suite's fixtures: the route planner's token for plan import, and the integrator's webhook
receiver with the Chicago CRM's endpoint (tests/dispatch/webhooks.py sets endpoints up)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from demo.fakes.receiver import WebhookReceiver
from dispatch import tasks
from dispatch.models import ApiToken, WebhookEndpoint
from dispatch.services.tokens import api_token_issue
from tests.dispatch.webhooks import _endpoint
from tests.factories import UserFactory

# --- Plan import ------------------------------------------------------------------------------------------------------


@pytest.fixture
def planner(chicago) -> APIClient:
    """Chicago's route planner: an integration token not limited to a depot."""
    _, key = api_token_issue(user=UserFactory(username="planner"), kind=ApiToken.Kind.INTEGRATION, name="Planner")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


# --- Outbound webhooks ------------------------------------------------------------------------------------------------


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
def hook(chicago, receiver) -> WebhookEndpoint:
    """The Chicago CRM: subscribed to failed scans and opened cases at the Chicago depot."""
    return _endpoint(receiver.url, depot=chicago)
