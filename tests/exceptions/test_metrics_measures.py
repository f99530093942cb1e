"""The desk's metrics, each measure and each grouping, on the hand-built day of tests/exceptions/metrics_day.py
(the ``day`` fixture: Chicago, ``DAY`` in June, with a cost model of its own; Milwaukee beside it) whose answers are
known: first-attempt success, resolution time, the failed attempts' cost, the no-touch share, the case counts;
by hour, day, reason code and depot, in each depot's local time; in a fixed number of queries.

Dave drives for Chicago and Oscar for Milwaukee (the day's drivers); Erin adds rows for Chicago.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F, Value
from django.test.utils import CaptureQueriesContext

from dispatch.geo import haversine_m
from dispatch.models import Depot
from exceptions.analytics import GROUP_BY, haversine_km
from exceptions.models import CostModel
from tests.exceptions.metrics_day import BEFORE, DAY, LOS_ANGELES, OUTCOME, STATE, Day, at, endings, hour
from tests.factories import AddressFactory, DepotFactory, DriverFactory, UserFactory
from tests.helpers import groups, summary

pytestmark = pytest.mark.django_db

NEXT = DAY + dt.timedelta(days=1)


# --- Each measure --------------------------------------------------------------------------------------------------


def case_level(no_touch: dict) -> dict:
    """The no-touch share without its split by the parcels' endings (tests/exceptions/test_metrics_endings.py)."""
    return {name: figure for name, figure in no_touch.items() if name != "by_ending"}


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
    # C, E, G resolved and K closed today; only E was touched. By their parcels' endings: C was delivered after
    # its code; K's case was cancelled; G's safe drop has no delivery scan to show for it, so G is not settled.
    assert summary([chicago])["totals"]["no_touch"] == {
        "finished": 4,
        "untouched": 3,
        "share": 0.75,
        "by_ending": endings(delivered_same_day=1, cancelled=1, open=1),
    }


def test_it_counts_cases_opened_resolved_escalated_and_open_now(day, chicago):
    # Opened today: C, E, G, K, L. Escalated today: G (M was yesterday). Open now: L, and M from yesterday.
    assert summary([chicago])["totals"]["cases"] == {
        "opened": 5, "resolved": 3, "escalated": 1, "open_now": 2, "unanswered_requests": 0
    }  # fmt: skip


def test_it_counts_a_late_evening_scan_on_its_local_day(day, chicago):
    # L failed at 23:30 in Chicago, 04:30 UTC the next day; Z was delivered at 00:30 the next local day.
    assert summary([chicago])["totals"]["cases"]["opened"] == 5
    tomorrow = summary([chicago], start=NEXT, end=NEXT)["totals"]
    assert tomorrow["first_attempt"]["attempts"] == 1
    assert tomorrow["cases"]["opened"] == 0


def test_it_keeps_each_depot_to_its_own_rows(day, chicago, milwaukee):
    mke = summary([milwaukee])["totals"]
    assert mke["first_attempt"] == {"attempts": 2, "delivered": 1, "success_rate": 0.5}
    assert mke["resolution"] == {"resolved": 1, "average_seconds": 900.0, "median_seconds": 900.0}
    assert mke["cases"] == {"opened": 1, "resolved": 1, "escalated": 0, "open_now": 0, "unanswered_requests": 0}

    both = summary([chicago, milwaukee])["totals"]
    assert both["first_attempt"] == {"attempts": 6, "delivered": 4, "success_rate": 0.6667}
    assert case_level(both["no_touch"]) == {"finished": 5, "untouched": 3, "share": 0.6}


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

    assert hours[hour(9)]["first_attempt"] == {"attempts": 2, "delivered": 2, "success_rate": 1.0}
    assert hours[hour(10)]["first_attempt"] == {"attempts": 1, "delivered": 0, "success_rate": 0.0}
    assert hours[hour(12)]["failed_attempt_cost"][0]["failed_attempts"] == 2
    assert hours[hour(12)]["failed_attempt_cost"][0]["total_cost"] == Decimal("37.24")
    assert hours[hour(14)]["resolution"]["median_seconds"] == 7200.0
    assert hours[hour(15)]["cases"] == {
        "opened": 1,
        "resolved": 1,
        "escalated": 1,
        "open_now": None,
        "unanswered_requests": None,
    }
    assert hours[hour(16)]["no_touch"] == {
        "finished": 1,
        "untouched": 1,
        "share": 1.0,
        "by_ending": endings(cancelled=1),
    }
    assert hours[hour(23)]["cases"]["opened"] == 1
    assert list(hours) == sorted(hours)


def test_it_groups_by_day_over_several_days(day, chicago):
    days = groups(summary([chicago], "day", start=BEFORE, end=DAY))

    assert list(days) == [BEFORE.isoformat(), DAY.isoformat()]
    assert days[BEFORE.isoformat()]["first_attempt"] == {"attempts": 5, "delivered": 0, "success_rate": 0.0}
    assert days[BEFORE.isoformat()]["cases"] == {
        "opened": 1,
        "resolved": 0,
        "escalated": 1,
        "open_now": None,
        "unanswered_requests": None,
    }
    assert days[DAY.isoformat()]["first_attempt"]["attempts"] == 4
    assert days[DAY.isoformat()]["resolution"]["average_seconds"] == 3600.0


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
    assert reasons["GATE_CLOSED"]["cases"] == {
        "opened": 1,
        "resolved": 0,
        "escalated": 0,
        "open_now": 1,
        "unanswered_requests": None,
    }
    assert reasons["DAMAGED"]["cases"] == {
        "opened": 0,
        "resolved": 0,
        "escalated": 0,
        "open_now": 1,
        "unanswered_requests": None,
    }
    assert case_level(reasons["BUSINESS_CLOSED"]["no_touch"]) == {"finished": 1, "untouched": 1, "share": 1.0}


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
    chi = Day(dave, day=NEXT)
    chi.scan(chi.stop(), instant, code=None)
    chi.scan(chi.stop(), at(9, 5, DAY), code=None)

    by_day = groups(summary([chicago, lax], "day", start=DAY, end=NEXT))
    assert {key: group["first_attempt"]["attempts"] for key, group in by_day.items()} == {
        DAY.isoformat(): 2,  # Chicago's 09:05 and Los Angeles' 23:30
        NEXT.isoformat(): 1,  # Chicago's 01:30
    }
    by_hour = groups(summary([chicago, lax], "hour", start=DAY, end=NEXT))
    assert set(by_hour) == {hour(9), hour(23), hour(1, NEXT)}
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
    # The case-level measures (at most twelve), one pass over the failed parcels, two for the untouched cases'
    # endings and two for the texts sent.
    assert queries() == before <= 17


def test_the_sql_distance_is_the_haversine_of_dispatch_geo(chicago, milwaukee):
    row = (
        Depot.objects.filter(pk=chicago.pk)
        .annotate(km=haversine_km(F("latitude"), F("longitude"), Value(milwaukee.latitude), Value(milwaukee.longitude)))
        .get()
    )
    expected = haversine_m(chicago.latitude, chicago.longitude, milwaukee.latitude, milwaukee.longitude) / 1000
    assert row.km == pytest.approx(expected, abs=1e-6)
    assert 115 < expected < 130
