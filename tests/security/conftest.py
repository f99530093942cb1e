"""The security suite's people and worlds.

Alice dispatches at Chicago, Bob at Milwaukee; Dave and Erin drive for
Chicago, Oscar for Milwaukee. Cases are opened by failed scans through the
driver's service and worked through the real workflow; outreach and routing
are recorded (tests/exceptions/standins.py) unless a test wires the real SMS.
"""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import Group

from dispatch import roles
from outreach import tasks as outreach_tasks
from tests.exceptions.conftest import dave_stop, outreach, routing, triage_enqueued
from tests.factories import StopFactory, UserFactory

__all__ = ["dave_stop", "outreach", "routing", "triage_enqueued"]


@pytest.fixture
def bob(milwaukee):
    """Bob dispatches at the Milwaukee depot: an outsider to Chicago's cases."""
    user = UserFactory(username="bob", first_name="Bob", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.DISPATCHERS))
    user.depots.add(milwaukee)
    return user


@pytest.fixture
def oscar_stop(oscar):
    return StopFactory(run__driver=oscar)


@pytest.fixture
def fresh_limits(settings) -> str:
    """Rate-limit counters of this test only: they live in Redis across runs and processes."""
    prefix = f"security-{uuid.uuid4().hex}"
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": prefix}}
    return prefix


@pytest.fixture
def sends_enqueued(monkeypatch) -> list[int]:
    """Message ids handed to Celery for sending, instead of reaching the broker."""
    sent: list[int] = []
    monkeypatch.setattr(outreach_tasks.message_send_task, "delay", sent.append)
    return sent
