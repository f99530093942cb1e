"""Plan import: a depot's day from the planner, all or nothing, idempotent, never touching attempted stops.

Personas: the planner is Chicago's route planner (an integration token); Dave
and Erin drive for Chicago; Oscar drives for Milwaukee (an outsider).
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.models import UniqueConstraint
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from dispatch import crypto
from dispatch.api.plans import (
    PlanAccessCodeInput,
    PlanAddressInput,
    PlanImportView,
    PlanOrderInput,
    PlanRecipientInput,
    PlanRunInput,
    PlanStopInput,
)
from dispatch.models import (
    AccessCredential,
    Address,
    ApiToken,
    DriverInstruction,
    Order,
    Recipient,
    Run,
    Stop,
)
from dispatch.services import plans
from dispatch.services.tokens import api_token_issue
from tests.factories import (
    AccessCredentialFactory,
    AddressFactory,
    OrderFactory,
    RecipientFactory,
    RunFactory,
    StopFactory,
    UserFactory,
    local,
)

pytestmark = pytest.mark.django_db


def _bench_script() -> Any:
    # Loaded by path, as the script it is (bench/ is not a package): the benchmark and this test build
    # their big plans with the same generator.
    path = Path(__file__).resolve().parents[2] / "bench" / "plan_import.py"
    spec = importlib.util.spec_from_file_location("plan_import_bench", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _bench_script()

URL = "/api/v1/plans"
DAY = dt.date(2030, 3, 4)  # far from today: nothing else plans this day


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> str:
    return local(hour, minute, day).isoformat()


def a_stop(
    reference: str,
    sequence: int,
    *,
    customer: str | None = None,
    phone: str = "+13125550142",
    window: tuple[int, int] = (9, 12),
    codes: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    customer = customer or f"C-{reference}"
    order: dict[str, Any] = {
        "reference": reference,
        "window_start": at(window[0]),
        "window_end": at(window[1]),
        "declared_value": "45.00",
        "recipient": {"external_id": customer, "name": f"Customer {customer}", "phone": phone},
        "address": {
            "external_ref": f"A-{customer}",
            "line1": "1450 N Milwaukee Ave",
            "city": "Chicago",
            "postal_code": "60622",
            "latitude": 41.9081,
            "longitude": -87.6755,
        },
    }
    if codes is not None:
        order["access_codes"] = codes
    return {"sequence": sequence, "planned_arrival": at(8, 30 + sequence), "order": order}


def a_run(reference: str, driver: str, stops: list[dict[str, Any]], start: int = 8) -> dict[str, Any]:
    return {"external_ref": reference, "driver": driver, "shift_start": at(start), "shift_end": at(17), "stops": stops}


def a_plan(*runs: dict[str, Any], depot: str = "chi-west") -> dict[str, Any]:
    return {"depot": depot, "service_date": DAY.isoformat(), "runs": list(runs)}


def the_day(dave, erin) -> dict[str, Any]:
    """Dave's run with three stops, Erin's with two."""
    return a_plan(
        a_run(
            "R-DAVE",
            dave.user.username,
            [
                a_stop("LM-1", 1, phone="(312) 555-0142", codes=[{"kind": "gate", "code": "4821#"}]),
                a_stop("LM-2", 2),
                a_stop("LM-3", 3),
            ],
        ),
        a_run("R-ERIN", erin.user.username, [a_stop("LM-4", 1), a_stop("LM-5", 2, customer="C-LM-1")]),
    )


@pytest.fixture
def planner(chicago) -> APIClient:
    """Chicago's route planner: an integration token not limited to a depot."""
    _, key = api_token_issue(user=UserFactory(username="planner"), kind=ApiToken.Kind.INTEGRATION, name="Planner")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def send(client: APIClient, document: Any, **params: str) -> Any:
    query = "?" + "&".join(f"{key}={value}" for key, value in params.items()) if params else ""
    return client.post(URL + query, json.dumps(document), content_type="application/json")


def stops_of(run_ref: str) -> list[tuple[int, str, str]]:
    return list(
        Stop.objects.filter(run__external_ref=run_ref)
        .order_by("sequence")
        .values_list("sequence", "order__reference", "status")
    )


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (Run, Stop, Order, Recipient, Address, AccessCredential)}


def assert_deferred_constraints_hold() -> None:
    # The per-run sequence constraint is checked at commit, which a test transaction never reaches.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


# --- Creating and re-sending a day ----------------------------------------------------------------


def test_an_imported_day_is_scored_for_prevention(planner, dave, erin, eager_tasks, django_capture_on_commit_callbacks):
    from exceptions.models import StopRisk

    with django_capture_on_commit_callbacks(execute=True):
        assert send(planner, the_day(dave, erin)).status_code == 201

    scored = StopRisk.objects.filter(stop__run__service_date=DAY)
    assert sorted(scored.values_list("stop__order__reference", flat=True)) == ["LM-1", "LM-2", "LM-3", "LM-4", "LM-5"]


