from __future__ import annotations

from collections.abc import Iterator

import pytest

from dispatch.models import Stop
from exceptions import tasks
from exceptions.models import EscalationRule
from tests.exceptions.standins import RecordingOutreach, RecordingRouting
from tests.factories import StopFactory


@pytest.fixture
def outreach(settings) -> Iterator[type[RecordingOutreach]]:
    RecordingOutreach.reset()
    settings.EXCEPTIONS_OUTREACH = "tests.exceptions.standins.RecordingOutreach"
    yield RecordingOutreach
    RecordingOutreach.reset()


@pytest.fixture
def routing(settings) -> Iterator[type[RecordingRouting]]:
    RecordingRouting.reset()
    settings.EXCEPTIONS_ROUTING = "tests.exceptions.standins.RecordingRouting"
    yield RecordingRouting
    RecordingRouting.reset()


@pytest.fixture
def triage_enqueued(monkeypatch) -> list[int]:
    """Case ids handed to Celery for triage, instead of reaching the broker."""
    sent: list[int] = []
    monkeypatch.setattr(tasks.case_triage_task, "delay", sent.append)
    return sent


@pytest.fixture
def dave_stop(dave) -> Stop:
    """One of Dave's stops today, an apartment with a gate."""
    return StopFactory(run__driver=dave, order__address__building_type="multi_unit")


@pytest.fixture
def no_default_rules(db) -> None:
    """Start from no escalation rules: migrations seed two defaults every desk starts with."""
    EscalationRule.objects.all().delete()
