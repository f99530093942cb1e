"""The security suite's worlds.

Its people are the suite's (tests/conftest.py): Alice dispatches at Chicago, Bob at
Milwaukee; Dave and Erin drive for Chicago, Oscar for Milwaukee. Cases are opened by
failed scans through the driver's service and worked through the real workflow;
outreach and routing are recorded (tests/exceptions/standins.py) unless a test wires
the real SMS.
"""

from __future__ import annotations

import uuid

import pytest

from outreach import tasks as outreach_tasks


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