def test_it_creates_the_day(planner, dave, erin):
    response = send(planner, the_day(dave, erin))

    assert response.status_code == 201, response.json()
    assert response.json() == {
        "depot": "chi-west",
        "service_date": "2030-03-04",
        "dry_run": False,
        "runs": {"created": 2, "updated": 0, "unchanged": 0, "cancelled": 0},
        "stops": {"created": 5, "updated": 0, "unchanged": 0, "cancelled": 0, "kept": 0},
        "orders": {"created": 5, "updated": 0, "unchanged": 0, "kept": 0},
        "recipients": {"created": 4, "updated": 0, "unchanged": 0},
        "addresses": {"created": 4, "updated": 0, "unchanged": 0},
        "access_codes": {"created": 1, "unchanged": 0},
    }
    assert_deferred_constraints_hold()
    assert stops_of("R-DAVE") == [(1, "LM-1", "pending"), (2, "LM-2", "pending"), (3, "LM-3", "pending")]
    assert stops_of("R-ERIN") == [(1, "LM-4", "pending"), (2, "LM-5", "pending")]
    run = Run.objects.get(external_ref="R-DAVE")
    assert (run.driver, run.service_date, run.shift_start, run.plan_version) == (dave, DAY, local(8, 0, DAY), 1)
    order = Order.objects.select_related("recipient", "address").get(reference="LM-1")
    assert order.window_start == local(9, 0, DAY)
    assert str(order.recipient.phone) == "+13125550142"
    assert order.depot.code == "chi-west"
    stop = Stop.objects.get(order=order)
    assert (stop.window_start, stop.window_end, stop.planned_arrival) == (
        local(9, 0, DAY),
        local(12, 0, DAY),
        local(8, 31, DAY),
    )
    # The same recipient under two orders is one row.
    assert Order.objects.get(reference="LM-5").recipient_id == order.recipient_id
    credential = AccessCredential.objects.get(address=order.address)
    assert (credential.kind, credential.secret, credential.source) == ("gate", "4821#", "plan_import")
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM dispatch_accesscredential WHERE id = %s", [credential.pk])
        assert "4821" not in cursor.fetchone()[0]


def test_it_changes_nothing_when_the_same_plan_is_sent_again(planner, dave, erin):
    document = the_day(dave, erin)
    send(planner, document)
    before = row_counts()
    stamps = dict(Stop.objects.values_list("pk", "updated_at"))
    recipient_stamps = dict(Recipient.objects.values_list("pk", "updated_at"))

    response = send(planner, document)

    assert response.status_code == 200
    body = response.json()
    assert body["runs"] == {"created": 0, "updated": 0, "unchanged": 2, "cancelled": 0}
    assert body["stops"] == {"created": 0, "updated": 0, "unchanged": 5, "cancelled": 0, "kept": 0}
    assert body["orders"] == {"created": 0, "updated": 0, "unchanged": 5, "kept": 0}
    assert body["recipients"] == {"created": 0, "updated": 0, "unchanged": 4}
    assert body["addresses"] == {"created": 0, "updated": 0, "unchanged": 4}
    assert body["access_codes"] == {"created": 0, "unchanged": 1}
    assert row_counts() == before
    assert dict(Stop.objects.values_list("pk", "updated_at")) == stamps
    assert dict(Recipient.objects.values_list("pk", "updated_at")) == recipient_stamps
    assert Run.objects.get(external_ref="R-DAVE").plan_version == 1


def test_it_accepts_the_same_phone_written_another_way_as_unchanged(planner, dave, erin):
    document = the_day(dave, erin)
    send(planner, document)
    document["runs"][0]["stops"][0]["order"]["recipient"]["phone"] = "+1 312-555-0142"
    document["runs"][1]["stops"][1]["order"]["recipient"]["phone"] = "312.555.0142"

    response = send(planner, document)

    assert response.json()["recipients"] == {"created": 0, "updated": 0, "unchanged": 4}


# --- Updating a day in place --------------------------------------------------------------------------


