"""POST /api/v1/driver/stops/{id}/access-code/reveal: only the assigned driver, only while active, audited."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.utils import timezone

from dispatch.models import AccessCredential, AccessRevealAudit
from tests.factories import AccessCredentialFactory, StopFactory
from tests.helpers import reveal

pytestmark = pytest.mark.django_db

CODE = "4821#"


@pytest.fixture
def gated_stop(dave_run):
    stop = dave_run.stops.get(sequence=1)
    AccessCredentialFactory(address=stop.order.address, secret=CODE, last_worked_at=timezone.now())
    return stop


def place(driver, lat, lng, minutes_ago=1):
    driver.last_latitude, driver.last_longitude = lat, lng
    driver.last_seen_at = timezone.now() - dt.timedelta(minutes=minutes_ago)
    driver.save()


def test_it_gives_the_assigned_driver_the_code_and_audits_it(dave, dave_api, gated_stop):
    response = reveal(dave_api, gated_stop)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response.json()["codes"][0]["code"] == CODE
    assert response.json()["codes"][0]["verified"] is True
    audit = AccessRevealAudit.objects.get()
    assert (audit.user, audit.stop, audit.result) == (dave.user, gated_stop, "granted")
    assert CODE not in str(audit.__dict__)


def test_it_hides_another_drivers_stop_and_audits_the_attempt(erin, erin_api, gated_stop):
    response = reveal(erin_api, gated_stop)
    assert response.status_code == 404
    assert CODE not in response.content.decode()
    audit = AccessRevealAudit.objects.get()
    assert (audit.user, audit.result) == (erin.user, "not_assigned")


def test_it_refuses_once_the_stop_is_delivered(dave_api, gated_stop):
    gated_stop.status = "delivered"
    gated_stop.save()
    response = reveal(dave_api, gated_stop)
    assert response.status_code == 403
    assert response.json()["code"] == "stop_not_active"
    assert CODE not in response.content.decode()
    assert AccessRevealAudit.objects.get().result == "stop_not_active"


def test_it_refuses_outside_the_depots_radius(dave, dave_api, gated_stop):
    gated_stop.run.depot.access_reveal_radius_m = 200
    gated_stop.run.depot.save()
    address = gated_stop.order.address
    place(dave, address.latitude + 0.01, address.longitude)  # about 1.1 km north
    response = reveal(dave_api, gated_stop)
    assert response.status_code == 403
    assert response.json()["code"] == "outside_radius"
    audit = AccessRevealAudit.objects.get()
    assert audit.distance_m == pytest.approx(1112, rel=0.01)


def test_it_grants_inside_the_radius(dave, dave_api, gated_stop):
    gated_stop.run.depot.access_reveal_radius_m = 200
    gated_stop.run.depot.save()
    address = gated_stop.order.address
    place(dave, address.latitude + 0.001, address.longitude)  # about 110 m
    response = reveal(dave_api, gated_stop)
    assert response.status_code == 200
    assert [code["code"] for code in response.json()["codes"]] == [CODE]
    audit = AccessRevealAudit.objects.get()
    credential = AccessCredential.objects.get(address=address)
    assert (audit.user, audit.stop, audit.result) == (dave.user, gated_stop, "granted")
    assert audit.credential_ids == [credential.pk]
    assert audit.distance_m == pytest.approx(111.2, rel=0.01)


def test_it_refuses_a_stale_position_where_a_radius_is_set(dave, dave_api, gated_stop):
    gated_stop.run.depot.access_reveal_radius_m = 200
    gated_stop.run.depot.save()
    address = gated_stop.order.address
    place(dave, address.latitude, address.longitude, minutes_ago=60)
    response = reveal(dave_api, gated_stop)
    assert response.status_code == 403
    assert response.json()["code"] == "no_position"


def test_it_says_when_no_code_is_on_file(dave_api, dave_run):
    response = reveal(dave_api, dave_run.stops.get(sequence=2))
    assert response.status_code == 404
    assert response.json() == {"detail": "There is no access code on file for this stop.", "code": "no_code_on_file"}
    assert AccessRevealAudit.objects.get().result == "no_code"
    # Not the answer for a stop that is not the driver's: an app can tell the two apart.
    assert reveal(dave_api, StopFactory()).json()["code"] == "stop_not_found"


def test_it_skips_a_flagged_code(dave_api, gated_stop):
    gated_stop.order.address.access_credentials.update(failure_count=2)
    response = reveal(dave_api, gated_stop)
    assert response.status_code == 404
    assert response.json() == {"detail": "There is no access code on file for this stop.", "code": "no_code_on_file"}
    assert CODE not in response.content.decode()
    audit = AccessRevealAudit.objects.get()
    assert (audit.result, audit.credential_ids) == ("no_code", [])


def test_it_never_logs_the_code(dave_api, erin_api, gated_stop, caplog):
    caplog.set_level(logging.DEBUG)
    reveal(dave_api, gated_stop)
    reveal(erin_api, gated_stop)
    assert CODE not in caplog.text
