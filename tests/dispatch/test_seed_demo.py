"""`manage.py seed_demo` builds one realistic, repeatable demo day and replaces the previous one."""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import zoneinfo

import phonenumbers
import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection

from demo.day.depot import DEPOT_CODE
from dispatch import crypto, models, roles
from tests.factories import DriverFactory, UserFactory

pytestmark = pytest.mark.django_db

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
DAY = dt.date(2030, 3, 14)
FICTIONAL_PHONE = re.compile(r"^\+1[2-9]\d{2}55501\d{2}$")


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--stops", "120", "--drivers", "4", "--date", DAY.isoformat(), *args, stdout=out)
    return out.getvalue()


def demo_depot() -> models.Depot:
    return models.Depot.objects.get(code=DEPOT_CODE)


def todays_stops():
    return models.Stop.objects.filter(run__depot__code=DEPOT_CODE, run__service_date=DAY)


def snapshot() -> list[tuple]:
    """What a seed decides: references, addresses and local plan times, without ids or dates."""
    return sorted(
        (
            stop.order.reference,
            stop.order.address.line1,
            stop.order.address.unit,
            stop.order.address.postal_code,
            round(stop.order.address.latitude, 6),
            round(stop.order.address.longitude, 6),
            stop.order.recipient.name,
            str(stop.order.recipient.phone),
            stop.run.driver.user.username,
            stop.sequence,
            stop.planned_arrival.astimezone(CHICAGO).time(),
        )
        for stop in models.Stop.objects.filter(run__depot__code=DEPOT_CODE, status="pending").select_related(
            "order__address", "order__recipient", "run__driver__user"
        )
    )


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lng1, lat2, lng2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def test_it_seeds_the_requested_day():
    seed()

    depot = demo_depot()
    assert depot.time_zone == CHICAGO
    runs = models.Run.objects.filter(depot=depot, service_date=DAY)
    assert runs.count() == 4
    assert todays_stops().count() == 120
    assert models.Order.objects.filter(depot=depot, status="out_for_delivery").count() == 120
    assert models.Recipient.objects.filter(external_id__startswith="demo-r-").count() == 120
    assert models.Address.objects.filter(external_ref__startswith="demo-a-").count() == 120
    assert models.Driver.objects.filter(depot=depot).count() == 4
    assert sorted(models.User.objects.filter(groups__name=roles.DRIVERS).values_list("username", flat=True)) == [
        "driver01",
        "driver02",
        "driver03",
        "driver04",
    ]
    for run in runs:
        local_start = run.shift_start.astimezone(CHICAGO)
        assert local_start.date() == DAY
        assert local_start.hour in (7, 8, 9)
        assert run.shift_end - run.shift_start == dt.timedelta(hours=9)
        assert run.stops.count() > 0
        assert run.driver.vehicle_capacity >= sum(s.order.parcel_count for s in run.stops.select_related("order"))


def test_it_mixes_building_types_and_languages():
    seed("--stops", "400", "--drivers", "8")

    addresses = models.Address.objects.filter(external_ref__startswith="demo-")
    kinds = set(addresses.values_list("building_type", flat=True))
    assert kinds == {"house", "multi_unit", "gated", "business"}
    # Several recipients in one building, each in their own unit.
    shared = addresses.filter(building_type="multi_unit").values_list("line1", "postal_code")
    assert len(shared) > len(set(shared))
    spanish = models.Recipient.objects.filter(external_id__startswith="demo-", language="es").count()
    assert 0.12 * 400 < spanish < 0.35 * 400


def test_it_replaces_the_previous_day_instead_of_adding_to_it():
    seed()
    seed("--stops", "60", "--drivers", "3")

    assert models.Depot.objects.filter(code=DEPOT_CODE).count() == 1
    assert todays_stops().count() == 60
    assert models.Run.objects.filter(depot__code=DEPOT_CODE, service_date=DAY).count() == 3
    assert models.Driver.objects.filter(depot__code=DEPOT_CODE).count() == 3
    assert not models.User.objects.filter(username="driver04").exists()
    assert models.Recipient.objects.filter(external_id__startswith="demo-").count() == 60
    assert models.User.objects.filter(username__in=["admin", "dispatcher"]).count() == 2