def test_it_updates_the_plan_in_place_without_touching_attempted_stops(planner, dave, erin):
    document = the_day(dave, erin)
    send(planner, document)
    # Dave has been to LM-2 already: a failed attempt.
    attempted = Stop.objects.get(order__reference="LM-2")
    Stop.objects.filter(pk=attempted.pk).update(status=Stop.Status.FAILED, attempt_count=1)
    attempted.refresh_from_db()

    dave_stops = document["runs"][0]["stops"]
    dave_stops[0]["order"]["window_start"] = at(13)  # LM-1's window moves
    dave_stops[0]["order"]["window_end"] = at(16)
    dave_stops[1]["sequence"] = 9  # the planner would move LM-2 (attempted: it stays put)
    dave_stops[1]["order"]["declared_value"] = "99.00"
    del dave_stops[2]  # LM-3 leaves the plan
    dave_stops.append(a_stop("LM-6", 3))  # LM-6 joins it

    response = send(planner, document)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["stops"] == {"created": 1, "updated": 1, "unchanged": 2, "cancelled": 1, "kept": 1}
    assert body["orders"] == {"created": 1, "updated": 1, "unchanged": 2, "kept": 1}
    assert_deferred_constraints_hold()
    # LM-3, cancelled, gives its sequence up to LM-6.
    assert stops_of("R-DAVE") == [
        (1, "LM-1", "pending"),
        (2, "LM-2", "failed"),
        (3, "LM-6", "pending"),
        (4, "LM-3", "cancelled"),
    ]
    moved = Stop.objects.get(order__reference="LM-1")
    assert (moved.window_start, moved.window_end) == (local(13, 0, DAY), local(16, 0, DAY))
    assert Order.objects.get(reference="LM-1").window_start == local(13, 0, DAY)
    kept = Stop.objects.get(pk=attempted.pk)
    assert (kept.sequence, kept.status, kept.attempt_count, kept.updated_at) == (2, "failed", 1, attempted.updated_at)
    assert Order.objects.get(reference="LM-2").declared_value == 45  # its order is kept too
    assert Run.objects.get(external_ref="R-DAVE").plan_version == 2
    assert Run.objects.get(external_ref="R-ERIN").plan_version == 1

    # The updated plan sent again changes nothing more.
    again = send(planner, document).json()
    assert again["stops"] == {"created": 0, "updated": 0, "unchanged": 4, "cancelled": 0, "kept": 1}
    assert Run.objects.get(external_ref="R-DAVE").plan_version == 2


def test_it_moves_an_unattempted_stop_to_another_run(planner, dave, erin):
    document = the_day(dave, erin)
    send(planner, document)
    stop_id = Stop.objects.get(order__reference="LM-3").pk
    moving = document["runs"][0]["stops"].pop(2)
    moving["sequence"] = 3
    document["runs"][1]["stops"].append(moving)

    body = send(planner, document).json()

    assert body["stops"]["updated"] == 1
    assert body["stops"]["cancelled"] == 0
    assert_deferred_constraints_hold()
    assert stops_of("R-ERIN")[-1] == (3, "LM-3", "pending")
    assert Stop.objects.get(order__reference="LM-3").pk == stop_id  # the same stop, moved

    # And back again: still one active stop for the order.
    send(planner, the_day(dave, erin))
    assert_deferred_constraints_hold()
    assert Stop.objects.filter(order__reference="LM-3", status__in=Stop.ACTIVE_STATUSES).count() == 1
    assert stops_of("R-DAVE")[2] == (3, "LM-3", "pending")


def test_it_brings_back_a_stop_the_plan_had_dropped(planner, dave, erin):
    document = the_day(dave, erin)
    send(planner, document)
    smaller = copy.deepcopy(document)
    del smaller["runs"][0]["stops"][2]
    assert send(planner, smaller).json()["stops"]["cancelled"] == 1
    assert Stop.objects.get(order__reference="LM-3").status == "cancelled"

    body = send(planner, document).json()

    assert body["stops"] == {"created": 0, "updated": 1, "unchanged": 4, "cancelled": 0, "kept": 0}
    assert Stop.objects.get(order__reference="LM-3").status == "pending"
    assert Stop.objects.filter(order__reference="LM-3").count() == 1


def test_it_numbers_a_mid_day_replan_after_the_stops_already_attempted(planner, dave, erin):
    document = the_day(dave, erin)
    send(planner, document)
    Stop.objects.filter(order__reference="LM-1").update(status=Stop.Status.DELIVERED, attempt_count=1)
    # The planner re-plans what is left, numbered from 1 again.
    document["runs"][0]["stops"] = [a_stop("LM-3", 1), a_stop("LM-2", 2)]

    body = send(planner, document).json()

    assert body["stops"]["kept"] == 1
    assert_deferred_constraints_hold()
    assert stops_of("R-DAVE") == [(1, "LM-1", "delivered"), (2, "LM-3", "pending"), (3, "LM-2", "pending")]


def test_it_cancels_a_run_the_plan_no_longer_has(planner, dave, erin):
    send(planner, the_day(dave, erin))
    only_dave = the_day(dave, erin)
    del only_dave["runs"][1]

    body = send(planner, only_dave).json()

    assert body["runs"] == {"created": 0, "updated": 0, "unchanged": 1, "cancelled": 1}
    assert body["stops"]["cancelled"] == 2
    assert Run.objects.get(external_ref="R-ERIN").status == Run.Status.CANCELLED
    assert {status for _, _, status in stops_of("R-ERIN")} == {"cancelled"}


