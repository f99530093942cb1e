"""Plan import, re-sent and changed plans: the same plan again changes nothing; a changed plan updates
the day in place (windows, cleared windows, sequences, runs and drivers, cancelled and returning stops), never touching
attempted stops, and tells the driver of a run under way that the route changed.

Personas: the planner is Chicago's route planner (an integration token); Dave
and Erin drive for Chicago.
"""

from __future__ import annotations

import copy

import pytest

from dispatch.models import AccessCredential, Address, DriverInstruction, Order, Recipient, Run, Stop
from tests.dispatch.plans import DAY, a_stop, assert_deferred_constraints_hold, at, row_counts, send, stops_of, the_day
from tests.factories import AccessCredentialFactory, RecipientFactory, local

pytestmark = pytest.mark.django_db


# --- Re-sending a day -------------------------------------------------------------------------------------------------


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
