"""The board's risky stops: today's and tomorrow's, each depot's own, with their reasons and what was learned ahead.

Alice dispatches at Chicago, Bob at Milwaukee; Dave drives for Chicago, Oscar
for Milwaukee. Risks and pre-arrival contacts are written as exceptions.prevention.risk
and exceptions.prevention write them. The clock is pinned to 10:00 on a
Wednesday in Chicago.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dispatch.models import Order, Run, Stop
from exceptions import prevention
from exceptions.board import risk_board
from exceptions.models import PreArrivalContact, StopRisk
from exceptions.tasks import risk_score_day_task
from tests.clock import TODAY, local
from tests.factories import (
    CHICAGO,
    AccessCredentialFactory,
    DepotFactory,
    DriverFactory,
    RunFactory,
    StopFactory,
    UserFactory,
)
from tests.helpers import signed_in

pytestmark = pytest.mark.usefixtures("ten_am")

RISKY = "/api/v1/board/risky-stops"
TOMORROW = TODAY + dt.timedelta(days=1)
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


@pytest.fixture
def dave_run(dave) -> Run:
    return RunFactory(driver=dave, service_date=TODAY)


def risky(stop: Stop, score: float, *labels: str, missing: tuple[str, ...] = ()) -> Stop:
    """The stop's risk as exceptions.prevention.risk writes it: reasons heaviest first."""
    reasons = [{"code": f"reason_{n}", "label": label, "weight": 0.2} for n, label in enumerate(labels)]
    StopRisk.objects.create(stop=stop, score=score, reasons=reasons, missing=list(missing))
    return stop


def contacted(stop: Stop, *, status: str = PreArrivalContact.Status.ANSWERED, **fields: Any) -> PreArrivalContact:
    fields.setdefault("asked", ["access_code"])
    fields.setdefault("created_at", local(9, 42))
    if status == PreArrivalContact.Status.ANSWERED:
        fields.setdefault("answered_at", local(9, 50))
    return PreArrivalContact.objects.create(stop=stop, score=0.6, status=status, **fields)


def stop_on(run: Run, hour: int, **fields: Any) -> Stop:
    return StopFactory(run=run, planned_arrival=local(hour, 0, run.service_date), **fields)


def listed(client: Client, **params: Any) -> list[int]:
    response = client.get(RISKY, params)
    assert response.status_code == 200, response.content
    return [row["stop_id"] for row in response.json()["stops"]]


# --- What is listed, and in which order -----------------------------------------------------------------------------


def test_it_lists_todays_risky_stops_riskiest_first_with_reasons_and_what_is_missing(alice, dave_run):
    settings = prevention.prevention_settings()
    settings.risk_threshold = 0.3
    settings.save()
    middling = stop_on(dave_run, 11)
    Order.objects.filter(pk=middling.order_id).update(window_start=local(10, 0), window_end=local(12, 0))
    risky(middling, 0.45, "Recipient was not home twice around this time of day", missing=("availability",))
    worst = risky(
        stop_on(dave_run, 14, order__address__unit="3B"),
        0.9,
        "The access code on file for this apartment building is flagged",
        "2 failed attempts at this address in the last 60 days (access denied)",
        missing=("access_code", "safe_place"),
    )
    at_threshold = risky(stop_on(dave_run, 9), 0.3, "No access code on file for this gated community")
    risky(stop_on(dave_run, 12), 0.29, "Planned arrival 12:00 leaves 10 min before the delivery window closes")
    stop_on(dave_run, 13)  # never scored

    body = signed_in(alice).get(RISKY).json()

    assert [row["stop_id"] for row in body["stops"]] == [worst.pk, middling.pk, at_threshold.pk]
    assert (body["day"], body["dates"], body["threshold"], body["total"]) == (
        "today",
        {str(dave_run.depot_id): "2026-11-18"},
        0.3,
        3,
    )
    first, second, _ = body["stops"]
    order = worst.order
    assert first == {
        "stop_id": worst.pk,
        "run_id": dave_run.pk,
        "depot_id": dave_run.depot_id,
        "service_date": "2026-11-18",
        "order_reference": order.reference,
        "recipient_name": order.recipient.name,
        "address": f"{order.address.line1} #3B, Chicago",
        "driver_id": dave_run.driver_id,
        "driver_name": "Dave " + dave_run.driver.user.last_name,
        "planned_arrival": "2026-11-18T20:00:00Z",
        "window_start": None,
        "window_end": None,
        "status": "pending",
        "status_label": "Pending",
        "done": False,
        "score": 0.9,
        "reasons": [
            "The access code on file for this apartment building is flagged",
            "2 failed attempts at this address in the last 60 days (access denied)",
        ],
        "missing": [
            {"code": "access_code", "label": "Access code"},
            {"code": "safe_place", "label": "A safe place to leave it"},
        ],
        "prearrival": None,
    }
    # The order's window, when the stop has none of its own.
    assert (second["window_start"], second["window_end"]) == ("2026-11-18T16:00:00Z", "2026-11-18T18:00:00Z")
    assert str(order.recipient.phone) not in str(body)


