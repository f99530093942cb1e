from __future__ import annotations

from collections.abc import Iterator

import pytest
import time_machine
from django.contrib.auth.models import Group

from config.celery import app as celery_app
from demo.fakes.twilio import FakeTwilio
from dispatch import models, roles
from dispatch.reasons import reason_codes_forget
from exceptions.rules import rules_forget
from tests.clock import NOW
from tests.factories import DepotFactory, DriverFactory, UserFactory


@pytest.fixture(autouse=True)
def _stated_instant(request) -> Iterator[None]:
    """Each test starts at ``tests.clock.NOW`` on a ticking clock, unless it is marked ``wall_clock``."""
    if request.node.get_closest_marker("wall_clock"):
        yield
        return
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture(autouse=True)
def _process_caches_forgotten():
    """A test's rows are rolled back; what a process cached from them must go too."""
    reason_codes_forget()
    rules_forget()
    yield
    reason_codes_forget()
    rules_forget()


@pytest.fixture
def chicago(db) -> models.Depot:
    return DepotFactory(code="chi-west", name="Chicago West Loop")


@pytest.fixture
def milwaukee(db) -> models.Depot:
    return DepotFactory(code="mke", name="Milwaukee", latitude=43.0389, longitude=-87.9065)


@pytest.fixture
def admin_user(db) -> models.User:
    """An admin: staff, superuser."""
    return models.User.objects.create_superuser("root-admin", "admin@example.com", "correct-horse-battery")


@pytest.fixture
def alice(chicago) -> models.User:
    """Alice dispatches at the Chicago depot."""
    user = UserFactory(username="alice", first_name="Alice", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.DISPATCHERS))
    user.depots.add(chicago)
    return user


@pytest.fixture
def dave(chicago) -> models.Driver:
    """Dave drives for the Chicago depot."""
    return DriverFactory(user=UserFactory(username="dave", first_name="Dave"), depot=chicago)


@pytest.fixture
def erin(chicago) -> models.Driver:
    """Erin drives for the Chicago depot too: Dave's teammate."""
    return DriverFactory(user=UserFactory(username="erin", first_name="Erin"), depot=chicago)


@pytest.fixture
def oscar(milwaukee) -> models.Driver:
    """Oscar drives for another depot: an outsider."""
    return DriverFactory(user=UserFactory(username="oscar", first_name="Oscar"), depot=milwaukee)


@pytest.fixture
def twilio(settings) -> Iterator[FakeTwilio]:
    """Texts go through the real Twilio SDK to a fake Twilio on 127.0.0.1 (modules with their own setup override it)."""
    with FakeTwilio() as fake:
        settings.OUTREACH_SMS_BACKEND = "outreach.backends.TwilioBackend"
        settings.TWILIO_API_BASE_URL = fake.url
        settings.TWILIO_ACCOUNT_SID = "AC" + "0" * 32
        settings.TWILIO_AUTH_TOKEN = "fake-auth-token"
        settings.TWILIO_FROM_NUMBER = "+13125550000"
        settings.TWILIO_HTTP_TIMEOUT = 0.5
        settings.EXCEPTIONS_OUTREACH = "outreach.adapter.SmsOutreach"
        yield fake


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """Celery runs tasks in-process when they are published (after their transaction commits, with
    ``django_capture_on_commit_callbacks(execute=True)``)."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False
