from __future__ import annotations

from collections.abc import Iterator

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.test import Client

from config.celery import app as celery_app
from demo.fakes.twilio import FakeTwilio
from dispatch import models, roles
from dispatch.reasons import reason_codes_forget
from exceptions import tasks as exception_tasks
from exceptions.rules import rules_forget
from tests.clock import NOW
from tests.exceptions.standins import RecordingOutreach, RecordingRouting
from tests.factories import DepotFactory, DriverFactory, StopFactory, UserFactory
from tests.helpers import DESK_NUMBER, PUBLIC_URL, TWILIO_TOKEN, connection_kept_across_requests


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
def ten_am() -> Iterator[None]:
    """The clock stands still at ``tests.clock.NOW``: times a test computes are the ones the product reads."""
    with time_machine.travel(NOW, tick=False):
        yield


# --- Depots and people --------------------------------------------------------------------------------------------


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
def bob(milwaukee) -> models.User:
    """Bob dispatches at the Milwaukee depot: an outsider to Chicago's cases."""
    user = UserFactory(username="bob", first_name="Bob", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.DISPATCHERS))
    user.depots.add(milwaukee)
    return user


@pytest.fixture
def carol(chicago) -> models.User:
    """Carol dispatches at Chicago too: Alice's teammate at the next desk."""
    user = UserFactory(username="carol", first_name="Carol", last_name="Diaz", is_staff=True)
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
def dave_stop(dave) -> models.Stop:
    """One of Dave's stops today, an apartment with a gate."""
    stop: models.Stop = StopFactory(run__driver=dave, order__address__building_type="multi_unit")
    return stop


@pytest.fixture
def oscar_stop(oscar) -> models.Stop:
    """One of Oscar's stops today, in Milwaukee."""
    stop: models.Stop = StopFactory(run__driver=oscar)
    return stop


@pytest.fixture
def admin_client_(client, admin_user) -> Client:
    """The test's client, signed in as the admin."""
    client.force_login(admin_user)
    return client


# --- The operator's ports, tasks and outside services -------------------------------------------------------------


@pytest.fixture
def outreach(settings) -> Iterator[type[RecordingOutreach]]:
    """What the operator asks of outreach is recorded (tests/exceptions/standins.py): nobody is texted."""
    RecordingOutreach.reset()
    settings.EXCEPTIONS_OUTREACH = "tests.exceptions.standins.RecordingOutreach"
    yield RecordingOutreach
    RecordingOutreach.reset()


@pytest.fixture
def routing(settings) -> Iterator[type[RecordingRouting]]:
    """What the operator asks of routing is recorded (tests/exceptions/standins.py): no plan changes."""
    RecordingRouting.reset()
    settings.EXCEPTIONS_ROUTING = "tests.exceptions.standins.RecordingRouting"
    yield RecordingRouting
    RecordingRouting.reset()


@pytest.fixture
def triage_enqueued(monkeypatch) -> list[int]:
    """Case ids handed to Celery for triage, instead of reaching the broker."""
    sent: list[int] = []
    monkeypatch.setattr(exception_tasks.case_triage_task, "delay", sent.append)
    return sent


def _texts_through(fake: FakeTwilio, settings) -> None:
    """The desk's texts go through the real Twilio SDK to the fake Twilio."""
    settings.OUTREACH_SMS_BACKEND = "outreach.backends.TwilioBackend"
    settings.TWILIO_API_BASE_URL = fake.url
    settings.TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    settings.TWILIO_FROM_NUMBER = DESK_NUMBER
    settings.EXCEPTIONS_OUTREACH = "outreach.adapter.SmsOutreach"


@pytest.fixture
def twilio(settings) -> Iterator[FakeTwilio]:
    """Texts go through the real Twilio SDK to a fake Twilio on 127.0.0.1 (modules with their own setup override it)."""
    with FakeTwilio() as fake:
        _texts_through(fake, settings)
        settings.TWILIO_HTTP_TIMEOUT = 0.5
        yield fake


@pytest.fixture
def live_twilio(settings, live_server) -> Iterator[FakeTwilio]:
    """The fake Twilio, calling the desk back on the live server: its status reports and replies are webhooks."""
    with FakeTwilio() as fake:
        _texts_through(fake, settings)
        settings.PUBLIC_BASE_URL = live_server.url
        yield fake


@pytest.fixture
def signed(settings) -> None:
    """Twilio's webhooks to the desk at ``tests.helpers.PUBLIC_URL`` are signed with ``TWILIO_TOKEN``
    (``tests.helpers.twilio_post`` signs them)."""
    settings.PUBLIC_BASE_URL = PUBLIC_URL
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """Celery runs tasks in-process when they are published (after their transaction commits, with
    ``django_capture_on_commit_callbacks(execute=True)``)."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def keep_test_connection() -> Iterator[None]:
    """Like Django's test client: the test's connection (and its transaction) stays open across the requests
    schemathesis makes to the WSGI application."""
    with connection_kept_across_requests():
        yield
