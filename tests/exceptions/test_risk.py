"""A risk score per stop for the day: each factor from a hand-built history, their combination, the bulk pass."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dispatch.models import Address, Run, Stop
from exceptions.models import StopRisk
from exceptions.prevention import risk
from exceptions.tasks import risk_score_day_task
from tests.factories import (
    CHICAGO,
    AccessCredentialFactory,
    AddressFactory,
    DriverFactory,
    RecipientFactory,
    RunFactory,
    ScanEventFactory,
    StopFactory,
    local,
    reason,
)
from tests.helpers import fail


def TODAY() -> dt.date:
    return timezone.now().astimezone(CHICAGO).date()


def failed_before(address: Address, *, days_ago: int, code: str = "ACCESS_DENIED", recipient=None, hour: int = 11):
    """An earlier attempt at ``address`` that failed, on another driver's completed run ``days_ago`` days ago."""
    day = TODAY() - dt.timedelta(days=days_ago)
    run = RunFactory(driver=DriverFactory(depot__code="chi-west"), service_date=day, status=Run.Status.COMPLETED)
    order_extra = {"order__recipient": recipient} if recipient is not None else {}
    stop = StopFactory(
        run=run,
        order__address=address,
        status=Stop.Status.RESCHEDULED,
        planned_arrival=local(hour, 0, day),
        attempt_count=1,
        **order_extra,
    )
    return ScanEventFactory(stop=stop, reason_code=reason(code), device_time=local(hour, 0, day))


def verified_code(address: Address):
    return AccessCredentialFactory(address=address, last_worked_at=timezone.now() - dt.timedelta(days=5))


def score(depot, **kwargs) -> int:
    return risk.risk_score_day(depot_id=depot.pk, service_date=TODAY(), **kwargs)


def risk_of(stop: Stop) -> StopRisk:
    return StopRisk.objects.get(stop=stop)


def codes(stop: Stop) -> list[str]:
    return [r["code"] for r in risk_of(stop).reasons]


@pytest.fixture
def run(dave) -> Run:
    """Dave's run today."""
    return RunFactory(driver=dave)


# --- Failures at the address and the building ---------------------------------------------------------------------


def test_it_counts_access_failures_at_other_units_of_the_building(chicago, run):
    unit_1 = AddressFactory(line1="1500 N Damen Ave", postal_code="60622", unit="1", building_type="multi_unit")
    unit_2 = AddressFactory(line1="1500 N Damen Ave", postal_code="60622", unit="2", building_type="multi_unit")
    elsewhere = AddressFactory(line1="1500 N Damen Ave", postal_code="60647", building_type="multi_unit")
    verified_code(unit_1)
    failed_before(unit_2, days_ago=10, code="ACCESS_DENIED")
    failed_before(unit_2, days_ago=20, code="ACCESS_DENIED")
    failed_before(unit_2, days_ago=75, code="ACCESS_DENIED")  # beyond the lookback
    failed_before(unit_2, days_ago=5, code="RECIPIENT_ABSENT")  # the neighbour's absence is not ours
    failed_before(elsewhere, days_ago=5, code="GATE_CLOSED")  # same street number, another postal code
    stop = StopFactory(run=run, order__address=unit_1, planned_arrival=local(11, 0))

    assert score(chicago) == 1

    result = risk_of(stop)
    assert result.reasons == [
        {
            "code": "building_failures",
            "label": "2 failed attempts at this building in the last 60 days (access denied)",
            "weight": pytest.approx(1 - (1 - 0.12) ** 2, abs=1e-3),
        }
    ]
    assert result.missing == ["access_code"]
    assert result.score == pytest.approx(1 - (1 - 0.12) ** 2, abs=1e-3)


def test_it_counts_failures_at_this_address_by_reason(chicago, run):
    address = AddressFactory(building_type="house")
    failed_before(address, days_ago=3, code="RECIPIENT_ABSENT")
    failed_before(address, days_ago=9, code="RECIPIENT_ABSENT")
    failed_before(address, days_ago=30, code="ADDRESS_NOT_FOUND")
    failed_before(address, days_ago=40, code="DAMAGED")  # says nothing about the place
    stop = StopFactory(run=run, order__address=address, planned_arrival=local(15, 0))

    score(chicago)

    [only] = risk_of(stop).reasons
    assert only["code"] == "address_failures"
    assert only["label"] == (
        "3 failed attempts at this address in the last 60 days (2 recipient not home, 1 address not found)"
    )
    assert only["weight"] == pytest.approx(1 - 0.9 * 0.9 * 0.75, abs=1e-3)
    # Not an access problem, and these were someone else's absences: nothing to ask for yet.
    assert risk_of(stop).missing == []


