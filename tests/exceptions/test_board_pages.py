"""The desk's pages: the board (its depots, tiles and socket) and analytics, for dispatchers and admins
only, others sent to sign in; a dispatcher signing in and out; the metrics the analytics page loads, as CSV
with a file name and grouped by area with each area's centre.

Alice dispatches at Chicago; Dave drives for Chicago; the admin sees every depot.
Cases are opened by failed scans through the driver's service
and worked through the real workflow, with outreach and routing recorded.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.utils import timezone

from tests.helpers import escalated, signed_in

pytestmark = pytest.mark.usefixtures("outreach", "routing", "triage_enqueued")


# --- Pages ----------------------------------------------------------------------------------------------------------


def test_the_board_page_carries_the_users_depots_the_tiles_and_the_socket(alice, chicago, settings):
    settings.BOARD_TILE_URL = ""
    response = signed_in(alice).get("/board/")

    assert response.status_code == 200
    assert [depot.pk for depot in response.context["depots"]] == [chicago.pk]
    assert (response.context["tile_url"], response.context["ws_path"]) == ("", "/ws/board/")
    assert "csrftoken" in response.cookies


def test_the_analytics_page_carries_the_users_depots(admin_user, chicago, milwaukee):
    response = signed_in(admin_user).get("/analytics/")

    assert response.status_code == 200
    assert {depot.pk for depot in response.context["depots"]} == {chicago.pk, milwaukee.pk}


def test_the_pages_send_others_to_sign_in(dave):
    assert Client().get("/")["Location"] == "/board/"
    for client in (Client(), signed_in(dave.user)):
        for page in ("/board/", "/analytics/"):
            response = client.get(page)
            assert response.status_code == 302
            assert response["Location"].startswith(f"/accounts/login/?next={page}")


def test_a_dispatcher_signs_in_and_lands_on_the_board(alice):
    alice.set_password("correct-horse-battery")
    alice.save()
    client = Client(enforce_csrf_checks=True)
    page = client.get("/accounts/login/")
    token = page.cookies["csrftoken"].value

    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "correct-horse-battery", "csrfmiddlewaretoken": token}
    )

    assert (response.status_code, response["Location"]) == (302, "/board/")
    assert client.session["_auth_user_id"] == str(alice.pk)
    alice.refresh_from_db()
    assert alice.last_login is not None
    assert client.get("/board/").status_code == 200
    out = client.post("/accounts/logout/", {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert (out.status_code, out["Location"]) == (302, "/accounts/login/")
    assert "_auth_user_id" not in client.session
    assert client.get("/board/")["Location"].startswith("/accounts/login/")


# --- Metrics: CSV and areas ------------------------------------------------------------------------------------------


def test_the_metrics_come_as_csv_with_a_file_name(alice, dave_stop):
    escalated(dave_stop)
    client = signed_in(alice)
    today = timezone.localdate(timezone.now(), dave_stop.run.depot.time_zone).isoformat()

    as_json = client.get("/api/v1/metrics", {"group_by": "reason_code"})
    for response in (
        client.get("/api/v1/metrics", {"group_by": "reason_code", "format": "csv"}),
        client.get("/api/v1/metrics.csv", {"group_by": "reason_code"}),
    ):
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert response["Content-Disposition"] == f'attachment; filename="metrics_{today}_{today}_by_reason_code.csv"'
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        assert [row["group"] for row in rows] == ["total", "reason_code"]
        assert rows[1]["key"] == "ACCESS_DENIED"
        assert rows[0]["cases_opened"] == str(as_json.json()["totals"]["cases"]["opened"]) == "1"
        assert "failed_attempt_cost_cost_per_failed_attempt_USD" in rows[0]
    assert as_json["Content-Type"] == "application/json"


def test_a_bad_metrics_query_in_csv_is_answered_in_json(alice_client, chicago):
    response = alice_client.get("/api/v1/metrics.csv", {"group_by": "galaxy"})

    assert response.status_code == 400
    assert "group_by" in response.json()["fields"]


def test_the_metrics_group_by_area_with_each_areas_centre(alice_client, dave_stop):
    escalated(dave_stop)
    address = dave_stop.order.address

    body = alice_client.get("/api/v1/metrics", {"group_by": "area"}).json()

    (group,) = body["groups"]
    assert (group["key"], group["cases"]["opened"]) == (address.postal_code, 1)
    assert (group["lat"], group["lng"]) == pytest.approx((address.latitude, address.longitude))
    assert "lat" not in alice_client.get("/api/v1/metrics", {"group_by": "reason_code"}).json()["groups"][0]
