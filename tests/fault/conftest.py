"""The fault suite's fixtures: its Redis and the broker on it, the shared clock, the fake Twilio, the workers.

What they are and how they work together is in tests/fault/harness.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from config.celery import app as celery_app
from dispatch.models import Stop
from tests.factories import StopFactory
from tests.fault.harness import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FROM_NUMBER,
    FaultTwilio,
    RedisServer,
    SharedClock,
    Workers,
    broker_switch,
    queues_purge,
)

# --- Redis --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def broker(redis_server) -> Iterator[RedisServer]:
    """The test process publishes its tasks to the suite's Redis, where the workers consume them."""
    before = celery_app.conf.broker_url
    broker_switch(redis_server.url())
    yield redis_server
    broker_switch(before)


@pytest.fixture
def empty_queues(broker) -> None:
    """No task left in the broker by an earlier test: the module's workers run only what this test publishes."""
    queues_purge(broker)


# --- The shared clock ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def module_clock(tmp_path_factory) -> SharedClock:
    return SharedClock(tmp_path_factory.mktemp("clock") / "offset")


@pytest.fixture
def clock(module_clock) -> SharedClock:
    module_clock.set(0.0)
    return module_clock


# --- The fake Twilio ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def module_twilio(module_clock) -> Iterator[FaultTwilio]:
    with FaultTwilio(module_clock) as fake:
        yield fake


@pytest.fixture
def twilio(module_twilio, settings) -> FaultTwilio:
    """The fake Twilio, emptied; the test process's own sends (if any) go there too, through the real SDK."""
    module_twilio.reset()
    settings.OUTREACH_SMS_BACKEND = "outreach.backends.TwilioBackend"
    settings.TWILIO_API_BASE_URL = module_twilio.url
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_FROM_NUMBER = FROM_NUMBER
    settings.EXCEPTIONS_OUTREACH = "outreach.adapter.SmsOutreach"
    settings.EXCEPTIONS_ROUTING = "routing.adapter.SolverRouting"
    return module_twilio


# --- Celery workers -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workers(django_db_setup, broker, module_twilio, module_clock, tmp_path_factory) -> Iterator[Workers]:
    pool = Workers(
        directory=tmp_path_factory.mktemp("workers"), redis_server=broker, twilio=module_twilio, clock=module_clock
    )
    yield pool
    pool.stop_all()


# --- Data ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def erin_stop(erin) -> Stop:
    """One of Erin's stops today."""
    stop: Stop = StopFactory(run__driver=erin)
    return stop