def test_it_does_not_count_a_failure_from_today(chicago, dave, run):
    address = AddressFactory(building_type="house")
    earlier_today = StopFactory(run=RunFactory(driver=DriverFactory(depot=chicago)), order__address=address)
    fail(earlier_today, "ACCESS_DENIED")
    stop = StopFactory(run=run, order__address=address, planned_arrival=local(15, 0))

    score(chicago)

    assert risk_of(stop).reasons == []
    assert risk_of(stop).score == 0


# --- Access codes ------------------------------------------------------------------------------------------------


def test_it_flags_a_gated_address_with_no_verified_code(chicago, run):
    gated = AddressFactory(building_type="gated")
    tower = AddressFactory(building_type="multi_unit")
    unverified = AddressFactory(building_type="gated")
    AccessCredentialFactory(address=unverified)
    verified = AddressFactory(building_type="gated")
    verified_code(verified)
    house = AddressFactory(building_type="house")
    stops = {
        name: StopFactory(run=run, order__address=address, planned_arrival=local(11, 0))
        for name, address in [
            ("gated", gated),
            ("tower", tower),
            ("unverified", unverified),
            ("verified", verified),
            ("house", house),
        ]
    }

    assert score(chicago) == 5

    assert risk_of(stops["gated"]).reasons == [
        {"code": "no_code", "label": "No access code on file for this gated community", "weight": 0.25}
    ]
    assert risk_of(stops["gated"]).missing == ["access_code"]
    assert risk_of(stops["tower"]).reasons[0]["label"] == "No access code on file for this apartment building"
    assert risk_of(stops["unverified"]).reasons == [
        {
            "code": "code_unverified",
            "label": "The access code on file for this gated community has never been confirmed to work",
            "weight": 0.12,
        }
    ]
    assert codes(stops["verified"]) == []
    assert codes(stops["house"]) == []


def test_it_flags_a_code_that_failed(chicago, run):
    now = timezone.now()
    flagged = AddressFactory(building_type="gated")
    AccessCredentialFactory(
        address=flagged, last_worked_at=now - dt.timedelta(days=50), failure_count=2, last_failed_at=now
    )
    recent = AddressFactory(building_type="house")
    AccessCredentialFactory(
        address=recent,
        last_worked_at=now - dt.timedelta(days=50),
        failure_count=1,
        last_failed_at=now - dt.timedelta(days=3),
    )
    long_ago = AddressFactory(building_type="gated")
    AccessCredentialFactory(
        address=long_ago,
        last_worked_at=now - dt.timedelta(days=50),
        failure_count=1,
        last_failed_at=now - dt.timedelta(days=30),
    )
    backed_up = AddressFactory(building_type="gated")  # a flagged code, but another one works
    AccessCredentialFactory(address=backed_up, failure_count=2, last_failed_at=now)
    verified_code(backed_up)
    stops = {
        name: StopFactory(run=run, order__address=address, planned_arrival=local(11, 0))
        for name, address in [
            ("flagged", flagged),
            ("recent", recent),
            ("long_ago", long_ago),
            ("backed_up", backed_up),
        ]
    }

    score(chicago, now=now)

    assert risk_of(stops["flagged"]).reasons == [
        {
            "code": "code_flagged",
            "label": (
                "The access code on file for this gated community is flagged: it failed 2 times since it last worked"
            ),
            "weight": 0.45,
        }
    ]
    assert risk_of(stops["flagged"]).missing == ["access_code"]
    assert risk_of(stops["recent"]).reasons == [
        {"code": "code_failed", "label": "The access code on file for this address failed 3 days ago", "weight": 0.3}
    ]
    assert codes(stops["long_ago"]) == []  # it worked before and has not failed lately: still verified
    assert codes(stops["backed_up"]) == []


# --- The recipient's absences by hour of day --------------------------------------------------------------------