def test_it_lets_two_runs_trade_drivers(planner, dave, erin):
    document = the_day(dave, erin)
    send(planner, document)
    document["runs"][0]["driver"], document["runs"][1]["driver"] = "erin", "dave"
    document["runs"][1]["shift_end"] = at(18)

    body = send(planner, document).json()

    assert body["runs"] == {"created": 0, "updated": 2, "unchanged": 0, "cancelled": 0}
    assert Run.objects.get(external_ref="R-DAVE").driver == erin
    swapped = Run.objects.get(external_ref="R-ERIN")
    assert (swapped.driver, swapped.shift_start, swapped.shift_end) == (dave, local(8, 0, DAY), local(18, 0, DAY))


def test_it_brings_back_a_run_it_had_cancelled(planner, dave, erin):
    document = the_day(dave, erin)
    send(planner, document)
    send(planner, {**document, "runs": document["runs"][:1]})
    assert Run.objects.get(external_ref="R-ERIN").status == Run.Status.CANCELLED

    body = send(planner, document).json()

    assert body["runs"] == {"created": 0, "updated": 1, "unchanged": 1, "cancelled": 0}
    assert body["stops"]["updated"] == 2
    assert Run.objects.get(external_ref="R-ERIN").status == Run.Status.PLANNED
    assert {status for _, _, status in stops_of("R-ERIN")} == {"pending"}


def test_it_will_not_change_the_driver_of_a_run_under_way(planner, dave, erin):
    document = the_day(dave, erin)
    send(planner, document)
    Run.objects.filter(external_ref="R-DAVE").update(status=Run.Status.IN_PROGRESS)
    document["runs"][0]["driver"] = "erin"
    document["runs"][0]["shift_start"] = at(9)

    response = send(planner, document)

    assert response.json()["fields"] == {"runs[0].driver": ["Run 'R-DAVE' is in progress; its driver cannot change."]}


def test_it_tells_the_driver_of_a_run_in_progress_that_the_route_changed(planner, dave, erin):
    document = the_day(dave, erin)
    send(planner, document)
    Run.objects.filter(external_ref="R-DAVE").update(status=Run.Status.IN_PROGRESS)
    document["runs"][0]["stops"].reverse()
    for sequence, stop in enumerate(document["runs"][0]["stops"], start=1):
        stop["sequence"] = sequence

    send(planner, document)

    assert_deferred_constraints_hold()
    instruction = DriverInstruction.objects.get(driver=dave)
    assert instruction.kind == DriverInstruction.Kind.ROUTE_UPDATED
    assert "4821" not in instruction.text
    assert not DriverInstruction.objects.filter(driver=erin).exists()


def test_it_keeps_recipient_fields_the_plan_leaves_out(planner, dave, erin):
    RecipientFactory(external_id="C-LM-4", name="Ana", language="es", preferred_channel="push", email="a@example.com")

    send(planner, the_day(dave, erin))

    recipient = Recipient.objects.get(external_id="C-LM-4")
    assert (recipient.name, recipient.language, recipient.preferred_channel, recipient.email) == (
        "Customer C-LM-4",
        "es",
        "push",
        "a@example.com",
    )


def test_it_adds_an_access_code_only_if_the_address_does_not_have_it(planner, dave, erin):
    document = the_day(dave, erin)
    send(planner, document)
    address = Address.objects.get(external_ref="A-C-LM-1")
    AccessCredentialFactory(address=address, kind="door", secret="7391")
    document["runs"][0]["stops"][0]["order"]["access_codes"] = [
        {"kind": "gate", "code": "4821#"},  # already stored (encrypted with another IV)
        {"kind": "door", "code": "7391"},  # entered by an admin meanwhile
        {"kind": "door", "code": "4821#"},  # same code, another kind: new
    ]
    document["runs"][1]["stops"][1]["order"]["access_codes"] = [{"kind": "gate", "code": "4821#"}]  # same address

    body = send(planner, document).json()

    assert body["access_codes"] == {"created": 1, "unchanged": 2}
    assert sorted(AccessCredential.objects.filter(address=address).values_list("kind", "secret")) == [
        ("door", "4821#"),
        ("door", "7391"),
        ("gate", "4821#"),
    ]


def test_it_can_validate_without_writing(planner, dave, erin):
    response = send(planner, the_day(dave, erin), dry_run="true")

    assert response.status_code == 200
    assert response.json()["dry_run"] is True
    assert response.json()["stops"]["created"] == 5
    assert row_counts() == {name: 0 for name in row_counts()}


@pytest.mark.parametrize("value", ["ture", "null", "2"])
def test_a_dry_run_flag_it_cannot_read_is_a_400_not_an_import(planner, dave, erin, value):
    response = send(planner, the_day(dave, erin), dry_run=value)

    assert response.status_code == 400
    assert response.json()["fields"]["dry_run"] == ["Must be a valid boolean."]
    assert row_counts() == {name: 0 for name in row_counts()}


