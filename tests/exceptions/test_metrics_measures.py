"""The desk's metrics: each measure on a hand-built day with known answers, the API, and the cost model admin.

The day (Chicago, 2026-06-10, CDT = UTC-5), with a cost model of its own
(0.50 a driver minute, 1.00 a km, 10.00 a redelivery):

    order  first attempt           later that day
    A      delivered 09:15
    B      delivered 09:40
    C      failed 10:40 (4 min)    case 10:40-11:00 access code, untouched; delivered 11:05
    D      delivered 14:05
    E      failed the day before   failed 12:30 (5 min), case 12:30-14:30 rescheduled later, touched;
                                   failed again 12:50 on the same stop (no case of its own);
                                   the address is 0.1 degree north of the depot
    G      failed the day before   failed 15:00, case escalated 15:10, resolved 15:40 safe drop, untouched
    K      failed the day before   failed 16:00, case closed 16:30 without a resolution, untouched
    L      failed the day before   failed 23:30 local (04:30 UTC the next day), case still open
    M      failed the day before   case opened and escalated the day before, still open
    Z      delivered 00:30 the next day (outside)

Milwaukee (same zone, default cost model) delivers W at 10:00 and fails X at
10:30 (a case resolved in 15 minutes, returned to sender, touched).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import Group
from django.core.wsgi import get_wsgi_application
from django.db import connection
from django.db.models import F, Value
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from dispatch import roles
from dispatch.geo import haversine_m
from dispatch.models import ApiToken, Depot, Run, ScanEvent, Stop
from exceptions.analytics import GROUP_BY, haversine_km
from exceptions.models import CostModel, ExceptionCase
from tests.factories import (
    AddressFactory,
    DepotFactory,
    DriverFactory,
    ExceptionCaseFactory,
    OrderFactory,
    RunFactory,
    ScanEventFactory,
    StopFactory,
    UserFactory,
    reason,
)
from tests.helpers import METRICS_DAY, client_for, groups, signed_in, summary

pytestmark = pytest.mark.django_db

DAY = METRICS_DAY
BEFORE = DAY - dt.timedelta(days=1)
CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
LOS_ANGELES = zoneinfo.ZoneInfo("America/Los_Angeles")
URL = "/api/v1/metrics"
OUTCOME = ExceptionCase.Outcome
STATE = ExceptionCase.State


def at(hour: int, minute: int = 0, day: dt.date = DAY, zone: dt.tzinfo = CHICAGO) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


class Day:
    """Builds stops, scans and cases on runs by their local times."""

    def __init__(self, driver: Any, day: dt.date = DAY) -> None:
        self.driver = driver
        self.runs: dict[dt.date, Run] = {}
        self.day = day

    def run(self, day: dt.date) -> Run:
        if day not in self.runs:
            self.runs[day] = RunFactory(driver=self.driver, service_date=day)
        return self.runs[day]

    def stop(self, order: Any = None, *, day: dt.date | None = None, minutes: int = 3, **order_fields: Any) -> Stop:
        run = self.run(day or self.day)
        order = order or OrderFactory(depot=run.depot, **order_fields)
        return StopFactory(run=run, order=order, service_minutes=minutes)

    def scan(self, stop: Stop, when: dt.datetime, *, code: str | None = "ACCESS_DENIED") -> ScanEvent:
        outcome = ScanEvent.Outcome.FAILED if code else ScanEvent.Outcome.DELIVERED
        return ScanEventFactory(
            stop=stop, outcome=outcome, reason_code=reason(code) if code else None, received_at=when, device_time=when
        )

    def case(self, scan: ScanEvent, **fields: Any) -> ExceptionCase:
        fields.setdefault("opened_at", scan.received_at)
        return ExceptionCaseFactory(scan=scan, **fields)


@pytest.fixture
def chicago_costs(chicago) -> CostModel:
    return CostModel.objects.create(
        depot=chicago,
        currency="USD",
        driver_minute_cost=Decimal("0.50"),
        distance_cost_per_km=Decimal("1.00"),
        redelivery_cost=Decimal("10.00"),
    )


@pytest.fixture
def day(chicago, chicago_costs, dave, oscar) -> dict[str, Any]:
    chi = Day(dave)
    for order_at in (at(9, 15), at(9, 40), at(14, 5)):
        chi.scan(chi.stop(), order_at, code=None)

    c = chi.stop(minutes=4)
    c_case = chi.case(
        chi.scan(c, at(10, 40)), state=STATE.RESOLVED, outcome=OUTCOME.ACCESS_CODE_PROVIDED, resolved_at=at(11, 0)
    )
    chi.scan(c, at(11, 5), code=None)

    far = AddressFactory(latitude=chicago.latitude + 0.1, longitude=chicago.longitude)
    cases = {"C": c_case}
    for name, code in (
        ("E", "RECIPIENT_ABSENT"),
        ("G", "ACCESS_DENIED"),
        ("K", "BUSINESS_CLOSED"),
        ("L", "GATE_CLOSED"),
    ):
        earlier = chi.stop(day=BEFORE, **({"address": far} if name == "E" else {}))
        chi.scan(earlier, at(15, 0, BEFORE), code=code)
        earlier.status = Stop.Status.RESCHEDULED
        earlier.save()
        today = chi.stop(earlier.order, minutes=5 if name == "E" else 3)
        first = {"E": at(12, 30), "G": at(15, 0), "K": at(16, 0), "L": at(23, 30)}[name]
        cases[name] = chi.case(chi.scan(today, first, code=code))
        if name == "E":
            chi.scan(today, at(12, 50), code=code)
    ExceptionCase.objects.filter(pk=cases["E"].pk).update(
        state=STATE.RESOLVED, outcome=OUTCOME.RESCHEDULED_LATER, resolved_at=at(14, 30), touched_by_dispatcher=True
    )
    ExceptionCase.objects.filter(pk=cases["G"].pk).update(
        state=STATE.RESOLVED, outcome=OUTCOME.SAFE_DROP, escalated_at=at(15, 10), resolved_at=at(15, 40)
    )
    ExceptionCase.objects.filter(pk=cases["K"].pk).update(
        state=STATE.CLOSED, outcome=OUTCOME.CANCELLED, closed_at=at(16, 30)
    )
    ExceptionCase.objects.filter(pk=cases["L"].pk).update(state=STATE.AWAITING_RECIPIENT)

    m = chi.stop(day=BEFORE)
    cases["M"] = chi.case(
        chi.scan(m, at(18, 0, BEFORE), code="DAMAGED"), state=STATE.ESCALATED, escalated_at=at(18, 10, BEFORE)
    )
    chi.scan(chi.stop(), at(0, 30, DAY + dt.timedelta(days=1)), code=None)

    mke = Day(oscar)
    mke.scan(mke.stop(), at(10, 0), code=None)
    x = mke.scan(mke.stop(), at(10, 30), code="DAMAGED")
    mke.case(
        x,
        state=STATE.RESOLVED,
        outcome=OUTCOME.RETURNED_TO_SENDER,
        resolved_at=at(10, 45),
        touched_by_dispatcher=True,
    )
    return cases


# --- Each measure --------------------------------------------------------------------------------------------------


def test_it_computes_first_attempt_success_from_each_orders_first_scan(day, chicago):
    # A, B and D delivered first time, C failed first; E, G, K, L first failed the day before; Z is tomorrow.
    assert summary([chicago])["totals"]["first_attempt"] == {"attempts": 4, "delivered": 3, "success_rate": 0.75}


def test_it_measures_resolution_time_with_the_mean_and_the_median(day, chicago):
    # C took 20 minutes, G 40, E 120.
    assert summary([chicago])["totals"]["resolution"] == {
        "resolved": 3,
        "average_seconds": 3600.0,
        "median_seconds": 2400.0,
    }


def test_it_prices_failed_attempts_with_the_depots_cost_model(day, chicago):
    # Minutes: C 4, E 5 + 5, G 3, K 3, L 3 = 23 x 0.50 = 11.50. E's case was rescheduled: one re-visit,
    # 10.00 + 1.00 x 22.239016 km (0.1 degree there and back) = 32.239016. The 12:50 scan joined E's case.
    assert summary([chicago])["totals"]["failed_attempt_cost"] == [
        {
            "currency": "USD",
            "failed_attempts": 6,
            "total_cost": Decimal("43.74"),
            "cost_per_failed_attempt": Decimal("7.29"),
        }
    ]


def test_it_falls_back_to_the_default_cost_model_and_lists_each_currency(day, chicago, milwaukee):
    CostModel.objects.filter(depot__isnull=True).update(currency="CAD", driver_minute_cost=Decimal("0.80"))

    costs = summary([chicago, milwaukee])["totals"]["failed_attempt_cost"]

    # X: 3 minutes at the default 0.80; returned to sender is not a re-visit.
    assert costs == [
        {
            "currency": "CAD",
            "failed_attempts": 1,
            "total_cost": Decimal("2.40"),
            "cost_per_failed_attempt": Decimal("2.40"),
        },
        {
            "currency": "USD",
            "failed_attempts": 6,
            "total_cost": Decimal("43.74"),
            "cost_per_failed_attempt": Decimal("7.29"),
        },
    ]


@pytest.mark.parametrize("outcome", [*OUTCOME.values, ""])
def test_it_charges_a_revisit_only_when_the_parcel_goes_out_again(chicago, chicago_costs, dave, outcome):
    chi = Day(dave)
    far = AddressFactory(latitude=chicago.latitude + 0.1, longitude=chicago.longitude)
    chi.case(chi.scan(chi.stop(address=far), at(10, 0)), outcome=outcome)

    total = summary([chicago])["totals"]["failed_attempt_cost"][0]["total_cost"]

    revisits = {OUTCOME.RESCHEDULED_SAME_DAY, OUTCOME.RESCHEDULED_LATER}
    assert total == (Decimal("33.74") if outcome in revisits else Decimal("1.50"))


def test_it_counts_the_share_of_finished_cases_no_dispatcher_touched(day, chicago):
    # C, E, G resolved and K closed today; only E was touched.
    assert summary([chicago])["totals"]["no_touch"] == {"finished": 4, "untouched": 3, "share": 0.75}


def test_it_counts_cases_opened_resolved_escalated_and_open_now(day, chicago):
    # Opened today: C, E, G, K, L. Escalated today: G (M was yesterday). Open now: L, and M from yesterday.
    assert summary([chicago])["totals"]["cases"] == {"opened": 5, "resolved": 3, "escalated": 1, "open_now": 2}


def test_it_counts_a_late_evening_scan_on_its_local_day(day, chicago):
    # L failed at 23:30 in Chicago, 04:30 UTC the next day; Z was delivered at 00:30 the next local day.
    assert summary([chicago])["totals"]["cases"]["opened"] == 5
    tomorrow = summary([chicago], start=DAY + dt.timedelta(days=1), end=DAY + dt.timedelta(days=1))["totals"]
    assert tomorrow["first_attempt"]["attempts"] == 1
    assert tomorrow["cases"]["opened"] == 0


def test_it_keeps_each_depot_to_its_own_rows(day, chicago, milwaukee):
    mke = summary([milwaukee])["totals"]
    assert mke["first_attempt"] == {"attempts": 2, "delivered": 1, "success_rate": 0.5}
    assert mke["resolution"] == {"resolved": 1, "average_seconds": 900.0, "median_seconds": 900.0}
    assert mke["cases"] == {"opened": 1, "resolved": 1, "escalated": 0, "open_now": 0}

    both = summary([chicago, milwaukee])["totals"]
    assert both["first_attempt"] == {"attempts": 6, "delivered": 4, "success_rate": 0.6667}
    assert both["no_touch"] == {"finished": 5, "untouched": 3, "share": 0.6}


def test_it_answers_with_zeros_for_a_quiet_day(chicago):
    totals = summary([chicago])["totals"]
    assert totals["first_attempt"] == {"attempts": 0, "delivered": 0, "success_rate": None}
    assert totals["resolution"] == {"resolved": 0, "average_seconds": None, "median_seconds": None}
    assert totals["failed_attempt_cost"] == [
        {"currency": "USD", "failed_attempts": 0, "total_cost": Decimal("0.00"), "cost_per_failed_attempt": None}
    ]


# --- Groups --------------------------------------------------------------------------------------------------------


def test_it_groups_by_hour_in_the_depots_local_time(day, chicago):
    hours = groups(summary([chicago], "hour"))

    assert hours["2026-06-10T09:00"]["first_attempt"] == {"attempts": 2, "delivered": 2, "success_rate": 1.0}
    assert hours["2026-06-10T10:00"]["first_attempt"] == {"attempts": 1, "delivered": 0, "success_rate": 0.0}
    assert hours["2026-06-10T12:00"]["failed_attempt_cost"][0]["failed_attempts"] == 2
    assert hours["2026-06-10T12:00"]["failed_attempt_cost"][0]["total_cost"] == Decimal("37.24")
    assert hours["2026-06-10T14:00"]["resolution"]["median_seconds"] == 7200.0
    assert hours["2026-06-10T15:00"]["cases"] == {"opened": 1, "resolved": 1, "escalated": 1, "open_now": None}
    assert hours["2026-06-10T16:00"]["no_touch"] == {"finished": 1, "untouched": 1, "share": 1.0}
    assert hours["2026-06-10T23:00"]["cases"]["opened"] == 1
    assert list(hours) == sorted(hours)


def test_it_groups_by_day_over_several_days(day, chicago):
    days = groups(summary([chicago], "day", start=BEFORE, end=DAY))

    assert list(days) == ["2026-06-09", "2026-06-10"]
    assert days["2026-06-09"]["first_attempt"] == {"attempts": 5, "delivered": 0, "success_rate": 0.0}
    assert days["2026-06-09"]["cases"] == {"opened": 1, "resolved": 0, "escalated": 1, "open_now": None}
    assert days["2026-06-10"]["first_attempt"]["attempts"] == 4
    assert days["2026-06-10"]["resolution"]["average_seconds"] == 3600.0


def test_it_groups_by_reason_code(day, chicago):
    reasons = groups(summary([chicago], "reason_code"))

    # First attempts that were delivered have no reason code.
    assert reasons[None]["first_attempt"] == {"attempts": 3, "delivered": 3, "success_rate": 1.0}
    assert reasons["ACCESS_DENIED"]["first_attempt"] == {"attempts": 1, "delivered": 0, "success_rate": 0.0}
    assert reasons["RECIPIENT_ABSENT"]["failed_attempt_cost"][0]["failed_attempts"] == 2
    assert reasons["ACCESS_DENIED"]["resolution"] == {
        "resolved": 2,
        "average_seconds": 1800.0,
        "median_seconds": 1800.0,
    }
    assert reasons["GATE_CLOSED"]["cases"] == {"opened": 1, "resolved": 0, "escalated": 0, "open_now": 1}
    assert reasons["DAMAGED"]["cases"] == {"opened": 0, "resolved": 0, "escalated": 0, "open_now": 1}
    assert reasons["BUSINESS_CLOSED"]["no_touch"] == {"finished": 1, "untouched": 1, "share": 1.0}


def test_it_groups_by_depot(day, chicago, milwaukee):
    depots = groups(summary([chicago, milwaukee], "depot"))

    assert list(depots) == ["chi-west", "mke"]
    assert depots["chi-west"]["first_attempt"]["success_rate"] == 0.75
    assert depots["mke"]["resolution"]["median_seconds"] == 900.0
    assert depots["mke"]["failed_attempt_cost"][0]["total_cost"] == Decimal("2.25")
    assert depots["chi-west"]["cases"]["open_now"] == 2


@pytest.mark.parametrize("group_by", GROUP_BY)
def test_its_totals_do_not_depend_on_the_grouping(day, chicago, milwaukee, group_by):
    assert summary([chicago, milwaukee], group_by)["totals"] == summary([chicago, milwaukee])["totals"]


def test_it_buckets_a_depot_in_another_time_zone_by_its_own_day_and_hour(chicago, dave):
    lax = DepotFactory(
        code="lax", name="Los Angeles", time_zone="America/Los_Angeles", latitude=34.05, longitude=-118.25
    )
    walt = DriverFactory(user=UserFactory(username="walt"), depot=lax)
    # One instant, 06:30 UTC on the 11th: 23:30 on the 10th in Los Angeles, 01:30 on the 11th in Chicago.
    instant = at(23, 30, zone=LOS_ANGELES)
    west = Day(walt)
    west.scan(west.stop(), instant, code=None)
    chi = Day(dave, day=DAY + dt.timedelta(days=1))
    chi.scan(chi.stop(), instant, code=None)
    chi.scan(chi.stop(), at(9, 5, DAY), code=None)

    by_day = groups(summary([chicago, lax], "day", start=DAY, end=DAY + dt.timedelta(days=1)))
    assert {key: group["first_attempt"]["attempts"] for key, group in by_day.items()} == {
        "2026-06-10": 2,  # Chicago's 09:05 and Los Angeles' 23:30
        "2026-06-11": 1,  # Chicago's 01:30
    }
    by_hour = groups(summary([chicago, lax], "hour", start=DAY, end=DAY + dt.timedelta(days=1)))
    assert set(by_hour) == {"2026-06-10T09:00", "2026-06-10T23:00", "2026-06-11T01:00"}
    assert summary([lax])["totals"]["first_attempt"]["attempts"] == 1
    assert summary([chicago])["totals"]["first_attempt"]["attempts"] == 1


def test_it_runs_the_same_few_queries_however_many_rows(day, chicago, milwaukee, erin):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            summary([chicago, milwaukee], "hour")
        return len(captured.captured_queries)

    before = queries()
    more = Day(erin)
    for minute in range(20):
        more.case(more.scan(more.stop(), at(13, minute)), state=STATE.RESOLVED, resolved_at=at(13, 30))
    assert queries() == before <= 12


def test_the_sql_distance_is_the_haversine_of_dispatch_geo(chicago, milwaukee):
    row = (
        Depot.objects.filter(pk=chicago.pk)
        .annotate(km=haversine_km(F("latitude"), F("longitude"), Value(milwaukee.latitude), Value(milwaukee.longitude)))
        .get()
    )
    expected = haversine_m(chicago.latitude, chicago.longitude, milwaukee.latitude, milwaukee.longitude) / 1000
    assert row.km == pytest.approx(expected, abs=1e-6)
    assert 115 < expected < 130


# --- The API -------------------------------------------------------------------------------------------------------


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


# --- The cost model in admin ---------------------------------------------------------------------------------------


def change_url(model: CostModel) -> str:
    return reverse("admin:exceptions_costmodel_change", args=[model.pk])


def cost_form(model: CostModel, **changes: str) -> dict[str, str]:
    data = {
        "depot": str(model.depot_id or ""),
        "currency": model.currency,
        "driver_minute_cost": str(model.driver_minute_cost),
        "distance_cost_per_km": str(model.distance_cost_per_km),
        "redelivery_cost": str(model.redelivery_cost),
    }
    return {**data, **changes}


def test_an_admin_edits_the_default_cost_model(admin_user):
    default = CostModel.objects.get(depot__isnull=True)

    response = signed_in(admin_user).post(change_url(default), cost_form(default, redelivery_cost="14.50"))

    assert response.status_code == 302
    default.refresh_from_db()
    assert default.redelivery_cost == Decimal("14.50")


def test_an_admin_gives_a_depot_its_own_cost_model(admin_user, chicago):
    client = signed_in(admin_user)
    data = cost_form(CostModel(), depot=str(chicago.pk), currency="CAD")

    response = client.post(reverse("admin:exceptions_costmodel_add"), data)

    assert response.status_code == 302
    assert CostModel.objects.get(depot=chicago).currency == "CAD"
    # One row per depot: a second is refused with a message, not a crash.
    again = client.post(reverse("admin:exceptions_costmodel_add"), data)
    assert again.status_code == 200
    assert "already exists" in again.content.decode()


@pytest.mark.parametrize("currency", ["usd", "US", "US1", "DOLLAR"])
def test_the_admin_explains_a_bad_currency(admin_user, currency):
    default = CostModel.objects.get(depot__isnull=True)

    response = signed_in(admin_user).post(change_url(default), cost_form(default, currency=currency))

    assert response.status_code == 200
    assert "Use the three-letter ISO 4217 code in capitals" in response.content.decode()
    default.refresh_from_db()
    assert default.currency == "USD"


def test_a_dispatcher_views_the_cost_model_but_cannot_change_it(alice):
    default = CostModel.objects.get(depot__isnull=True)
    client = signed_in(alice)

    page = client.get(change_url(default))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.get(reverse("admin:exceptions_costmodel_changelist")).status_code == 200

    response = client.post(change_url(default), cost_form(default, redelivery_cost="0"))
    assert response.status_code == 403
    default.refresh_from_db()
    assert default.redelivery_cost == Decimal("12.00")


def test_the_default_cost_model_cannot_be_deleted(admin_user, chicago_costs):
    client = signed_in(admin_user)
    default = CostModel.objects.get(depot__isnull=True)
    delete_default = reverse("admin:exceptions_costmodel_delete", args=[default.pk])

    assert client.get(delete_default).status_code == 403
    assert client.post(delete_default, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:exceptions_costmodel_delete", args=[chicago_costs.pk])).status_code == 200
    assert set(CostModel.objects.values_list("pk", flat=True)) == {default.pk, chicago_costs.pk}