def test_it_knows_when_the_recipient_is_usually_out(chicago, run):
    """Out in the afternoon twice: a stop planned at 16:10 is at risk, the same recipient's 19:00 stop is not."""
    recipient = RecipientFactory(name="Ruth Park")
    home = AddressFactory(building_type="house")
    failed_before(home, days_ago=7, code="RECIPIENT_ABSENT", recipient=recipient, hour=14)
    failed_before(home, days_ago=14, code="RECIPIENT_ABSENT", recipient=recipient, hour=12)
    failed_before(home, days_ago=21, code="RECIPIENT_ABSENT", recipient=recipient, hour=10)  # the morning
    afternoon = StopFactory(run=run, order__recipient=recipient, planned_arrival=local(16, 10))
    evening = StopFactory(run=run, order__recipient=recipient, planned_arrival=local(19, 0))
    stranger = StopFactory(run=run, planned_arrival=local(14, 10))

    score(chicago)

    result = risk_of(afternoon)
    assert result.reasons == [
        {
            "code": "recipient_absent",
            "label": "Recipient was not home twice in the afternoon (12:00-17:00, arrival 16:10) in the last 90 days",
            "weight": pytest.approx(1 - 0.7**2, abs=1e-3),
        }
    ]
    assert result.missing == ["availability", "safe_place"]
    assert codes(evening) == []
    assert codes(stranger) == []


def test_it_asks_for_a_safe_place_only_when_the_order_allows_one(chicago, run):
    recipient = RecipientFactory()
    failed_before(AddressFactory(), days_ago=7, code="RECIPIENT_ABSENT", recipient=recipient, hour=14)
    stop = StopFactory(
        run=run, order__recipient=recipient, order__safe_drop_allowed=False, planned_arrival=local(13, 30)
    )

    score(chicago)

    assert codes(stop) == ["recipient_absent"]
    assert risk_of(stop).missing == ["availability"]


# --- The window against the planned arrival -----------------------------------------------------------------------


def test_it_compares_the_window_with_the_planned_arrival(chicago, run):
    def windowed(arrive: tuple[int, int], start: int, end: int) -> Stop:
        return StopFactory(run=run, planned_arrival=local(*arrive), window_start=local(start), window_end=local(end))

    late = windowed((14, 30), 12, 14)
    early = windowed((9, 35), 10, 12)
    tight = windowed((13, 52), 12, 14)
    comfortable = windowed((12, 30), 12, 14)
    order_window = StopFactory(
        run=run, planned_arrival=local(17, 0), order__window_start=local(12), order__window_end=local(16)
    )

    score(chicago)

    assert risk_of(late).reasons == [
        {
            "code": "window_late",
            "label": "Planned arrival 14:30 is 30 min after the delivery window closes (14:00)",
            "weight": 0.5,
        }
    ]
    assert risk_of(late).missing == ["availability"]
    assert risk_of(early).reasons[0]["label"] == (
        "Planned arrival 09:35 is 25 min before the delivery window opens (10:00)"
    )
    assert risk_of(tight).reasons[0]["label"] == (
        "Planned arrival 13:52 leaves 8 min before the delivery window closes (14:00)"
    )
    assert codes(comfortable) == []
    assert codes(order_window) == ["window_late"]  # the order's window when the stop carries none


# --- Together ------------------------------------------------------------------------------------------------------


def test_it_combines_the_factors_and_orders_the_reasons(chicago, run):
    gate = AddressFactory(building_type="gated", line1="900 W Fulton Market", unit="A")
    neighbour = AddressFactory(building_type="gated", line1="900 W Fulton Market", unit="B")
    failed_before(neighbour, days_ago=12, code="GATE_CLOSED")
    stop = StopFactory(
        run=run,
        order__address=gate,
        planned_arrival=local(16, 20),
        window_start=local(12),
        window_end=local(16),
    )

    score(chicago)

    result = risk_of(stop)
    assert [r["code"] for r in result.reasons] == ["window_late", "no_code", "building_failures"]
    weights = [r["weight"] for r in result.reasons]
    assert weights == sorted(weights, reverse=True)
    assert result.score == pytest.approx(1 - math.prod(1 - w for w in weights), abs=1e-3)
    assert result.missing == ["access_code", "availability"]


