"""Object-level isolation on every endpoint that names or lists objects: drivers from drivers, depots from depots.

Dave (Chicago) tries each driver endpoint on the stops and instructions of
Erin (his teammate) and Oscar (another depot); Alice (Chicago's dispatcher)
tries each desk read and each board action on a Milwaukee case. Each check
first shows the owner succeeds with the same request, so a 404 means "not
yours" and not a wrong address. The endpoints come from the URLconf: a new one
with no check here fails by name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from dispatch.models import (
    AccessCredential,
    ApiToken,
    Driver,
    DriverInstruction,
    Order,
    Recipient,
    ScanEvent,
    Stop,
)
from dispatch.services import instruction_push
from exceptions.models import CaseEvent, ExceptionCase, PreArrivalContact, StopRisk
from outreach.models import Message
from tests.factories import AccessCredentialFactory, StopFactory, UserFactory
from tests.helpers import at, client_for, escalated, signed_in
from tests.security import endpoints
from tests.security.cases import recipe

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("outreach", "routing", "triage_enqueued")]


# --- Drivers --------------------------------------------------------------------------------------------------------


@dataclass
class DriverWorld:
    """A driver's app and what is theirs: an active stop with a gate code, an instruction about it."""

    driver: Driver
    api: APIClient
    stop: Stop
    instruction: DriverInstruction
    code: str


def world_of(driver: Driver, code: str) -> DriverWorld:
    stop = StopFactory(run__driver=driver)
    AccessCredentialFactory(address=stop.order.address, secret=code, last_worked_at=timezone.now())
    instruction = instruction_push(driver=driver, kind="note", text=f"Ring twice at {stop.order.reference}", stop=stop)
    at(driver, stop)
    return DriverWorld(driver, client_for(driver.user), stop, instruction, code)


@pytest.fixture
def worlds(dave, erin, oscar) -> dict[str, DriverWorld]:
    return {"dave": world_of(dave, "#1111"), "erin": world_of(erin, "#2222"), "oscar": world_of(oscar, "#3333")}


def url(name: str, **kwargs: Any) -> str:
    return reverse(name, kwargs={"version": "v1", **kwargs})


