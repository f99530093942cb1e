"""POST /api/v1/driver/locations: batched pings, one row per batch."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from dispatch.models import LocationBatch

pytestmark = pytest.mark.django_db


def pings(count, start=None, lat=41.88, lng=-87.66):
    start = start or timezone.now() - dt.timedelta(minutes=10)
    return [
        {"at": (start + dt.timedelta(seconds=2 * i)).isoformat(), "latitude": lat + i * 1e-5, "longitude": lng}
        for i in range(count)
    ]


def test_it_stores_a_batch_in_one_row_and_moves_the_driver(dave, dave_api):
    batch = pings(300)
    response = dave_api.post("/api/v1/driver/locations", {"pings": batch}, format="json")
    assert response.status_code == 202
    assert response.json() == {"accepted": 300}
    stored = LocationBatch.objects.get()
    assert stored.point_count == 300
    assert stored.offsets_ms[:3] == [0, 2000, 4000]
    dave.refresh_from_db()
    assert dave.last_latitude == pytest.approx(41.88 + 299e-5)
    assert dave.last_seen_at == dt.datetime.fromisoformat(batch[-1]["at"])


def test_it_sorts_pings_that_arrive_out_of_order(dave, dave_api):
    batch = pings(3)
    dave_api.post("/api/v1/driver/locations", {"pings": list(reversed(batch))}, format="json")
    dave.refresh_from_db()
    assert dave.last_seen_at == dt.datetime.fromisoformat(batch[-1]["at"])


def test_it_never_moves_the_driver_back_in_time(dave, dave_api):
    recent = pings(2, start=timezone.now() - dt.timedelta(minutes=1), lat=41.95)
    late = pings(2, start=timezone.now() - dt.timedelta(hours=1), lat=41.70)
    dave_api.post("/api/v1/driver/locations", {"pings": recent}, format="json")
    dave_api.post("/api/v1/driver/locations", {"pings": late}, format="json")
    dave.refresh_from_db()
    assert dave.last_latitude == pytest.approx(41.95 + 1e-5)
    assert LocationBatch.objects.count() == 2


def test_it_refuses_a_batch_that_is_too_big(dave_api):
    response = dave_api.post("/api/v1/driver/locations", {"pings": pings(501)}, format="json")
    assert response.status_code == 400
    assert not LocationBatch.objects.exists()


def test_it_refuses_an_empty_batch(dave, dave_api):
    response = dave_api.post("/api/v1/driver/locations", {"pings": []}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert ["This list may not be empty."] in response.json()["fields"].values()
    assert not LocationBatch.objects.exists()
    dave.refresh_from_db()
    assert (dave.last_latitude, dave.last_seen_at) == (None, None)


@pytest.mark.parametrize("count", [0, 501], ids=["empty", "too big"])
def test_a_refused_batch_is_reported_at_its_json_path(dave_api, count):
    response = dave_api.post("/api/v1/driver/locations", {"pings": pings(count)}, format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["pings"]


def test_it_points_at_the_bad_ping(dave_api):
    batch = pings(5)
    batch[3]["latitude"] = 200
    response = dave_api.post("/api/v1/driver/locations", {"pings": batch}, format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["pings[3].latitude"]
    assert not LocationBatch.objects.exists()
