"""GET /api/v1/driver/run: today's run, with ETags for a polling app."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from dispatch.models import Driver, Recipient, Stop
from dispatch.services import instruction_push
from tests.factories import AccessCredentialFactory, RunFactory, StopFactory, local

pytestmark = pytest.mark.django_db


def test_it_returns_todays_run_with_stops_in_sequence(dave_api, dave_run):
    response = dave_api.get("/api/v1/driver/run")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == dave_run.pk
    assert body["depot"]["time_zone"] == "America/Chicago"  # the run's times are shown in the depot's zone
    assert [stop["sequence"] for stop in body["stops"]] == [1, 2, 3]
    first = body["stops"][0]
    stop = dave_run.stops.get(sequence=1)
    assert first["order"]["reference"] == stop.order.reference
    assert first["recipient"] == {"first_name": stop.order.recipient.first_name}
    assert first["address"]["line1"] == stop.order.address.line1
    assert set(first["order"]) >= {"signature_required", "safe_drop_allowed", "neighbour_allowed"}
    assert first["instruction"] is None


def test_it_says_a_code_exists_but_never_sends_it(dave_api, dave_run):
    stop = dave_run.stops.get(sequence=2)
    AccessCredentialFactory(address=stop.order.address, secret="4821#")
    response = dave_api.get("/api/v1/driver/run")
    assert "4821" not in response.content.decode()
    assert [s["has_access_code"] for s in response.json()["stops"]] == [False, True, False]


def test_it_says_what_the_vault_holds_for_each_stop_the_way_a_reveal_would_judge_it(dave_api, dave):
    run = RunFactory(driver=dave)
    stops = [StopFactory(run=run, sequence=number) for number in range(1, 7)]
    now = timezone.now()
    AccessCredentialFactory(address=stops[1].order.address)  # never tried
    AccessCredentialFactory(address=stops[2].order.address, last_worked_at=now - dt.timedelta(days=2))
    AccessCredentialFactory(address=stops[3].order.address, last_worked_at=now - dt.timedelta(days=9), failure_count=1)
    AccessCredentialFactory(address=stops[4].order.address, failure_count=2)  # flagged: not offered
    AccessCredentialFactory(address=stops[5].order.address, valid_to=now - dt.timedelta(hours=1))  # expired

    body = dave_api.get("/api/v1/driver/run").json()

    assert [(s["access"], s["has_access_code"]) for s in body["stops"]] == [
        ("none", False),
        ("on_file", True),
        ("verified", True),
        ("failing", True),
        ("flagged", False),
        ("none", False),
    ]


def test_it_shows_each_stops_newest_instruction(dave, dave_api, dave_run):
    stop = dave_run.stops.get(sequence=1)
    instruction_push(driver=dave, kind="wait", text="Wait 5 minutes", stop=stop)
    instruction_push(driver=dave, kind="retry_now", text="Recipient is coming down", stop=stop)
    body = dave_api.get("/api/v1/driver/run").json()
    assert body["stops"][0]["instruction"]["kind"] == "retry_now"
    assert body["stops"][1]["instruction"] is None


def test_it_answers_304_when_nothing_changed(dave, dave_api, dave_run):
    first = dave_api.get("/api/v1/driver/run")
    etag = first["ETag"]
    again = dave_api.get("/api/v1/driver/run", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""

    instruction_push(driver=dave, kind="note", text="Dock 3 is closed", stop=dave_run.stops.first())
    changed = dave_api.get("/api/v1/driver/run", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_it_picks_the_later_run_once_the_first_is_over(dave, dave_api, dave_run):
    dave_run.status = "completed"
    dave_run.save()
    later = RunFactory(driver=dave, shift_start=local(18), shift_end=local(21))
    assert dave_api.get("/api/v1/driver/run").json()["id"] == later.pk


def test_it_says_plainly_when_there_is_no_run_today(dave_api):
    response = dave_api.get("/api/v1/driver/run")
    assert response.status_code == 404
    assert response.json()["detail"] == "You have no run today."


def test_it_never_shows_another_drivers_run(erin_api, dave_run):
    response = erin_api.get("/api/v1/driver/run")
    assert response.status_code == 404
    assert response.json() == {"detail": "You have no run today.", "code": "no_run_today"}


def test_it_reads_the_run_in_a_fixed_number_of_queries(dave_api, dave_run, django_assert_max_num_queries):
    from tests.factories import StopFactory

    for sequence in range(4, 40):
        StopFactory(run=dave_run, sequence=sequence)
    with django_assert_max_num_queries(8):
        response = dave_api.get("/api/v1/driver/run")
        assert response.status_code == 200
    body = response.json()
    assert body["id"] == dave_run.pk
    assert [stop["sequence"] for stop in body["stops"]] == list(range(1, 40))
    assert {stop["id"] for stop in body["stops"]} == set(dave_run.stops.values_list("pk", flat=True))


def test_it_says_which_recipients_can_be_called_through_the_company_never_their_numbers(
    dave, dave_api, dave_run, settings
):
    """The app offers Call only where the company's line can place it; it never gets a number to dial itself."""
    settings.EXCEPTIONS_OUTREACH = "outreach.adapter.SmsOutreach"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "0" * 32, "token"
    settings.TWILIO_FROM_NUMBER = "+13125550000"
    stops = list(dave_run.stops.order_by("sequence"))
    Recipient.objects.filter(pk=stops[1].order.recipient_id).update(phone="")
    Stop.objects.filter(pk=stops[2].pk).update(status=Stop.Status.DELIVERED)

    body = dave_api.get("/api/v1/driver/run").json()

    assert [stop["can_call"] for stop in body["stops"]] == [True, False, False]
    sent = dave_api.get("/api/v1/driver/run").content.decode()
    for stop in stops:
        if stop.order.recipient.phone:
            assert str(stop.order.recipient.phone)[-7:] not in sent
    Driver.objects.filter(pk=dave.pk).update(phone="")
    assert [stop["can_call"] for stop in dave_api.get("/api/v1/driver/run").json()["stops"]] == [False] * 3
    settings.TWILIO_ACCOUNT_SID = ""
    Driver.objects.filter(pk=dave.pk).update(phone="+13125550177")
    assert [stop["can_call"] for stop in dave_api.get("/api/v1/driver/run").json()["stops"]] == [False] * 3