def scan(api: APIClient, stop: Stop) -> Any:
    body = {"outcome": "failed", "reason_code": "ACCESS_DENIED", "device_time": timezone.now().isoformat()}
    key = f"isolation-{stop.pk}-{id(api)}"
    return api.post(url("driver-scan-create", stop_id=stop.pk), body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def run_is_ones_own(me: DriverWorld, victim: DriverWorld) -> None:
    assert [stop["id"] for stop in victim.api.get(url("driver-run")).json()["stops"]] == [victim.stop.pk]

    response = me.api.get(url("driver-run"))

    assert response.status_code == 200
    assert [stop["id"] for stop in response.json()["stops"]] == [me.stop.pk]
    assert victim.stop.order.reference not in response.content.decode()


def scan_needs_ones_own_stop(me: DriverWorld, victim: DriverWorld) -> None:
    response = scan(me.api, victim.stop)

    assert response.status_code == 404
    assert not ScanEvent.objects.filter(stop=victim.stop).exists()
    assert Stop.objects.get(pk=victim.stop.pk).attempt_count == 0
    assert not ExceptionCase.objects.filter(stop=victim.stop).exists()
    assert scan(victim.api, victim.stop).status_code == 201


def reveal_needs_ones_own_stop(me: DriverWorld, victim: DriverWorld) -> None:
    response = me.api.post(url("driver-access-code-reveal", stop_id=victim.stop.pk))

    assert response.status_code == 404
    assert victim.code not in response.content.decode()
    owner = victim.api.post(url("driver-access-code-reveal", stop_id=victim.stop.pk))
    assert [code["code"] for code in owner.json()["codes"]] == [victim.code]


def call_needs_ones_own_stop(me: DriverWorld, victim: DriverWorld) -> None:
    Driver.objects.filter(pk__in=(me.driver.pk, victim.driver.pk)).update(phone="+13125550123")

    response = me.api.post(url("driver-recipient-call", stop_id=victim.stop.pk))

    assert (response.status_code, response.json()["code"]) == (404, "stop_not_found")
    # The owner gets as far as the phone line (none is set up here): the stop is theirs to call about.
    owner = victim.api.post(url("driver-recipient-call", stop_id=victim.stop.pk))
    assert (owner.status_code, owner.json()["code"]) == (403, "not_placed")


def locations_move_only_oneself(me: DriverWorld, victim: DriverWorld) -> None:
    before = Driver.objects.values("last_latitude", "last_longitude", "last_seen_at").get(pk=victim.driver.pk)
    ping = {"at": timezone.now().isoformat(), "latitude": 41.95, "longitude": -87.70}

    response = me.api.post(url("driver-locations"), {"pings": [ping]}, format="json")

    assert response.status_code == 202
    assert Driver.objects.get(pk=me.driver.pk).last_latitude == pytest.approx(41.95)
    assert Driver.objects.values("last_latitude", "last_longitude", "last_seen_at").get(pk=victim.driver.pk) == before


def instructions_are_ones_own(me: DriverWorld, victim: DriverWorld) -> None:
    theirs = victim.api.get(url("driver-instructions")).json()["instructions"]
    assert [item["id"] for item in theirs] == [victim.instruction.pk]

    response = me.api.get(url("driver-instructions"))

    assert [item["id"] for item in response.json()["instructions"]] == [me.instruction.pk]
    assert victim.instruction.text not in response.content.decode()


def ack_needs_ones_own_instruction(me: DriverWorld, victim: DriverWorld) -> None:
    response = me.api.post(url("driver-instruction-ack", instruction_id=victim.instruction.pk))

    assert response.status_code == 404
    assert DriverInstruction.objects.get(pk=victim.instruction.pk).acked_at is None
    assert victim.api.post(url("driver-instruction-ack", instruction_id=victim.instruction.pk)).status_code == 200


def sign_out_ends_only_ones_own_token(me: DriverWorld, victim: DriverWorld) -> None:
    assert me.api.post(url("driver-sign-out")).status_code == 204

    assert me.api.get(url("driver-reason-codes")).status_code == 401
    assert victim.api.get(url("driver-reason-codes")).status_code == 200


def reason_codes_are_the_same_for_everyone(me: DriverWorld, victim: DriverWorld) -> None:
    mine, theirs = me.api.get(url("driver-reason-codes")), victim.api.get(url("driver-reason-codes"))

    assert (mine.status_code, theirs.status_code) == (200, 200)
    assert mine.json() == theirs.json()  # nothing of a driver's own in it


def language_is_only_ones_own(me: DriverWorld, victim: DriverWorld) -> None:
    mine = me.api.patch(url("driver-me"), {"language": "es"}, format="json")

    assert mine.status_code == 200
    assert mine.json()["name"] == me.driver.user.get_full_name()
    assert Driver.objects.get(pk=me.driver.pk).language == "es"
    assert Driver.objects.get(pk=victim.driver.pk).language == ""
    assert victim.api.get(url("driver-me")).json()["language"] == ""


DRIVER_CHECKS: dict[str, Callable[[DriverWorld, DriverWorld], None]] = {
    "driver-me": language_is_only_ones_own,
    "driver-reason-codes": reason_codes_are_the_same_for_everyone,
    "driver-run": run_is_ones_own,
    "driver-scan-create": scan_needs_ones_own_stop,
    "driver-access-code-reveal": reveal_needs_ones_own_stop,
    "driver-recipient-call": call_needs_ones_own_stop,
    "driver-locations": locations_move_only_oneself,
    "driver-instructions": instructions_are_ones_own,
    "driver-instruction-ack": ack_needs_ones_own_instruction,
    "driver-sign-out": sign_out_ends_only_ones_own_token,
}


@pytest.mark.parametrize("victim", ["erin", "oscar"])
@pytest.mark.parametrize("name", endpoints.names("driver"))
def test_a_driver_cannot_read_or_act_on_another_drivers_things(name, victim, worlds):
    check = DRIVER_CHECKS.get(name)
    assert check is not None, f"{name}: a driver endpoint with no isolation check; add one to DRIVER_CHECKS"
    check(worlds["dave"], worlds[victim])


# --- Depots ---------------------------------------------------------------------------------------------------------


@dataclass
class DepotWorld:
    alice: Any  # Chicago's dispatcher, signed in
    own: ExceptionCase  # a Chicago case
    other: ExceptionCase  # a Milwaukee case
    depot_codes: tuple[str, str]  # (Chicago's, Milwaukee's)


@pytest.fixture
def depots(alice, bob, chicago, milwaukee, dave_stop, oscar_stop) -> DepotWorld:
    for stop in (dave_stop, oscar_stop):
        at(stop.run.driver, stop)  # both on the map: a leak would show Oscar's position
    return DepotWorld(signed_in(alice), escalated(dave_stop), escalated(oscar_stop), (chicago.code, milwaukee.code))


def snapshot_holds_ones_depots_only(world: DepotWorld) -> None:
    response = world.alice.get(url("board-snapshot"))

    body = response.json()
    assert [case["id"] for case in body["cases"]] == [world.own.pk]
    assert list(body["seq"]) == [str(world.own.depot_id)]
    assert [driver["id"] for driver in body["drivers"]] == [world.own.stop.run.driver_id]
    assert body["counters"]["open"] == 1
    assert world.other.order.reference not in response.content.decode()
    assert world.alice.get(url("board-snapshot"), {"depot": world.other.depot_id}).status_code == 404


def case_is_a_404(world: DepotWorld) -> None:
    assert world.alice.get(url("board-case", case_id=world.own.pk)).status_code == 200

    response = world.alice.get(url("board-case", case_id=world.other.pk))

    assert response.status_code == 404
    assert world.other.order.reference not in response.content.decode()


def photo_is_a_404(world: DepotWorld) -> None:
    name = default_storage.save("scans/isolation/box.jpg", ContentFile(b"\xff\xd8\xff"))
    try:
        ScanEvent.objects.filter(pk__in=(world.own.scan_id, world.other.scan_id)).update(photo=name)
        assert world.alice.get(url("board-case-photo", case_id=world.own.pk)).status_code == 200

        response = world.alice.get(url("board-case-photo", case_id=world.other.pk))
    finally:
        default_storage.delete(name)

    assert (response.status_code, response.json()["code"]) == (404, "photo_not_found")


def search_finds_ones_depots_only(world: DepotWorld) -> None:
    for case in (world.own, world.other):
        response = world.alice.get(url("board-search"), {"q": case.order.reference})
        assert response.status_code == 200
        found = [row["id"] for row in response.json()["cases"]]
        assert found == ([world.own.pk] if case == world.own else [])
    assert world.other.order.reference not in response.content.decode()


def waiting_parcels_of_ones_depots_only(world: DepotWorld) -> None:
    for case in (world.own, world.other):
        ExceptionCase.objects.filter(pk=case.pk).update(
            state=ExceptionCase.State.RESOLVED,
            outcome=ExceptionCase.Outcome.RESCHEDULED_LATER,
            outcome_detail={"planned_day": (timezone.now() + dt.timedelta(days=2)).date().isoformat()},
        )
        Order.objects.filter(pk=case.order_id).update(status=Order.Status.RESCHEDULED)
        Stop.objects.filter(pk=case.stop_id).update(status=Stop.Status.RESCHEDULED)

    response = world.alice.get(url("board-waiting"))

    assert [parcel["case_id"] for parcel in response.json()["parcels"]] == [world.own.pk]
    assert world.other.order.reference not in response.content.decode()
    assert world.alice.get(url("board-waiting"), {"depot": world.other.depot_id}).status_code == 404


def driver_route_of_ones_depots_only(world: DepotWorld) -> None:
    own, other = world.own.stop, world.other.stop
    mine = world.alice.get(url("board-driver-route", driver_id=own.run.driver_id))
    assert [stop["stop_id"] for stop in mine.json()["stops"]] == [own.pk]
    theirs = world.alice.get(url("board-driver-route", driver_id=other.run.driver_id))
    assert theirs.status_code == 404
    assert other.order.reference not in theirs.content.decode()


def risky_stops_of_ones_depots_only(world: DepotWorld) -> None:
    for case in (world.own, world.other):
        StopRisk.objects.create(stop_id=case.stop_id, score=0.9, reasons=[{"code": "no_code", "label": "No code"}])
        PreArrivalContact.objects.create(stop_id=case.stop_id, score=0.9, learned={"access_code": True})

    response = world.alice.get(url("board-risky-stops"))

    assert [row["stop_id"] for row in response.json()["stops"]] == [world.own.stop_id]
    assert list(response.json()["dates"]) == [str(world.own.depot_id)]
    assert world.other.order.reference not in response.content.decode()
    assert world.alice.get(url("board-risky-stops"), {"depot": world.other.depot_id}).status_code == 404


def metrics_count_ones_depots_only(world: DepotWorld, name: str = "metrics") -> None:
    own_code, other_code = world.depot_codes

    response = world.alice.get(url(name), {"format": "json"} if name == "metrics-csv" else {})

    assert response.status_code == 200
    assert response.json()["depots"] == [own_code]
    assert response.json()["totals"]["cases"]["opened"] == 1
    assert world.alice.get(url(name), {"depot": other_code}).status_code == 404


DEPOT_CHECKS: dict[str, Callable[[DepotWorld], None]] = {
    "board-snapshot": snapshot_holds_ones_depots_only,
    "board-case": case_is_a_404,
    "board-case-photo": photo_is_a_404,
    "board-search": search_finds_ones_depots_only,
    "board-waiting": waiting_parcels_of_ones_depots_only,
    "board-driver-route": driver_route_of_ones_depots_only,
    "board-risky-stops": risky_stops_of_ones_depots_only,
    "metrics": metrics_count_ones_depots_only,
    "metrics-csv": lambda world: metrics_count_ones_depots_only(world, "metrics-csv"),
}


@pytest.mark.parametrize("name", endpoints.names("depot-read"))
def test_a_dispatcher_reads_nothing_of_another_depot(name, depots):
    check = DEPOT_CHECKS.get(name)
    assert check is not None, f"{name}: a desk read with no isolation check; add one to DEPOT_CHECKS"
    check(depots)


@pytest.mark.parametrize("action", sorted(endpoint.action for endpoint in endpoints.of_kind("case-action")))
def test_a_dispatcher_cannot_act_on_another_depots_case(action, alice, oscar_stop, sends_enqueued):
    make_case, body = recipe(action)
    case = make_case(oscar_stop)  # in the very state where the action would succeed for Milwaukee's dispatcher
    events = CaseEvent.objects.filter(case=case).count()
    messages = Message.objects.filter(conversation__case=case).count()

    response = signed_in(alice).post(
        url(f"board-case-{action}", case_id=case.pk),
        {"version": case.version, **body()},
        content_type="application/json",
    )

    assert response.status_code == 404
    assert response.json()["code"] == "case_not_found"
    after = ExceptionCase.objects.get(pk=case.pk)
    assert (after.version, after.state, after.assigned_to_id) == (case.version, case.state, case.assigned_to_id)
    assert CaseEvent.objects.filter(case=case).count() == events
    assert Message.objects.filter(conversation__case=case).count() == messages
    assert not AccessCredential.objects.filter(address=oscar_stop.order.address).exists()
    assert sends_enqueued == []


@pytest.mark.parametrize("name", endpoints.names("desk-page"))
def test_the_desk_pages_list_only_the_dispatchers_depots(name, depots):
    response = depots.alice.get(reverse(name))

    assert response.status_code == 200
    assert [depot.code for depot in response.context["depots"]] == [depots.depot_codes[0]]
    assert "Milwaukee" not in response.content.decode()


# --- Integrations ---------------------------------------------------------------------------------------------------
# External ids are names within a depot (dispatch/tenancy.py). Each integration endpoint is tried with
# Milwaukee's token naming Chicago's order, recipient and address: Chicago's rows are neither changed nor
# disclosed, and the answer is the one unused ids get.


def plan_import_keeps_off(token: APIClient, stop: Stop, oscar: Driver) -> Any:
    recipient, address = stop.order.recipient, stop.order.address
    order = {
        "reference": stop.order.reference,
        "recipient": {"external_id": recipient.external_id, "name": "Taken Over", "phone": "+14145550100"},
        "address": {
            "external_ref": address.external_ref,
            "line1": "1 Elsewhere St",
            "city": "Chicago",
            "postal_code": "60622",
            "latitude": 41.9,
            "longitude": -87.67,
        },
        "access_codes": [{"kind": "gate", "code": "0000"}],
    }
    today = timezone.localdate(timezone.now(), oscar.depot.time_zone)
    shift = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    plan = {
        "depot": oscar.depot.code,
        "service_date": today.isoformat(),
        "runs": [
            {
                "external_ref": "R-MKE",
                "driver": oscar.user.username,
                "shift_start": shift,
                "shift_end": (timezone.now() + dt.timedelta(hours=8)).isoformat(),
                "stops": [{"sequence": 1, "order": order}],
            }
        ],
    }
    return token.post(url("plan-import"), plan, format="json")


def recipient_import_keeps_off(token: APIClient, stop: Stop, oscar: Driver) -> Any:
    rows = [{"external_id": stop.order.recipient.external_id, "name": "Taken Over", "phone": "+14145550100"}]
    return token.post(url("recipient-import"), {"recipients": rows}, format="json")


INTEGRATION_CHECKS: dict[str, Callable[[APIClient, Stop, Driver], Any]] = {
    "plan-import": plan_import_keeps_off,
    "recipient-import": recipient_import_keeps_off,
}


@pytest.mark.parametrize("name", endpoints.names("integration"))
def test_a_depot_limited_token_changes_and_learns_nothing_of_another_depots_rows(name, milwaukee, dave_stop, oscar):
    send = INTEGRATION_CHECKS.get(name)
    assert send is not None, f"{name}: an integration endpoint with no cross-depot check; add one to INTEGRATION_CHECKS"
    order, recipient, address = dave_stop.order, dave_stop.order.recipient, dave_stop.order.address
    recipient.external_id, address.external_ref = "CHI-R-1", "CHI-A-1"
    recipient.save()
    address.save()
    before = (recipient.name, str(recipient.phone), address.line1, order.recipient_id, order.address_id)
    token = client_for(UserFactory(username="mke-planner"), ApiToken.Kind.INTEGRATION, depot=milwaukee)

    response = send(token, dave_stop, oscar)

    assert response.status_code in (200, 201), response.content
    body = response.content.decode()
    assert "another depot" not in body
    assert "chi-west" not in body
    recipient.refresh_from_db()
    address.refresh_from_db()
    order.refresh_from_db()
    assert (recipient.name, str(recipient.phone), address.line1, order.recipient_id, order.address_id) == before
    assert not AccessCredential.objects.filter(address=address).exists()
    assert Recipient.objects.get(external_id="CHI-R-1", depot=milwaukee).name == "Taken Over"