def test_the_admins_threshold_decides_what_is_risky(alice, dave_run):
    high = risky(stop_on(dave_run, 11), 0.8, "Flagged code")
    risky(stop_on(dave_run, 12), 0.45, "Not home at this hour")
    settings = prevention.prevention_settings()
    settings.risk_threshold = 0.5
    settings.save()

    body = signed_in(alice).get(RISKY).json()

    assert [row["stop_id"] for row in body["stops"]] == [high.pk]
    assert body["threshold"] == 0.5


def test_it_says_how_much_of_the_days_share_of_texts_ahead_is_used(alice, dave_run, erin):
    stops = [risky(stop_on(dave_run, 8 + n), round(0.9 - 0.1 * n, 1), "Risky") for n in range(10)]
    # Moved to Erin's run later in the day: the same parcel.
    Stop.objects.filter(pk=stops[0].pk).update(status=Stop.Status.RESCHEDULED)
    StopFactory(run=RunFactory(driver=erin, service_date=TODAY), order=stops[0].order)
    contacted(stops[0])
    contacted(stops[1], status=PreArrivalContact.Status.ASKED)
    contacted(stops[2], status=PreArrivalContact.Status.SKIPPED, skip_reason="Opted out")
    settings = prevention.prevention_settings()
    settings.daily_share = 0.3
    settings.save()

    body = signed_in(alice).get(RISKY).json()

    assert body["daily_share"] == 0.3
    # Within the share: the three riskiest that could be asked (0.9, 0.8 and, past the opted-out 0.7, 0.6).
    assert body["texts_ahead"] == {str(dave_run.depot_id): {"allowed": 3, "used": 2, "cutoff": 0.6}}
    tomorrow = signed_in(alice).get(RISKY, {"day": "tomorrow"}).json()
    assert tomorrow["texts_ahead"] == {str(dave_run.depot_id): {"allowed": 0, "used": 0, "cutoff": 1.0}}

    settings.daily_share = 1.0
    settings.save()
    unlimited = signed_in(alice).get(RISKY).json()["texts_ahead"][str(dave_run.depot_id)]
    assert unlimited == {"allowed": 11 - 1, "used": 2, "cutoff": None}


def test_stops_with_the_same_score_come_by_planned_arrival(alice, dave_run):
    later = risky(stop_on(dave_run, 15), 0.5, "Late")
    sooner = risky(stop_on(dave_run, 9), 0.5, "Early")

    assert listed(signed_in(alice)) == [sooner.pk, later.pk]


