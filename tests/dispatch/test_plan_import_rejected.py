"""Plan import, rejected plans: one bad row rejects the whole plan and writes nothing; every error is
reported at its JSON path (unknown depots and drivers, another depot's driver, shifts off the service date,
orders active on another day, run references of another day, double-booked drivers).

Personas: the planner is Chicago's route planner (an integration token); Dave
and Erin drive for Chicago; Oscar drives for Milwaukee (an outsider).
"""

from __future__ import annotations

import datetime as dt

import pytest

from dispatch.models import Order, Run, Stop
from tests.dispatch.plans import DAY, a_stop, at, row_counts, send, the_day
from tests.factories import OrderFactory, RunFactory, StopFactory, local

pytestmark = pytest.mark.django_db


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