# --- Rejected plans ---------------------------------------------------------------------------------


def test_it_rejects_a_plan_with_one_bad_row_and_writes_nothing(planner, dave, erin):
    send(planner, the_day(dave, erin))
    before = row_counts()
    stamps = dict(Stop.objects.values_list("pk", "updated_at"))
    document = the_day(dave, erin)
    document["runs"][0]["stops"][0]["order"].update(window_start=at(14), window_end=at(16))  # must not land
    document["runs"][0]["stops"].append(a_stop("LM-7", 4))
    document["runs"][1]["stops"][1]["order"]["recipient"]["phone"] = "555-12"

    response = send(planner, document)

    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid input.",
        "code": "invalid",
        "fields": {"runs[1].stops[1].order.recipient.phone": ["The phone number entered is not valid."]},
    }
    assert row_counts() == before
    assert dict(Stop.objects.values_list("pk", "updated_at")) == stamps
    assert Order.objects.get(reference="LM-1").window_start == local(9, 0, DAY)


def test_it_reports_every_error_by_its_json_path(planner, dave, erin):
    document = the_day(dave, erin)
    dave_stops = document["runs"][0]["stops"]
    dave_stops[0]["order"]["address"]["latitude"] = 91
    dave_stops[0]["order"]["window_end"] = at(8)  # before its start
    dave_stops[1]["sequence"] = 1  # taken by stops[0]
    del dave_stops[2]["order"]["address"]["city"]
    dave_stops[2]["order"]["recipient"]["language"] = "fr"
    document["runs"][1]["driver"] = "nobody"
    document["runs"][1]["stops"][0]["order"]["reference"] = "LM-1"  # already on Dave's run
    document["runs"][1]["stops"][1]["order"]["access_codes"] = [{"kind": "gate", "code": ""}]

    response = send(planner, document)

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "runs[0].stops[0].order.address.latitude": ["Latitude must be between -90 and 90."],
        "runs[0].stops[0].order.window_end": ["The window must start before it ends."],
        "runs[0].stops[1].sequence": ["Sequence 1 is also used by runs[0].stops[0]."],
        "runs[0].stops[2].order.recipient.language": ['"fr" is not a valid choice. Choose one of: en, es.'],
        "runs[0].stops[2].order.address.city": ["This field is required."],
        "runs[1].driver": ["No driver with username 'nobody'."],
        "runs[1].stops[0].order.reference": [
            "Order LM-1 is also at runs[0].stops[0]: an order is planned once per day."
        ],
        "runs[1].stops[1].order.access_codes[0].code": ["This field may not be blank."],
    }
    assert row_counts() == {name: 0 for name in row_counts()}


def test_it_rejects_a_driver_from_another_depot(planner, dave, erin, oscar):
    document = the_day(dave, erin)
    document["runs"][1]["driver"] = "oscar"

    response = send(planner, document)

    assert response.status_code == 400
    assert response.json()["fields"] == {"runs[1].driver": ["oscar drives for another depot (mke), not chi-west."]}
    assert not Run.objects.exists()


def test_it_rejects_an_unknown_depot_and_a_shift_off_the_service_date(planner, dave, erin):
    response = send(planner, the_day(dave, erin) | {"depot": "nowhere"})
    assert response.json()["fields"] == {"depot": ["No depot with code 'nowhere'."]}

    document = the_day(dave, erin)
    document["runs"][0]["shift_start"] = at(8, day=DAY + dt.timedelta(days=1))
    document["runs"][0]["shift_end"] = at(17, day=DAY + dt.timedelta(days=1))
    response = send(planner, document)
    assert response.json()["fields"] == {
        "runs[0].shift_start": ["The shift must start on the service date, 2030-03-04 in America/Chicago."]
    }


def test_it_rejects_an_order_still_active_on_another_day(planner, dave, erin, milwaukee):
    theirs = OrderFactory(reference="LM-4", depot=milwaukee)  # another depot's LM-4: not this plan's
    earlier = RunFactory(driver=dave, service_date=DAY - dt.timedelta(days=1), external_ref="R-YESTERDAY")
    StopFactory(run=earlier, order__reference="LM-2", status=Stop.Status.FAILED, attempt_count=1)

    response = send(planner, the_day(dave, erin))

    assert response.json()["fields"] == {
        "runs[0].stops[1].order.reference": [
            "Order LM-2 already has an active stop on run 'R-YESTERDAY' (2030-03-03); "
            "reschedule or close it before planning the order on another day."
        ],
    }
    assert not Stop.objects.filter(order=theirs).exists()