def test_a_contacted_stop_is_listed_whatever_its_score_now_with_what_was_learned(alice, dave_run):
    stop = risky(stop_on(dave_run, 15), 0.08, "The access code on file has never been confirmed to work")
    AccessCredentialFactory(address=stop.order.address, secret="4821")
    contacted(
        stop,
        asked=["access_code", "availability"],
        learned={
            "access_code": True,
            "window": {"start": local(16, 0).isoformat(), "end": local(18, 0).isoformat()},
            "safe_place": True,
        },
    )
    skipped = stop_on(dave_run, 16)  # a stop without a risk row: contacted all the same
    contacted(skipped, status=PreArrivalContact.Status.SKIPPED, skip_reason="The recipient opted out of texts.")

    response = signed_in(alice).get(RISKY)

    rows = {row["stop_id"]: row for row in response.json()["stops"]}
    assert list(rows) == [stop.pk, skipped.pk]
    assert rows[stop.pk]["prearrival"] == {
        "status": "answered",
        "status_label": "Answered",
        "skip_reason": "",
        "asked": [
            {"code": "access_code", "label": "Access code"},
            {"code": "availability", "label": "When someone is home"},
        ],
        "learned": ["access code received", "delivery window 16:00 to 18:00", "safe place given"],
        "asked_at": "2026-11-18T15:42:00Z",
        "answered_at": "2026-11-18T15:50:00Z",
    }
    assert rows[skipped.pk]["score"] is None
    assert rows[skipped.pk]["prearrival"]["status_label"] == "Not asked"
    assert rows[skipped.pk]["prearrival"]["skip_reason"] == "The recipient opted out of texts."
    assert "4821" not in response.content.decode()


@pytest.mark.parametrize(
    ("learned", "words"),
    [
        ({"access_code": True}, ["access code received"]),
        (
            {"window": {"start": local(16, 0).isoformat(), "end": None}},
            ["delivery window from 16:00"],
        ),
        (
            {"window": {"start": local(9, 0, TOMORROW).isoformat(), "end": local(11, 0, TOMORROW).isoformat()}},
            ["delivery window Thu 19 Nov 09:00 to 11:00"],
        ),
        ({"safe_place": False}, ["safe place offered, but the order does not allow it"]),
        ({"safe_place": "back porch, gate code 4821"}, ["safe place: back porch, gate code ••••"]),
        ({"neighbour": True}, ["a neighbour can take it"]),
        ({"neighbour": "Apt 3B, Mrs Ortiz"}, ["neighbour: Apt 3B, Mrs Ortiz"]),
        ({"home": True}, ["someone will be home"]),
        ({"other": "call_request"}, ["replied: asked for a call"]),
        ({"other": "something_new"}, ["replied: something new"]),
        ({}, []),
    ],
)
def test_what_was_learned_is_said_in_words_never_with_a_code(learned, words):
    assert risk_board.learned_words(learned, zone=CHICAGO, day=TODAY) == words


def test_stops_already_attempted_stay_listed_and_say_so(alice, dave_run, dave):
    delivered = risky(stop_on(dave_run, 9, status=Stop.Status.DELIVERED), 0.7, "Flagged code")
    failed = risky(stop_on(dave_run, 10, status=Stop.Status.FAILED), 0.6, "No code")
    cancelled_run = RunFactory(driver=dave, service_date=TODAY, status=Run.Status.CANCELLED, shift_start=local(6, 0))
    risky(stop_on(cancelled_run, 11), 0.95, "Not driven")

    rows = signed_in(alice).get(RISKY).json()["stops"]

    assert [(row["stop_id"], row["status_label"], row["done"]) for row in rows] == [
        (delivered.pk, "Delivered", True),
        (failed.pk, "Failed attempt", True),
    ]


def test_the_list_is_capped_and_says_how_many_there_are(alice, dave_run, monkeypatch):
    monkeypatch.setattr(risk_board, "RISKY_STOPS_LIMIT", 2)
    stops = [risky(stop_on(dave_run, 9 + n), 0.5 + n / 10, f"Reason {n}") for n in range(3)]

    body = signed_in(alice).get(RISKY).json()

    assert [row["stop_id"] for row in body["stops"]] == [stops[2].pk, stops[1].pk]
    assert (body["total"], body["limit"]) == (3, 2)


