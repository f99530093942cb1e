"""Rate limits on the driver API, counted in Redis across processes."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counters(settings):
    # Counters live in Redis for a minute: a prefix of its own keeps earlier runs out of this one.
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"throttle-test-{uuid.uuid4().hex}"}}


def test_it_answers_429_with_retry_after_once_a_driver_exceeds_the_rate(dave_api, dave_run, settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "driver": "3/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    statuses = [dave_api.get("/api/v1/driver/instructions").status_code for _ in range(5)]
    limited = dave_api.get("/api/v1/driver/instructions")
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]
    assert limited.json()["code"] == "throttled"
    assert 0 < int(limited["Retry-After"]) <= 60


def test_it_counts_each_driver_separately(dave_api, erin_api, settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "driver": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    daves = [dave_api.get("/api/v1/driver/instructions").status_code for _ in range(3)]
    erin = erin_api.get("/api/v1/driver/instructions")
    assert erin.status_code == 200
    assert daves == [200, 200, 429]
    assert erin.json() == {"instructions": [], "next_cursor": "0"}