def test_it_rejects_a_run_reference_used_on_another_day_and_a_double_booked_driver(planner, dave, erin):
    RunFactory(driver=erin, service_date=DAY - dt.timedelta(days=1), external_ref="R-ERIN")
    RunFactory(driver=dave, service_date=DAY, shift_start=local(8, 0, DAY), external_ref="")

    response = send(planner, the_day(dave, erin))

    assert response.json()["fields"] == {
        "runs[0].shift_start": [
            f"dave already has run '#{Run.objects.get(driver=dave).pk}' (chi-west, 2030-03-04) starting at this time."
        ],
        "runs[1].external_ref": ["Run 'R-ERIN' is planned for 2030-03-03; a run reference names one day's run."],
    }


# --- Who may import -------------------------------------------------------------------------------------


def test_it_requires_a_token(dave, erin):
    response = send(APIClient(), the_day(dave, erin))

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_it_refuses_a_driver_token(dave, erin):
    _, key = api_token_issue(user=dave.user, kind=ApiToken.Kind.DRIVER, name="Dave's phone")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    response = send(client, the_day(dave, erin))

    assert response.status_code == 403
    assert response.json()["detail"] == "This endpoint is for integrations: use an integration token."
    assert not Run.objects.exists()


def test_it_refuses_a_token_limited_to_another_depot(dave, erin, milwaukee):
    _, key = api_token_issue(
        user=UserFactory(username="mke-planner"), kind=ApiToken.Kind.INTEGRATION, name="MKE", depot=milwaukee
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    response = send(client, the_day(dave, erin))

    assert response.status_code == 403
    assert response.json() == {
        "detail": "This token is limited to depot 'mke'; it cannot import a plan for 'chi-west'.",
        "code": "depot_not_allowed",
    }
    assert not Run.objects.exists()


def test_it_accepts_a_token_limited_to_the_plans_depot(chicago, dave, erin):
    _, key = api_token_issue(
        user=UserFactory(username="chi-planner"), kind=ApiToken.Kind.INTEGRATION, name="CHI", depot=chicago
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    response = send(client, the_day(dave, erin))

    assert response.status_code == 201
    assert (response.json()["depot"], response.json()["runs"]["created"]) == ("chi-west", 2)
    assert stops_of("R-DAVE") == [(1, "LM-1", "pending"), (2, "LM-2", "pending"), (3, "LM-3", "pending")]
    assert stops_of("R-ERIN") == [(1, "LM-4", "pending"), (2, "LM-5", "pending")]
    for model in (Run, Order, Recipient, Address):
        assert set(model.objects.values_list("depot", flat=True)) == {chicago.pk}, model.__name__


@pytest.mark.parametrize("dry_run", [False, True], ids=["import", "dry run"])
def test_another_depots_ids_are_new_names_to_a_depot_limited_token(chicago, milwaukee, dave, dry_run):
    # Milwaukee's recipient, address and order, with the ids the Chicago plan uses.
    theirs = RecipientFactory(depot=milwaukee, external_id="C-77", name="Oren Milwaukee", phone="+14145550188")
    building = AddressFactory(
        depot=milwaukee, external_ref="A-C-77", line1="700 N Water St", building_notes="Ring twice"
    )
    their_order = OrderFactory(reference="LM-1", recipient=theirs, address=building, depot=milwaukee)
    _, key = api_token_issue(
        user=UserFactory(username="chi-planner"), kind=ApiToken.Kind.INTEGRATION, name="CHI", depot=chicago
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    stop = a_stop("LM-1", 1, customer="C-77", phone="+13125550666", codes=[{"kind": "gate", "code": "0000"}])
    stop["order"]["address"]["building_notes"] = "Leave it with the attacker"
    plan = a_plan(a_run("R-DAVE", "dave", [stop]))

    response = client.post(URL + ("?dry_run=1" if dry_run else ""), plan, format="json")

    # The answer is the one ids nobody uses get: everything created, in Chicago.
    assert response.status_code == (200 if dry_run else 201), response.content
    summary = response.json()
    assert [summary[part]["created"] for part in ("orders", "recipients", "addresses", "access_codes")] == [1, 1, 1, 1]
    theirs.refresh_from_db()
    building.refresh_from_db()
    their_order.refresh_from_db()
    assert (theirs.name, str(theirs.phone)) == ("Oren Milwaukee", "+14145550188")
    assert (building.line1, building.building_notes) == ("700 N Water St", "Ring twice")
    assert not AccessCredential.objects.filter(address=building).exists()
    assert (their_order.recipient, their_order.address, their_order.status) == (theirs, building, Order.Status.PENDING)
    assert not their_order.stops.exists()
    if not dry_run:
        ours = Order.objects.get(reference="LM-1", depot=chicago)
        assert (ours.recipient.depot, ours.address.depot) == (chicago, chicago)
        assert (ours.recipient.external_id, str(ours.recipient.phone)) == ("C-77", "+13125550666")


def test_a_token_limited_to_a_depot_updates_its_own_recipient(chicago, dave):
    ours = RecipientFactory(depot=chicago, external_id="CHI-1", name="Old Name")
    OrderFactory(recipient=ours, depot=chicago)
    _, key = api_token_issue(
        user=UserFactory(username="chi-planner"), kind=ApiToken.Kind.INTEGRATION, name="CHI", depot=chicago
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    response = client.post(URL, a_plan(a_run("R-DAVE", "dave", [a_stop("LM-1", 1, customer="CHI-1")])), format="json")

    assert response.status_code == 201, response.content
    ours.refresh_from_db()
    assert ours.name == "Customer CHI-1"


# --- Malformed input is a 400, never a 500 -----------------------------------------------------------


def test_it_answers_malformed_json_with_a_400(planner):
    response = planner.post(URL, '{"depot": "chi-west", "runs": [', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


HEAD = {"depot": "chi-west", "service_date": "2030-03-04"}


@pytest.mark.parametrize(
    ("document", "path", "message"),
    [
        ([], "non_field_errors", "Invalid data. Expected a dictionary, but got list."),
        ("plan", "non_field_errors", "Invalid data. Expected a dictionary, but got str."),
        (HEAD, "runs", "This field is required."),
        ({**HEAD, "runs": []}, "runs", "This list may not be empty."),
        ({**HEAD, "runs": {}}, "runs", 'Expected a list of items but got type "dict".'),
        ({**HEAD, "runs": [[]]}, "runs[0]", "Invalid data. Expected a dictionary, but got list."),
        (
            {**HEAD, "service_date": "04/03/2030", "runs": [{}]},
            "service_date",
            "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
        ),
        ({**HEAD, "depot": None, "runs": [{}]}, "depot", "This field may not be null."),
        ({**HEAD, "depot": ["chi-west"], "runs": [{}]}, "depot", "Not a valid string."),
    ],
)
def test_it_answers_a_document_of_the_wrong_shape_with_a_400(planner, document, path, message):
    response = send(planner, document)

    assert response.status_code == 400
    assert response.json()["fields"][path] == [message]


def test_it_refuses_nan_and_an_oversized_body(planner, dave, erin, monkeypatch):
    document = json.dumps(the_day(dave, erin))
    response = planner.post(URL, document.replace("41.9081", "NaN", 1), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"] == "JSON parse error - NaN is not valid JSON"

    monkeypatch.setattr("dispatch.api.plans.MAX_BODY_BYTES", 1000)
    response = planner.post(URL, document, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert not Run.objects.exists()


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (lambda s: s.update(order="LM-1"), "order", "Invalid data. Expected a dictionary, but got str."),
        (lambda s: s.update(sequence=True), "sequence", "A valid integer is required."),
        (lambda s: s.update(sequence="2.5"), "sequence", "A valid integer is required."),
        (lambda s: s.update(sequence=0), "sequence", "Ensure this value is greater than or equal to 1."),
        (lambda s: s.update(planned_arrival="2030-03-04T08:00:00"), "planned_arrival",
         "Include the UTC offset, e.g. 2026-11-21T08:00:00-06:00 or 2026-11-21T14:00:00Z."),
        (lambda s: s.update(planned_arrival="tomorrow"), "planned_arrival", plans.DATETIME_FORMAT_MESSAGE),
        (lambda s: s["order"].update(reference="LM 1"), "order.reference",
         "Use letters, digits, dots, dashes or slashes, e.g. LM-88204."),
        (lambda s: s["order"].update(reference="LM-\x00"), "order.reference", "Null characters are not allowed."),
        (lambda s: s["order"].update(declared_value="12.345"), "order.declared_value",
         "Ensure that there are no more than 2 decimal places."),
        (lambda s: s["order"].update(declared_value="NaN"), "order.declared_value", "A valid number is required."),
        (lambda s: s["order"].update(declared_value=-1), "order.declared_value",
         "Ensure this value is greater than or equal to 0."),
        (lambda s: s["order"].update(signature_required="maybe"), "order.signature_required",
         "Must be a valid boolean."),
        (lambda s: s["order"].pop("window_end"), "order.window_end",
         "Give both window_start and window_end, or neither."),
        (lambda s: s["order"]["address"].update(longitude="east"), "order.address.longitude",
         "A valid number is required."),
        (lambda s: s["order"]["address"].update(country="USA"), "order.address.country",
         "Ensure this field has no more than 2 characters."),
        (lambda s: s["order"]["recipient"].update(email="not-an-email"), "order.recipient.email",
         "Enter a valid email address."),
        (lambda s: s["order"].update(access_codes={"kind": "gate"}), "order.access_codes",
         'Expected a list of items but got type "dict".'),
        (lambda s: s["order"].update(access_codes=[{"kind": "gate", "code": "1", "valid_from": "2030-03-05T00:00Z",
                                                     "valid_to": "2030-03-04T00:00Z"}]),
         "order.access_codes[0].valid_to", "The validity must start before it ends."),
    ],
)  # fmt: skip
def test_it_reports_a_bad_value_at_its_path(planner, dave, erin, change, path, message):
    document = the_day(dave, erin)
    change(document["runs"][1]["stops"][0])

    response = send(planner, document)

    assert response.status_code == 400
    assert response.json()["fields"] == {f"runs[1].stops[0].{path}": [message]}


def test_it_clears_a_window_sent_as_null(planner, dave, erin):
    document = the_day(dave, erin)
    send(planner, document)
    document["runs"][0]["stops"][0]["order"].update(window_start=None, window_end=None)

    send(planner, document)

    stop = Stop.objects.select_related("order").get(order__reference="LM-1")
    assert (stop.order.window_start, stop.order.window_end, stop.window_start, stop.window_end) == (
        None,
        None,
        None,
        None,
    )


# --- Size ------------------------------------------------------------------------------------------------


def test_it_imports_a_10000_stop_plan(planner, chicago, dave, erin):
    document = bench.plan_document(
        depot="chi-west", service_date=DAY, drivers=["dave", "erin"], stops=10_000, prefix="T"
    )

    with CaptureQueriesContext(connection) as captured:
        response = send(planner, document)

    assert response.status_code == 201, str(response.json())[:2000]
    body = response.json()
    assert body["stops"]["created"] == 10_000
    assert body["orders"]["created"] == 10_000
    assert body["recipients"]["created"] == 9_000
    assert body["access_codes"]["created"] == 2_000
    assert Stop.objects.filter(run__depot=chicago).count() == 10_000
    assert_deferred_constraints_hold()
    # Batched writes: a query per row would be tens of thousands (its speed is measured in bench/plan_import.py).
    assert len(captured.captured_queries) < 500, len(captured.captured_queries)

    updated = bench.plan_document_updated(document, prefix="T")
    body = send(planner, updated).json()
    assert "stops" in body, body
    assert body["stops"]["cancelled"] == 100
    assert body["stops"]["created"] == 100
    assert_deferred_constraints_hold()


def test_it_reads_the_database_a_bounded_number_of_times(planner, dave, erin, django_assert_max_num_queries):
    small = the_day(dave, erin)
    bigger = bench.plan_document(depot="chi-west", service_date=DAY, drivers=["dave", "erin"], stops=400, prefix="Q")
    with django_assert_max_num_queries(40):
        send(planner, small)
    with django_assert_max_num_queries(40):
        send(planner, bigger)


# --- Documentation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("serializer", "spec"),
    [
        (PlanRunInput, {**plans.RUN_FIELDS, "stops": plans._F(plans._text(1), required=True)}),
        (PlanStopInput, {**plans.STOP_FIELDS, "order": plans._F(plans._text(1), required=True)}),
        (
            PlanOrderInput,
            {
                **plans.ORDER_FIELDS,
                "recipient": plans._F(plans._text(1), required=True),
                "address": plans._F(plans._text(1), required=True),
                "access_codes": plans._F(plans._text(1)),
            },
        ),
        (PlanRecipientInput, plans.RECIPIENT_FIELDS),
        (PlanAddressInput, plans.ADDRESS_FIELDS),
        (PlanAccessCodeInput, plans.ACCESS_CODE_FIELDS),
        (
            PlanImportView.InputSerializer,
            {
                "depot": plans._F(plans._text(1), required=True),
                "service_date": plans._F(plans._date, required=True),
                "runs": plans._F(plans._text(1), required=True),
            },
        ),
    ],
)
def test_it_documents_exactly_the_fields_it_validates(serializer, spec):
    fields = serializer().fields
    assert set(fields) == set(spec)
    assert {name for name, field in fields.items() if field.required} == {
        name for name, field in spec.items() if field.required
    }


def test_it_describes_the_plan_endpoints_in_the_schema(admin_client):
    response = admin_client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = json.loads(response.content)
    operation = schema["paths"]["/api/v1/plans"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PlanImportRequest"
    }
    assert set(operation["responses"]) >= {"200", "201", "400", "401", "403", "409"}
    stop = schema["components"]["schemas"]["PlanStopRequest"]
    assert "after the last attempted one" in stop["properties"]["sequence"]["description"]
    recipients = schema["paths"]["/api/v1/recipients/import"]["post"]["requestBody"]["content"]
    assert set(recipients) == {"application/json", "text/csv"}


def test_it_defers_the_constraint_it_names():
    [constraint] = [c for c in Stop._meta.constraints if c.name == plans.SEQUENCE_CONSTRAINT]
    assert isinstance(constraint, UniqueConstraint)
    assert constraint.deferrable is not None


def test_it_stores_the_secret_encrypted_and_readable(planner, dave, erin):
    send(planner, the_day(dave, erin))
    stored = AccessCredential.objects.values_list("secret", flat=True).get()
    assert stored == "4821#"
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM dispatch_accesscredential")
        assert crypto.decrypt(cursor.fetchone()[0]) == "4821#"