def test_the_next_page_one_drivers_stops_and_by_planned_time(alice, dave, erin, dave_run, monkeypatch):
    monkeypatch.setattr(risk_board, "RISKY_STOPS_LIMIT", 2)
    stops = [risky(stop_on(dave_run, 9 + n), 0.5 + n / 10, f"Reason {n}") for n in range(3)]
    theirs = risky(stop_on(RunFactory(driver=erin, service_date=TODAY), 12), 0.95, "Erin's")
    client = signed_in(alice)

    first = client.get(RISKY).json()
    second = client.get(RISKY, {"offset": 2}).json()

    assert [row["stop_id"] for row in first["stops"]] == [theirs.pk, stops[2].pk]
    assert ([row["stop_id"] for row in second["stops"]], second["total"], second["offset"]) == (
        [stops[1].pk, stops[0].pk],
        4,
        2,
    )
    assert listed(client, driver=erin.pk) == [theirs.pk]
    assert listed(client, driver=dave.pk, sort="time") == [stops[0].pk, stops[1].pk]
    bad = client.get(RISKY, {"sort": "alphabet", "offset": "-1"})
    assert (bad.status_code, sorted(bad.json()["fields"])) == (400, ["offset", "sort"])


# --- Today and tomorrow ---------------------------------------------------------------------------------------------


def test_tomorrow_is_the_next_service_day(alice, dave, dave_run):
    today = risky(stop_on(dave_run, 11), 0.5, "Today's")
    tomorrow = risky(stop_on(RunFactory(driver=dave, service_date=TOMORROW), 11), 0.5, "Tomorrow's")
    risky(stop_on(RunFactory(driver=dave, service_date=TODAY - dt.timedelta(days=1)), 11), 0.5, "Yesterday's")
    client = signed_in(alice)

    assert listed(client) == [today.pk]
    assert listed(client, day="today") == [today.pk]
    assert listed(client, day="tomorrow") == [tomorrow.pk]
    assert client.get(RISKY, {"day": "tomorrow"}).json()["dates"] == {str(dave.depot_id): "2026-11-19"}


def test_today_and_tomorrow_are_each_depots_own_in_its_time_zone(admin_user, dave):
    tokyo = DepotFactory(code="tyo", name="Tokyo", time_zone="Asia/Tokyo", latitude=35.68, longitude=139.76)
    kenji = DriverFactory(user=UserFactory(username="kenji"), depot=tokyo)

    def tokyo_stop(day: dt.date) -> Stop:
        start = dt.datetime.combine(day, dt.time(9), tzinfo=TOKYO)
        run = RunFactory(driver=kenji, service_date=day, shift_start=start, shift_end=start + dt.timedelta(hours=8))
        return risky(StopFactory(run=run, planned_arrival=start + dt.timedelta(hours=2)), 0.5, "Tokyo")

    chicago_wednesday = risky(stop_on(RunFactory(driver=dave, service_date=TODAY), 21), 0.6, "Chicago")
    chicago_thursday = risky(stop_on(RunFactory(driver=dave, service_date=TOMORROW), 11), 0.6, "Chicago")
    tokyo_thursday, tokyo_friday = tokyo_stop(TOMORROW), tokyo_stop(TOMORROW + dt.timedelta(days=1))
    client = signed_in(admin_user)

    # 20:00 on Wednesday in Chicago is 11:00 on Thursday in Tokyo.
    with time_machine.travel(local(20, 0), tick=False):
        today = client.get(RISKY).json()
        tomorrow = client.get(RISKY, {"day": "tomorrow"}).json()

    assert [row["stop_id"] for row in today["stops"]] == [chicago_wednesday.pk, tokyo_thursday.pk]
    assert today["dates"] == {str(dave.depot_id): "2026-11-18", str(tokyo.pk): "2026-11-19"}
    assert [row["stop_id"] for row in tomorrow["stops"]] == [chicago_thursday.pk, tokyo_friday.pk]
    assert tomorrow["dates"] == {str(dave.depot_id): "2026-11-19", str(tokyo.pk): "2026-11-20"}