def test_it_replaces_a_day_that_already_has_exception_cases():
    seed()
    from exceptions.workflow import case_open

    ExceptionCase = apps.get_model("exceptions", "ExceptionCase")
    scan = models.ScanEvent.objects.filter(driver__depot__code=DEPOT_CODE, outcome="failed")[0]
    case_open(scan=scan)

    seed()

    assert todays_stops().count() == 120
    assert not ExceptionCase.objects.exists()


def test_it_leaves_other_depots_alone(chicago, dave):
    seed()
    seed()

    assert models.Depot.objects.filter(pk=chicago.pk).exists()
    assert models.Driver.objects.filter(pk=dave.pk).exists()


def test_it_refuses_to_take_over_another_depots_driver(chicago):
    DriverFactory(user=UserFactory(username="driver02"), depot=chicago)

    with pytest.raises(CommandError, match="'driver02' drives for another depot"):
        seed()
    assert models.Driver.objects.filter(user__username="driver02", depot=chicago).exists()


def test_it_gives_the_same_day_for_the_same_seed():
    seed("--seed", "7")
    first = snapshot()
    seed("--seed", "7")
    assert snapshot() == first
    seed("--seed", "8")
    assert snapshot() != first


def test_it_gives_the_same_day_on_another_date():
    seed("--seed", "3")
    first = snapshot()
    # In winter time instead of summer time: the local plan stays the same.
    call_command(
        "seed_demo", "--stops", "120", "--drivers", "4", "--seed", "3", "--date", "2030-01-15", stdout=io.StringIO()
    )
    assert snapshot() == first
    assert models.Run.objects.filter(depot__code=DEPOT_CODE, service_date=dt.date(2030, 1, 15)).count() == 4


def test_it_keeps_every_planned_arrival_inside_its_window():
    seed()

    stops = list(todays_stops().select_related("order"))
    windowed = [s for s in stops if s.window_start is not None]
    assert 0.25 * len(stops) < len(windowed) < 0.75 * len(stops)
    for stop in stops:
        assert stop.planned_arrival is not None
        assert (stop.window_start, stop.window_end) == (stop.order.window_start, stop.order.window_end)
        if stop.window_start is not None:
            assert stop.window_start <= stop.planned_arrival <= stop.window_end
            hours = (stop.window_end - stop.window_start) / dt.timedelta(hours=1)
            assert hours in (2, 4, 8, 9, 10, 12)


def test_it_numbers_each_run_from_one_in_time_order():
    seed()

    for run in models.Run.objects.filter(depot__code=DEPOT_CODE):
        stops = list(run.stops.order_by("sequence"))
        assert [s.sequence for s in stops] == list(range(1, len(stops) + 1))
        arrivals = [s.planned_arrival for s in stops]
        assert arrivals == sorted(arrivals)
        assert arrivals[0] > run.shift_start


def test_it_uses_distinct_fictional_phone_numbers():
    seed()

    phones = [
        str(p) for p in models.Recipient.objects.filter(external_id__startswith="demo-").values_list("phone", flat=True)
    ]
    phones += [str(p) for p in models.Driver.objects.filter(depot__code=DEPOT_CODE).values_list("phone", flat=True)]
    assert len(phones) == 124
    assert len(set(phones)) == len(phones)
    for phone in phones:
        assert FICTIONAL_PHONE.match(phone), phone
        assert phonenumbers.is_valid_number(phonenumbers.parse(phone))


def test_it_places_every_address_near_the_depot():
    seed()

    depot = demo_depot()
    for latitude, longitude in models.Address.objects.filter(external_ref__startswith="demo-").values_list(
        "latitude", "longitude"
    ):
        assert distance_km((depot.latitude, depot.longitude), (latitude, longitude)) < 15
    assert models.Address.objects.filter(external_ref__startswith="demo-", city="Chicago", region="IL").count() == 120


