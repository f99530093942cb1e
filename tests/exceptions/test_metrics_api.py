"""The metrics API (``GET /api/v1/metrics``): the period and depots it reads from the query, the depots each
person may see, who may ask (dispatchers and admins, signed in), its documentation, and a documented answer
for any query. Most tests read the hand-built day of tests/exceptions/metrics_day.py (the ``day`` fixture).

Alice dispatches at Chicago; Dave drives for Chicago, Oscar for Milwaukee; admins see every depot.
"""

from __future__ import annotations

import datetime as dt

import pytest
import schemathesis
from django.contrib.auth.models import Group
from django.core.wsgi import get_wsgi_application
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from dispatch import roles
from dispatch.models import ApiToken
from tests.exceptions.metrics_day import CHICAGO, DAY, Day, at
from tests.factories import UserFactory
from tests.helpers import client_for, signed_in

pytestmark = pytest.mark.django_db


URL = "/api/v1/metrics"


def test_it_serves_a_dispatcher_the_metrics_of_their_depot(day, alice):
    response = signed_in(alice).get(URL, {"from": "2026-06-10", "to": "2026-06-10", "group_by": "depot"})

    assert response.status_code == 200
    body = response.json()
    assert body["from"] == body["to"] == "2026-06-10"
    assert body["depots"] == ["chi-west"]
    assert body["group_by"] == "depot"
    assert body["totals"]["first_attempt"]["success_rate"] == 0.75
    assert body["totals"]["resolution"]["median_seconds"] == 2400.0
    assert body["totals"]["failed_attempt_cost"] == [
        {"currency": "USD", "failed_attempts": 6, "total_cost": "43.74", "cost_per_failed_attempt": "7.29"}
    ]
    assert body["totals"]["no_touch"]["share"] == 0.75
    assert [group["key"] for group in body["groups"]] == ["chi-west"]


def test_it_defaults_to_today_in_the_depots_time_zone(chicago, alice, dave):
    today = timezone.localdate(timezone.now(), CHICAGO)
    chi = Day(dave, day=today)
    chi.scan(chi.stop(), timezone.now(), code=None)

    body = signed_in(alice).get(URL).json()

    assert body["from"] == body["to"] == today.isoformat()
    assert body["totals"]["first_attempt"]["attempts"] == 1
    assert body["groups"] == []


def test_it_reads_to_alone_as_that_day_and_from_alone_as_since_that_day(day, alice):
    client = signed_in(alice)
    only_to = client.get(URL, {"to": "2026-06-09"}).json()
    assert (only_to["from"], only_to["to"]) == ("2026-06-09", "2026-06-09")
    assert only_to["totals"]["first_attempt"]["attempts"] == 5
    both = client.get(URL, {"from": "2026-06-09", "to": "2026-06-10"}).json()
    assert both["totals"]["first_attempt"]["attempts"] == 9

    today = timezone.localdate(timezone.now(), CHICAGO)
    since = client.get(URL, {"from": (today - dt.timedelta(days=3)).isoformat()}).json()
    assert (since["from"], since["to"]) == ((today - dt.timedelta(days=3)).isoformat(), today.isoformat())


def test_it_takes_depots_repeated_or_comma_separated(day, admin_user):
    client = signed_in(admin_user)
    for params in ({"depot": ["chi-west", "mke"]}, {"depot": "mke,chi-west"}):
        body = client.get(URL, {"to": "2026-06-10", **params}).json()
        assert body["depots"] == ["chi-west", "mke"]
        assert body["totals"]["first_attempt"]["attempts"] == 6


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"from": "10/06/2026"}, "from", "Date has wrong format"),
        ({"to": "2026-02-30"}, "to", "Date has wrong format"),
        ({"from": "2026-06-10", "to": "2026-06-09"}, "to", "is before 'from'"),
        ({"from": "2026-01-01", "to": "2026-06-10"}, "to", "at most 92 days"),
        ({"from": "1900-01-01"}, "from", "between 2000-01-01 and 2100-12-31"),
        ({"group_by": "week"}, "group_by", '"week" is not a valid choice.'),
    ],
)
def test_it_explains_bad_query_parameters(chicago, alice, params, field, message):
    response = signed_in(alice).get(URL, params)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["fields"]) == [field]
    assert message in body["fields"][field][0]