def test_the_periodic_scoring_covers_tomorrows_plan_too(chicago, dave, oscar):
    gated = {"order__address__building_type": "gated"}
    today = stop_on(RunFactory(driver=dave, service_date=TODAY), 11, **gated)
    tomorrow = stop_on(RunFactory(driver=dave, service_date=TOMORROW), 11, **gated)
    elsewhere = stop_on(RunFactory(driver=oscar, service_date=TOMORROW), 11, **gated)
    later = stop_on(RunFactory(driver=dave, service_date=TOMORROW + dt.timedelta(days=1)), 11, **gated)

    assert risk_score_day_task() == 3

    scored = dict(StopRisk.objects.values_list("stop_id", "reasons__0__code"))
    assert scored == {today.pk: "no_code", tomorrow.pk: "no_code", elsewhere.pk: "no_code"}
    assert later.pk not in scored


# --- Who sees what --------------------------------------------------------------------------------------------------


def test_a_dispatcher_sees_only_the_stops_of_the_depots_they_work(alice, bob, dave_run, oscar, milwaukee):
    ours = risky(stop_on(dave_run, 11), 0.7, "Chicago's")
    theirs = risky(stop_on(RunFactory(driver=oscar, service_date=TODAY), 11), 0.9, "Milwaukee's")
    contacted(theirs, learned={"access_code": True})

    alice_response = signed_in(alice).get(RISKY)

    assert [row["stop_id"] for row in alice_response.json()["stops"]] == [ours.pk]
    assert theirs.order.reference not in alice_response.content.decode()
    assert list(alice_response.json()["dates"]) == [str(dave_run.depot_id)]
    assert listed(signed_in(bob)) == [theirs.pk]
    refused = signed_in(alice).get(RISKY, {"depot": milwaukee.pk})
    assert (refused.status_code, refused.json()["code"]) == (404, "depot_not_found")


def test_an_admin_sees_every_depot_and_can_narrow_to_one(admin_user, dave_run, oscar, milwaukee):
    ours = risky(stop_on(dave_run, 11), 0.7, "Chicago's")
    theirs = risky(stop_on(RunFactory(driver=oscar, service_date=TODAY), 11), 0.9, "Milwaukee's")
    client = signed_in(admin_user)

    assert listed(client) == [theirs.pk, ours.pk]
    assert listed(client, depot=dave_run.depot_id) == [ours.pk]


def test_it_refuses_anyone_not_signed_in_and_drivers(dave, dave_run):
    risky(stop_on(dave_run, 11), 0.7, "Chicago's")

    for client in (Client(), signed_in(dave.user)):
        response = client.get(RISKY)
        assert response.status_code == 403
        assert "stops" not in response.json()


def test_bad_input_is_a_400_with_field_messages(alice):
    response = signed_in(alice).get(RISKY, {"day": "yesterday", "depot": "x"})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["fields"]["day"] == ["Pick today or tomorrow."]
    assert set(body["fields"]) == {"day", "depot"}


# --- Cost -----------------------------------------------------------------------------------------------------------


def test_the_list_costs_the_same_queries_for_4_stops_and_for_30(alice, dave_run, erin):
    client = signed_in(alice)
    other_run = RunFactory(driver=erin, service_date=TODAY)

    def add(count: int) -> None:
        for n in range(count):
            stop = risky(stop_on(dave_run if n % 2 else other_run, 8 + n % 10), 0.3 + (n % 7) / 10, "A", "B")
            if n % 3 == 0:
                contacted(stop, learned={"access_code": True, "safe_place": True})

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            body = client.get(RISKY).json()
        assert body["total"] == len(body["stops"])
        return len(captured.captured_queries)

    add(4)  # enough for one text ahead at the default share: its cutoff is looked up
    client.get(RISKY)  # the prevention settings' row is made on first use
    few = queries()
    add(26)
    assert queries() == few
    assert len(client.get(RISKY).json()["stops"]) == 30
