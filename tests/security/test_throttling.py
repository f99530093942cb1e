"""Rate limits: failed sign-ins are capped per username and client address; the token APIs answer 429 past their rate.

Counters live in Redis (shared by every web process); each test counts under a
key prefix of its own. The API's windows are fixed (one INCR per request): the
driver tests pin the clock to the start of a window so none ends mid-test.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from config.settings import base
from dispatch.api.throttling import WindowRateThrottle
from tests.factories import UserFactory
from tests.helpers import client_for
from tests.security import endpoints

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_limits")]

LOGIN = "/accounts/login/"
ATTACKER = "203.0.113.5"
ELSEWHERE = "198.51.100.7"
PASSWORD = "correct-horse-battery"  # tests/factories.py


@pytest.fixture(autouse=True)
def login_limit(settings) -> int:
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_FAILURE_WINDOW_S = 600
    return 3


def sign_in(
    username: str, password: str, *, address: str = ATTACKER, url: str = LOGIN, headers: dict[str, str] | None = None
) -> tuple[Any, str | None]:
    """The answer to one sign-in from a browser at ``address``, and whom its session is now signed in as."""
    client = Client(REMOTE_ADDR=address)
    response = client.post(url, {"username": username, "password": password}, headers=headers)
    return response, client.session.get("_auth_user_id")


def fail_until_limited(username: str, *, url: str = LOGIN) -> None:
    for _ in range(3):
        response, user_id = sign_in(username, "not-the-password", url=url)
        assert (response.status_code, user_id) == (200, None)


# --- Sign-in ------------------------------------------------------------------------------------------------------


def test_failed_sign_ins_are_refused_past_the_limit_even_with_the_right_password(alice):
    fail_until_limited("alice")

    response, user_id = sign_in("alice", PASSWORD)

    assert response.status_code == 429
    assert int(response["Retry-After"]) == 600
    assert "Too many failed sign-ins. Wait 10 minutes and try again" in response.content.decode()
    assert user_id is None


def test_under_the_limit_the_right_password_still_signs_in(alice):
    for _ in range(2):
        sign_in("alice", "not-the-password")

    response, user_id = sign_in("alice", PASSWORD)

    assert (response.status_code, user_id) == (302, str(alice.pk))
    assert response["Location"] == "/board/"
    alice.refresh_from_db()
    assert alice.last_login is not None


def test_the_limit_holds_for_another_spelling_and_a_claimed_forwarded_address(alice):
    fail_until_limited("alice")

    # No proxy is configured (NUM_PROXIES=0): a client's own X-Forwarded-For must not give it a fresh count.
    for response, user_id in (
        sign_in("ALICE", PASSWORD),
        sign_in("alice", PASSWORD, headers={"X-Forwarded-For": ELSEWHERE}),
    ):
        assert (response.status_code, user_id) == (429, None)
        assert int(response["Retry-After"]) == 600
        assert "Too many failed sign-ins" in response.content.decode()
    alice.refresh_from_db()
    assert alice.last_login is None


def test_a_guesser_cannot_lock_the_user_out_from_elsewhere_or_others_out_from_there(alice):
    carol = UserFactory(username="carol")
    fail_until_limited("alice")

    _, alice_elsewhere = sign_in("alice", PASSWORD, address=ELSEWHERE)
    _, carol_there = sign_in("carol", PASSWORD)

    assert (alice_elsewhere, carol_there) == (str(alice.pk), str(carol.pk))


def test_the_admin_sign_in_shares_the_limit(admin_user):
    fail_until_limited("root-admin", url="/admin/login/")

    response, user_id = sign_in("root-admin", PASSWORD, url="/admin/login/")

    assert "Too many failed sign-ins" in response.content.decode()
    assert user_id is None


# --- The token APIs -----------------------------------------------------------------------------------------------


@pytest.fixture
def driver_rate(settings) -> int:
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "driver": "3/hour"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    return 3


@pytest.fixture
def window_start():
    """The clock at the start of the next hour, running: the whole test stays in one fixed window."""
    start = (int(time.time()) // 3600 + 1) * 3600
    with time_machine.travel(dt.datetime.fromtimestamp(start, tz=dt.UTC), tick=True):
        yield


def url_of(endpoint: endpoints.Endpoint) -> str:
    # Any id will do: the rate is checked before the view looks anything up.
    kwargs: dict[str, object] = {name: 1 for name in re.findall(r"<int:(\w+)>", endpoint.route)}
    return reverse(endpoint.name, kwargs={"version": "v1", **kwargs})


@pytest.mark.usefixtures("window_start")
def test_the_driver_api_answers_429_past_its_rate_on_every_endpoint(dave, erin, driver_rate):
    dave_api, erin_api = client_for(dave.user), client_for(erin.user)
    within = [dave_api.get("/api/v1/driver/instructions").status_code for _ in range(driver_rate)]
    assert within == [200] * driver_rate

    for endpoint in endpoints.of_kind("driver"):
        method = "get" if hasattr(endpoint.view_class, "get") else "post"
        response = getattr(dave_api, method)(url_of(endpoint))
        assert response.status_code == 429, f"{endpoint.name} is not rate-limited"
        assert response.json()["code"] == "throttled"
        assert 0 < int(response["Retry-After"]) <= 3600

    # Counted per driver: one busy app does not stop the others.
    assert erin_api.get("/api/v1/driver/instructions").status_code == 200


@pytest.mark.parametrize("name", endpoints.names("driver") + endpoints.names("integration"))
def test_every_token_endpoint_has_a_rate_in_production(name):
    (endpoint,) = [endpoint for endpoint in endpoints.endpoints() if endpoint.name == name]
    view = endpoint.view_class
    assert WindowRateThrottle in view.throttle_classes, f"{name} has no shared-counter rate limit"
    rates: dict[str, str] = base.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]  # type: ignore[assignment]
    rate = rates.get(view.throttle_scope)
    assert rate is not None, f"{name}: no production rate for its scope {view.throttle_scope!r}"
    assert WindowRateThrottle().parse_rate(rate)[0], f"{name}: the rate {rate!r} limits nothing"