def test_it_accepts_92_days(chicago, alice, dave):
    # A delivery the day before the period, on its first day and on its last.
    for day in (dt.date(2026, 3, 10), dt.date(2026, 3, 11), DAY):
        chi = Day(dave, day=day)
        chi.scan(chi.stop(), at(12, day=day), code=None)

    response = signed_in(alice).get(URL, {"from": "2026-03-11", "to": "2026-06-10", "group_by": "day"})
    assert response.status_code == 200
    body = response.json()
    assert (body["from"], body["to"], body["group_by"]) == ("2026-03-11", "2026-06-10", "day")
    assert body["depots"] == ["chi-west"]
    assert [group["key"] for group in body["groups"]] == ["2026-03-11", "2026-06-10"]
    assert body["totals"]["first_attempt"]["attempts"] == 2


def test_it_hides_other_depots_from_a_dispatcher(day, alice):
    client = signed_in(alice)

    response = client.get(URL, {"to": "2026-06-10", "depot": "mke"})
    assert response.status_code == 404
    assert response.json() == {
        "detail": "No depot mke among the depots you may see.",
        "code": "depot_not_found",
    }
    # A depot that does not exist gets the same answer.
    assert client.get(URL, {"depot": "nowhere"}).json()["code"] == "depot_not_found"
    assert client.get(URL, {"to": "2026-06-10", "depot": "chi-west,mke"}).status_code == 404

    # Without a depot, a dispatcher gets their own depots only.
    assert client.get(URL, {"to": "2026-06-10"}).json()["depots"] == ["chi-west"]


def test_it_shows_every_depot_to_an_admin(day, admin_user, milwaukee):
    member = UserFactory(username="ada", is_staff=True)
    member.groups.add(Group.objects.get(name=roles.ADMINS))
    for user in (admin_user, member):
        body = signed_in(user).get(URL, {"to": "2026-06-10"}).json()
        assert body["depots"] == ["chi-west", "mke"]


def test_it_refuses_api_tokens(day, dave, alice):
    for client in (client_for(dave.user), client_for(alice, kind=ApiToken.Kind.INTEGRATION)):
        response = client.get(URL, {"to": "2026-06-10"})
        assert response.status_code == 403
        assert response.json()["code"] == "session_required"


def test_it_refuses_anyone_not_signed_in(chicago):
    response = Client().get(URL)
    assert response.status_code == 403
    assert response.json()["code"] == "not_authenticated"


def test_it_refuses_a_signed_in_driver(day, dave):
    response = signed_in(dave.user).get(URL, {"to": "2026-06-10"})
    assert response.status_code == 403
    assert response.json() == {"detail": "Metrics are for dispatchers and admins.", "code": "permission_denied"}


def test_it_refuses_a_dispatcher_who_works_no_depot(chicago):
    bob = UserFactory(username="bob", is_staff=True)
    bob.groups.add(Group.objects.get(name=roles.DISPATCHERS))
    response = signed_in(bob).get(URL)
    assert response.status_code == 403
    assert response.json()["code"] == "no_depots"


def test_it_documents_the_operation():
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/metrics"]["get"]
    assert operation["operationId"] == "metrics"
    assert operation["security"] == [{"cookieAuth": []}]
    assert {parameter["name"] for parameter in operation["parameters"]} == {"from", "to", "depot", "group_by", "format"}
    assert {"200", "400", "403", "404"} <= set(operation["responses"])


# Any query string a client can send gets a documented answer, never a 500.
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application()).include(operation_id="metrics")


@pytest.fixture
def alice_session(alice, dave) -> dict[str, str]:
    chi = Day(dave, day=timezone.localdate(timezone.now(), CHICAGO))
    chi.case(chi.scan(chi.stop(), timezone.now()))
    return {"sessionid": signed_in(alice).cookies["sessionid"].value}


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_metrics_keep_their_contract_for_any_query(case, alice_session, keep_test_connection):
    case.call_and_validate(
        cookies=alice_session,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
