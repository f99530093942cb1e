"""The evidence beside a case: the driver's note and photo, where the scan was made, the driver now, the address's
past attempts and its vault, as a dispatcher reads them in the case panel."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from dispatch.models import AccessCredential, Address, Depot, DriverInstruction, Order, Recipient, Stop, User
from exceptions import workflow
from exceptions.models import EscalationRule, ExceptionCase, PreArrivalContact, ReplyIntent, StopRisk
from outreach.models import Message
from tests.clock import TODAY, local
from tests.factories import DriverFactory, RunFactory
from tests.factories import StopFactory as Stops
from tests.helpers import at, case_url, client_for, fail, reply, signed_in, sms_reply, triaged

pytestmark = pytest.mark.usefixtures("outreach", "routing", "triage_enqueued")

JPEG = b"\xff\xd8\xff\xe0fake-jpeg"


def scan_with_evidence(stop, *, metres_north: float, accuracy: float | None, note: str, photo: bool = True):
    address = stop.order.address
    body = {
        "outcome": "failed",
        "reason_code": "DAMAGED" if photo else "RECIPIENT_ABSENT",
        "device_time": timezone.now().isoformat(),
        "latitude": address.latitude + metres_north / 111_320,
        "longitude": address.longitude,
        "notes": note,
    }
    if accuracy is not None:
        body["accuracy_m"] = accuracy
    if photo:
        body["photo"] = SimpleUploadedFile("box.jpg", JPEG, content_type="image/jpeg")
    response = client_for(stop.run.driver.user).post(
        f"/api/v1/driver/stops/{stop.pk}/scans", body, format="multipart", HTTP_IDEMPOTENCY_KEY=f"ev-{stop.pk}"
    )
    assert response.status_code == 201, response.json()
    return ExceptionCase.objects.get(pk=response.json()["case_id"])


def test_the_panel_shows_the_note_the_photo_and_where_the_scan_was_made(alice, dave, dave_stop, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    case = scan_with_evidence(dave_stop, metres_north=90, accuracy=15, note="Box crushed, gate code 4821 worked")
    at(dave, dave_stop, metres_north=3000, minutes_ago=2)
    board = signed_in(alice)

    evidence = board.get(case_url(case)).json()["evidence"]

    scan = evidence["scan"]
    assert scan["note"] == "Box crushed, gate code •••• worked"  # a code in a note is masked like a reply's
    assert scan["photo"] is True
    assert (scan["distance_m"], scan["accuracy_m"], scan["far"], scan["warning_m"]) == (90, 15, False, 100)
    driver = evidence["driver"]
    assert abs(driver["distance_m"] - 3000) < 15  # the helper places the driver by degrees
    assert driver["drive_minutes"] >= 1
    dave.refresh_from_db()
    assert dt.datetime.fromisoformat(driver["fix_at"]) == dave.last_seen_at
    # The photo, as the driver sent it, for those who may see the case.
    photo = board.get(case_url(case, "photo"))
    assert (photo.status_code, photo["Content-Type"], photo.getvalue()) == (200, "image/jpeg", JPEG)


def test_a_scan_far_from_the_address_is_flagged_beyond_its_accuracy_and_the_depots_distance(
    alice, dave, dave_stop, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    Depot.objects.filter(pk=dave_stop.run.depot_id).update(scan_distance_warning_m=200)
    case = scan_with_evidence(dave_stop, metres_north=400, accuracy=100, note="", photo=False)

    scan = signed_in(alice).get(case_url(case)).json()["evidence"]["scan"]

    assert (scan["distance_m"], scan["far"], scan["warning_m"], scan["photo"]) == (400, True, 200, False)
    assert signed_in(alice).get(case_url(case, "photo")).status_code == 404


def test_attempts_at_the_address_and_the_building_and_the_vault_without_its_codes(alice, dave, dave_stop):
    address = dave_stop.order.address
    # Two earlier failures at the same door, one at another flat of the same building, one elsewhere.
    for _ in range(2):
        fail(Stops(run=dave_stop.run, order__address=address), "RECIPIENT_ABSENT")
    neighbour = Address.objects.create(
        depot=address.depot, line1=address.line1.upper(), unit="9Z", city=address.city,
        postal_code=address.postal_code, latitude=address.latitude, longitude=address.longitude,
    )  # fmt: skip
    fail(Stops(run=dave_stop.run, order__address=neighbour), "ACCESS_DENIED")
    fail(Stops(run=dave_stop.run), "ACCESS_DENIED")
    AccessCredential.objects.create(address=address, secret="1357", last_worked_at=timezone.now())
    AccessCredential.objects.create(address=address, secret="2468", failure_count=2, last_failed_at=timezone.now())
    case = fail(dave_stop, "ACCESS_DENIED")

    response = signed_in(alice).get(case_url(case))

    evidence = response.json()["evidence"]
    assert evidence["attempts"] == {"address": 3, "building": 4, "days": 30}
    vault = evidence["vault"]
    assert (vault["codes"], vault["verified"], vault["failing"], vault["flagged"]) == (2, 1, 1, 1)
    assert "1357" not in response.content.decode()
    assert "2468" not in response.content.decode()


def test_another_depots_dispatcher_gets_neither_the_panel_nor_the_photo(bob, dave, dave_stop, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    case = scan_with_evidence(dave_stop, metres_north=10, accuracy=None, note="left a card")
    outsider = signed_in(bob)

    assert outsider.get(case_url(case)).status_code == 404
    photo = outsider.get(case_url(case, "photo"))
    assert (photo.status_code, photo.json()["code"]) == (404, "photo_not_found")


@pytest.mark.usefixtures("dave")
def test_a_scan_without_a_position_says_so(alice, dave_stop):
    case = fail(dave_stop, "RECIPIENT_ABSENT")

    evidence = signed_in(alice).get(case_url(case)).json()["evidence"]

    assert (evidence["scan"]["distance_m"], evidence["scan"]["far"], evidence["scan"]["note"]) == (None, False, "")


# --- Approvals: what the click approves, and what it rests on -------------------------------------------------------


def test_a_held_drop_shows_the_place_why_it_is_held_and_the_reading(alice, dave, dave_stop):
    Order.objects.filter(pk=dave_stop.order_id).update(signature_required=True)
    at(dave, dave_stop)
    case = reply(triaged(fail(dave_stop, "RECIPIENT_ABSENT")), ReplyIntent.SAFE_DROP, detail="behind the planter")
    case = reply(case, ReplyIntent.SAFE_DROP, detail="behind the planter", why="drop-off 'behind the planter'")

    approval = signed_in(alice).get(case_url(case)).json()["approval"]

    assert approval["outcome"] == "safe_drop"
    assert approval["what"] == "behind the planter"
    assert "signature" in approval["held_because"]
    assert approval["reading"] == "safe drop: drop-off 'behind the planter'"
    assert approval["slot"] is None


@pytest.mark.parametrize(
    ("start", "slot"),
    [(local(12), "open"), (local(21), "full"), (local(9, day=TODAY + dt.timedelta(days=1)), "open")],
    ids=["room-today", "after-every-shift-today", "a-later-day-that-its-plan-takes"],
)
def test_a_held_window_says_whether_routing_has_room_then(alice, dave, dave_stop, start, slot):
    EscalationRule.objects.create(name="Approve anything", position=0, action=EscalationRule.Action.REQUIRE_APPROVAL)
    at(dave, dave_stop)
    case = reply(
        triaged(fail(dave_stop, "RECIPIENT_ABSENT")),
        ReplyIntent.RESCHEDULE,
        window_start=start,
        window_end=start + dt.timedelta(hours=2),
    )

    approval = signed_in(alice).get(case_url(case)).json()["approval"]

    assert approval["what"] == f"{start:%a %d %b} from {start:%H:%M} to {start + dt.timedelta(hours=2):%H:%M}"
    assert approval["slot"] == slot


@pytest.mark.usefixtures("dave")
def test_nothing_waiting_is_no_approval(alice, dave_stop):
    assert signed_in(alice).get(case_url(fail(dave_stop))).json()["approval"] is None


# --- Finding a case ---------------------------------------------------------------------------------------------------


def test_search_finds_open_and_ended_cases_by_order_name_address_and_last_phone_digits(alice, dave, dave_stop):
    ended = fail(dave_stop, "RECIPIENT_ABSENT")
    ExceptionCase.objects.filter(pk=ended.pk).update(state=ExceptionCase.State.RESOLVED)
    Recipient.objects.filter(pk=dave_stop.order.recipient_id).update(name="Gabriela Rivera", phone="+13125550177")
    other = fail(Stops(run=dave_stop.run), "ACCESS_DENIED")
    Order.objects.filter(pk=dave_stop.order_id).update(reference="LM-500001")
    Order.objects.filter(pk=other.order_id).update(reference="LM-700002")
    board = signed_in(alice)

    def found(text: str) -> list[int]:
        response = board.get("/api/v1/board/search", {"q": text})
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["cases"]]

    assert found("lm-500001") == [ended.pk]
    assert found("rivera") == [ended.pk]
    assert ended.pk in found(dave_stop.order.address.line1)
    assert found("0177") == [ended.pk]
    assert found("(0177)") == [ended.pk]
    assert ended.pk not in found("5550")  # the middle of a number is not its last digits
    assert found("LM-700002") == [other.pk]
    response = board.get("/api/v1/board/search", {"q": "x"})
    assert (response.status_code, list(response.json()["fields"])) == (400, ["q"])
    assert "+13125550177" not in board.get("/api/v1/board/search", {"q": "0177"}).content.decode()


# --- The queue's row: the reason once, with the facts ----------------------------------------------------------------


def test_a_row_carries_the_facts_a_dispatcher_decides_from_and_no_generic_reason(
    alice, dave, dave_stop, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    Order.objects.filter(pk=dave_stop.order_id).update(
        declared_value=79, signature_required=True, window_end=timezone.now() - dt.timedelta(hours=1)
    )
    case = scan_with_evidence(dave_stop, metres_north=5, accuracy=5, note="box open")
    ExceptionCase.objects.filter(pk=case.pk).update(
        state=ExceptionCase.State.ESCALATED, escalation_reason="The playbook hands this case to a dispatcher."
    )

    (row,) = [r for r in signed_in(alice).get("/api/v1/board/snapshot").json()["cases"] if r["id"] == case.pk]

    assert row["facts"] == ["photo", "$79", "signature", "window missed"]
    assert row["escalation_note"] == ""
    assert row["escalation_reason"] == "The playbook hands this case to a dispatcher."


# --- Parcels waiting for a later day's plan ---------------------------------------------------------------------------


def test_parcels_moved_to_a_day_with_no_run_yet_are_listed_soonest_first_until_a_run_takes_them(alice, dave):
    zone = dave.depot.time_zone
    run = RunFactory(driver=dave)
    waiting = []
    later, sooner = (TODAY + dt.timedelta(days=n) for n in (3, 2))
    for day, hour in ((later.isoformat(), 9), (sooner.isoformat(), 14)):
        stop = Stops(run=run)
        case = fail(stop, "RECIPIENT_ABSENT")
        start = dt.datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=zone)
        ExceptionCase.objects.filter(pk=case.pk).update(
            state=ExceptionCase.State.RESOLVED,
            outcome=ExceptionCase.Outcome.RESCHEDULED_LATER,
            outcome_detail={"planned_day": day},
            resolved_at=timezone.now(),
        )
        Order.objects.filter(pk=stop.order_id).update(
            status=Order.Status.RESCHEDULED, window_start=start, window_end=start + dt.timedelta(hours=2)
        )
        Stop.objects.filter(pk=stop.pk).update(status=Stop.Status.RESCHEDULED)
        waiting.append(case)
    board = signed_in(alice)

    body = board.get("/api/v1/board/waiting").json()

    assert [parcel["case_id"] for parcel in body["parcels"]] == [waiting[1].pk, waiting[0].pk]
    assert (body["total"], body["parcels"][0]["planned_day"]) == (2, sooner.isoformat())
    assert dt.datetime.fromisoformat(body["parcels"][0]["window_start"]).astimezone(zone).hour == 14
    # The next day's plan takes one: it leaves the list.
    taken = waiting[1]
    Stops(run=RunFactory(driver=DriverFactory(depot=dave.depot)), order=taken.order, status=Stop.Status.PENDING)
    Order.objects.filter(pk=taken.order_id).update(status=Order.Status.PENDING)
    assert [parcel["case_id"] for parcel in board.get("/api/v1/board/waiting").json()["parcels"]] == [waiting[0].pk]


# --- A reply, glossed: what the desk understood, in English ---------------------------------------------------------


@pytest.mark.usefixtures("dave")
def test_each_reply_in_the_conversation_says_how_it_was_read(alice, dave_stop, twilio, signed, client):
    case = fail(dave_stop, "RECIPIENT_ABSENT")
    workflow.case_triage(case_id=case.pk)

    sms_reply(client, case, "mañana por la mañana por favor")

    conversation = signed_in(alice).get(case_url(case)).json()["conversation"]
    (reply_,) = [item for item in conversation if item["direction"] == "inbound"]
    assert reply_["body"] == "mañana por la mañana por favor"
    assert reply_["reading"].startswith("reschedule: ")
    assert all(item["reading"] is None for item in conversation if item["direction"] == "outbound")


# --- A risky stop's row: a code for its address, a call to its recipient, before the driver comes ---------------------


@pytest.mark.usefixtures("dave")
def test_a_code_added_from_a_risky_stop_goes_to_the_vault_and_its_driver(alice, dave_stop):
    response = signed_in(alice).post(
        f"/api/v1/board/stops/{dave_stop.pk}/access-code", {"code": "4417"}, content_type="application/json"
    )

    assert (response.status_code, response.json()["detail"]) == (
        200,
        "Code saved: the driver will have it at the door.",
    )
    credential = AccessCredential.objects.get(address=dave_stop.order.address)
    assert (credential.secret, credential.source) == ("4417", "dispatcher")
    (told,) = DriverInstruction.objects.filter(stop=dave_stop)
    assert told.kind == DriverInstruction.Kind.ACCESS_CODE
    assert "4417" not in told.text


@pytest.mark.usefixtures("dave")
def test_a_stop_already_attempted_has_no_visit_to_prepare(alice, dave_stop):
    Stop.objects.filter(pk=dave_stop.pk).update(status=Stop.Status.FAILED)

    response = signed_in(alice).post(
        f"/api/v1/board/stops/{dave_stop.pk}/access-code", {"code": "4417"}, content_type="application/json"
    )
    empty = signed_in(alice).post(
        f"/api/v1/board/stops/{dave_stop.pk}/access-code", {}, content_type="application/json"
    )

    assert (response.status_code, response.json()["code"]) == (400, "not_allowed")
    assert (empty.status_code, list(empty.json()["fields"])) == (400, ["code"])
    assert not AccessCredential.objects.exists()


@pytest.mark.usefixtures("dave")
def test_a_call_from_a_risky_stop_rings_the_dispatcher_then_its_recipient(alice, dave_stop, twilio):
    User.objects.filter(pk=alice.pk).update(phone="+13125550189")

    response = signed_in(alice).post(f"/api/v1/board/stops/{dave_stop.pk}/call", {}, content_type="application/json")

    assert response.status_code == 200, response.content
    (placed,) = twilio.calls
    assert placed["To"] == "+13125550189"
    assert f"<Number>{dave_stop.order.recipient.phone}</Number>" in placed["Twiml"]


@pytest.mark.usefixtures("dave")
def test_text_now_asks_a_risky_stops_recipient_once_whatever_the_days_share(alice, dave_stop, twilio):
    StopRisk.objects.create(stop=dave_stop, score=0.3, reasons=[], missing=["access_code"])
    board = signed_in(alice)
    url = f"/api/v1/board/stops/{dave_stop.pk}/text"

    first = board.post(url, {}, content_type="application/json")
    again = board.post(url, {}, content_type="application/json")

    assert first.status_code == 200, first.content
    (asked,) = Message.objects.filter(conversation__stop=dave_stop, template_key="prearrival")
    assert "gate or door code" in asked.body
    assert PreArrivalContact.objects.get(stop=dave_stop).asked == ["access_code", "availability"]
    assert (again.status_code, again.json()["code"]) == (400, "not_allowed")
    assert "already texted" in again.json()["detail"]