def test_it_keeps_access_codes_encrypted():
    seed("--stops", "300", "--drivers", "5")

    credentials = list(models.AccessCredential.objects.filter(address__external_ref__startswith="demo-"))
    assert credentials
    assert any(c.is_verified for c in credentials)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, secret FROM dispatch_accesscredential")
        stored = dict(cursor.fetchall())
    # What the column holds is a Fernet token that opens to the code, never the code. (A short code can turn up
    # inside some random token by chance, so the check is on what each token is, not on what it happens to spell.)
    for credential in credentials:
        token = stored[credential.pk]
        assert credential.secret
        assert token != credential.secret
        assert token.startswith("gAAAAA")
        assert crypto.decrypt(token) == credential.secret


def test_it_flags_codes_with_the_failures_that_flagged_them():
    seed("--stops", "1000", "--drivers", "10")

    flagged = [
        c for c in models.AccessCredential.objects.filter(address__external_ref__startswith="demo-") if c.is_flagged
    ]
    assert flagged
    for credential in flagged:
        assert credential.last_failed_at is not None
        assert credential.last_worked_at < credential.last_failed_at
        building = models.Address.objects.filter(
            line1=credential.address.line1, postal_code=credential.address.postal_code
        )
        wrong_code_scans = models.ScanEvent.objects.filter(
            stop__order__address__in=building, reason_code__code="WRONG_ACCESS_CODE"
        )
        assert wrong_code_scans.count() >= 2


def test_it_records_past_failures_at_some_addresses():
    seed("--stops", "300", "--drivers", "5")

    failed = models.ScanEvent.objects.filter(driver__depot__code=DEPOT_CODE, outcome="failed").select_related(
        "stop__run", "stop__order", "reason_code"
    )
    addresses = {scan.stop.order.address_id for scan in failed}
    # About two earlier parcels each over 60 days, one attempt in eight failing: a fifth of addresses or so.
    assert 0.08 * 300 <= len(addresses) <= 0.3 * 300
    for scan in failed:
        assert DAY - dt.timedelta(days=60) <= scan.stop.run.service_date < DAY
        assert scan.stop.status in ("rescheduled", "cancelled")
        assert scan.stop.order.status in ("delivered", "returned")
        assert scan.reason_code is not None
    # History never leaves an active stop behind.
    active = models.Stop.objects.filter(run__depot__code=DEPOT_CODE, status__in=models.Stop.ACTIVE_STATUSES)
    assert active.count() == 300
    assert not active.exclude(run__service_date=DAY).exists()
    reasons = {scan.reason_code.code for scan in failed}
    assert "RECIPIENT_ABSENT" in reasons
    assert reasons & {"ACCESS_DENIED", "WRONG_ACCESS_CODE"}


def test_it_creates_demo_logins_that_work(client):
    output = seed()

    assert client.login(username="admin", password="admin-demo")
    assert client.login(username="dispatcher", password="dispatch-demo")
    assert client.login(username="driver03", password="driver-demo")
    admin = models.User.objects.get(username="admin")
    assert admin.is_superuser
    assert admin.is_staff
    assert admin.groups.filter(name=roles.ADMINS).exists()
    dispatcher = models.User.objects.get(username="dispatcher")
    assert dispatcher.is_staff
    assert not dispatcher.is_superuser
    assert list(dispatcher.depots.all()) == [demo_depot()]
    assert dispatcher.groups.filter(name=roles.DISPATCHERS).exists()
    for login in ("admin / admin-demo", "dispatcher / dispatch-demo", "driver01..driver04 / driver-demo"):
        assert login in output
    assert "120 stops" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stops", "0"], "--stops must be >= 1"),
        (["--stops", "20000"], "--stops must be <= 10,000"),
        (["--stops", "10", "--drivers", "0"], "--drivers must be >= 1"),
        (["--stops", "5", "--drivers", "6"], "--drivers must be <= --stops"),
        (["--date", "14/03/2030"], "--date must be a date as YYYY-MM-DD"),
    ],
)
def test_it_rejects_bad_options_with_a_helpful_message(args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("seed_demo", *args, stdout=io.StringIO())
    assert not models.Depot.objects.filter(code=DEPOT_CODE).exists()