def test_it_rescores_runs_after_planned_arrivals_move(chicago, run, erin):
    on_time = StopFactory(run=run, planned_arrival=local(13, 0), window_start=local(12), window_end=local(16))
    other_run = StopFactory(
        run=RunFactory(driver=erin), planned_arrival=local(13, 0), window_start=local(12), window_end=local(16)
    )
    first = timezone.now() - dt.timedelta(hours=1)
    score(chicago, now=first)
    assert risk_of(on_time).score == 0

    Stop.objects.filter(pk__in=[on_time.pk, other_run.pk]).update(planned_arrival=local(16, 40))
    later = timezone.now()
    assert risk.risk_score_runs(run_ids=[run.pk], now=later) == 1

    moved = risk_of(on_time)
    assert [r["code"] for r in moved.reasons] == ["window_late"]
    assert moved.computed_at == later
    assert StopRisk.objects.filter(stop=on_time).count() == 1
    # Only the runs asked for: Erin's stop keeps its morning score until its run is re-scored.
    assert risk_of(other_run).score == 0
    assert risk_of(other_run).computed_at == first


def test_it_scores_only_stops_still_to_be_attempted(chicago, run, erin, oscar):
    gated = {"order__address__building_type": "gated"}  # every one of these would score above 0
    pending = StopFactory(run=run, **gated)
    arrived = StopFactory(run=run, status=Stop.Status.ARRIVED, **gated)
    delivered = StopFactory(run=run, status=Stop.Status.DELIVERED, **gated)
    failed = StopFactory(run=run, **gated)
    fail(failed, "ACCESS_DENIED")
    cancelled_run = StopFactory(run=RunFactory(driver=erin, status=Run.Status.CANCELLED), **gated)
    other_depot = StopFactory(run=RunFactory(driver=oscar), **gated)
    tomorrow = StopFactory(run=RunFactory(driver=erin, service_date=TODAY() + dt.timedelta(days=1)), **gated)

    assert score(chicago) == 2

    assert set(StopRisk.objects.values_list("stop_id", flat=True)) == {pending.pk, arrived.pk}
    for stop in (delivered, failed, cancelled_run, other_depot, tomorrow):
        assert not StopRisk.objects.filter(stop=stop).exists()


def test_it_scores_a_day_with_the_same_number_of_queries_whatever_its_size(chicago, run):
    def day_of(count: int) -> None:
        StopRisk.objects.all().delete()
        Stop.objects.filter(run=run).delete()
        for n in range(count):
            kind = ("gated", "multi_unit", "house", "business")[n % 4]
            address = AddressFactory(building_type=kind)
            if n % 3 == 0:
                failed_before(address, days_ago=1 + n % 50, code=("ACCESS_DENIED", "RECIPIENT_ABSENT")[n % 2])
            if n % 5 == 0:
                AccessCredentialFactory(address=address, failure_count=n % 3, last_failed_at=timezone.now())
            StopFactory(
                run=run,
                order__address=address,
                planned_arrival=local(9 + n % 9, n % 60),
                window_start=local(10),
                window_end=local(14),
            )

    counts = []
    for size in (5, 50):
        day_of(size)
        with CaptureQueriesContext(connection) as queries:
            assert score(chicago) == size
        counts.append(len(queries.captured_queries))
        assert StopRisk.objects.filter(score__gt=0).exists()

    assert counts[0] == counts[1]
    assert counts[1] <= 5  # stops, building failures, absences, access codes, the upsert


def test_an_empty_day_writes_nothing(chicago):
    with CaptureQueriesContext(connection) as queries:
        assert score(chicago) == 0
    assert len(queries.captured_queries) == 1
    assert not StopRisk.objects.exists()


# --- The task and the admin -----------------------------------------------------------------------------------------


def test_the_task_scores_every_depot_with_runs_today(chicago, run, oscar):
    here = StopFactory(run=run, order__address__building_type="gated")
    there = StopFactory(run=RunFactory(driver=oscar), order__address__building_type="gated")

    assert risk_score_day_task() == 2

    assert codes(here) == ["no_code"]
    assert codes(there) == ["no_code"]


def test_the_admin_lists_risks_read_only(client, admin_user, chicago, run):
    stop = StopFactory(run=run, order__address__building_type="gated")
    score(chicago)
    client.force_login(admin_user)

    listing = client.get("/admin/exceptions/stoprisk/")
    assert listing.status_code == 200
    assert "No access code on file for this gated community" in listing.content.decode()
    assert client.get(f"/admin/exceptions/stoprisk/{risk_of(stop).pk}/change/").status_code == 200
    assert client.get("/admin/exceptions/stoprisk/add/").status_code == 403
