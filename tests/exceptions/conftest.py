from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from dispatch.models import Depot, Driver, ScanEvent, Stop
from dispatch.services.scans import scan_record
from exceptions import tasks
from exceptions.analytics import metrics_summary
from exceptions.models import EscalationRule, ExceptionCase
from tests.exceptions.standins import RecordingOutreach, RecordingRouting
from tests.factories import StopFactory, reason


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


def at(driver: Driver, stop: Stop, *, metres_north: float = 0.0, minutes_ago: float = 0.0) -> None:
    """Put the driver's last GPS ping some metres north of the stop's address."""
    address = stop.order.address
    driver.last_latitude = address.latitude + metres_north / 111_320
    driver.last_longitude = address.longitude
    driver.last_seen_at = timezone.now() - dt.timedelta(minutes=minutes_ago)
    driver.save(update_fields=["last_latitude", "last_longitude", "last_seen_at"])


def scan(stop: Stop, outcome: str = ScanEvent.Outcome.FAILED, code: str = "ACCESS_DENIED") -> dict:
    stop.refresh_from_db()
    result = scan_record(
        driver=stop.run.driver,
        stop_id=stop.pk,
        outcome=outcome,
        reason=reason(code) if outcome == ScanEvent.Outcome.FAILED else None,
        device_time=timezone.now(),
        latitude=None,
        longitude=None,
        notes="",
        photo=None,
        idempotency_key=uuid.uuid4().hex,
    )
    return result.response


def fail(stop: Stop, code: str = "ACCESS_DENIED") -> ExceptionCase:
    return ExceptionCase.objects.get(pk=scan(stop, code=code)["case_id"])


@pytest.fixture
def no_default_rules(db) -> None:
    """Start from no escalation rules: migrations seed two defaults every desk starts with."""
    EscalationRule.objects.all().delete()


# --- Metrics ------------------------------------------------------------------------------------------------------

# The day the metrics tests build: a Wednesday, before any clock change.
METRICS_DAY = dt.date(2026, 6, 10)


def summary(
    depots: list[Depot], group_by: str | None = None, start: dt.date = METRICS_DAY, end: dt.date = METRICS_DAY
) -> Any:
    """``metrics_summary`` over these depots and days, as the metrics API calls it."""
    return metrics_summary(
        depot_ids=[depot.pk for depot in depots],
        date_from=start,
        date_to=end,
        group_by=group_by,  # type: ignore[arg-type]
    )


def groups(result: Any) -> dict[str | None, Any]:
    return {group["key"]: group for group in result["groups"]}
