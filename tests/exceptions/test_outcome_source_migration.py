"""The migration that records whose choice a case's outcome is: cases decided before it get the source their row
allows (a dispatcher who touched it; the recipient, when their last reply leads to that outcome; the driver, for
a delivery on a retry nobody asked for; else automation), and undecided cases none."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BEFORE = ("exceptions", "0012_prevention_daily_share")
AFTER = ("exceptions", "0013_case_outcome_source")


def migrate(target: tuple[str, str]) -> Any:
    """The exceptions app to ``target``, every other app as it is: their models as they stand then."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    targets = [node for node in executor.loader.graph.leaf_nodes() if node[0] != target[0]] + [target]
    executor.migrate([target])
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_apps():
    apps = migrate(BEFORE)
    yield apps
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_it_gives_each_decided_case_the_source_its_row_allows(old_apps):
    model = {name: old_apps.get_model("dispatch", name) for name in ("Depot", "User", "Driver", "Run", "Stop")}
    model |= {name: old_apps.get_model("dispatch", name) for name in ("Recipient", "Address", "Order", "ScanEvent")}
    model["ReasonCode"] = old_apps.get_model("dispatch", "ReasonCode")
    ExceptionCase = old_apps.get_model("exceptions", "ExceptionCase")
    now = timezone.now()
    depot = model["Depot"].objects.create(
        code="chi-west", name="Chicago", time_zone="America/Chicago", latitude=41.88, longitude=-87.66
    )
    driver = model["Driver"].objects.create(user=model["User"].objects.create(username="dave"), depot=depot)
    shift = {"shift_start": now, "shift_end": now + dt.timedelta(hours=8)}
    run = model["Run"].objects.create(depot=depot, driver=driver, service_date=now.date(), **shift)
    absent = model["ReasonCode"].objects.get(code="RECIPIENT_ABSENT")

    def case(name: str, **fields: Any) -> None:
        recipient = model["Recipient"].objects.create(depot=depot, name=name)
        address = model["Address"].objects.create(
            depot=depot, line1=f"{name} Main St", city="Chicago", postal_code="60622", latitude=41.9, longitude=-87.6
        )
        order = model["Order"].objects.create(reference=name, depot=depot, recipient=recipient, address=address)
        stop = model["Stop"].objects.create(run=run, order=order, sequence=model["Stop"].objects.count() + 1)
        scan = model["ScanEvent"].objects.create(
            stop=stop, driver=driver, outcome="failed", reason_code=absent, device_time=now, idempotency_key=name
        )
        ExceptionCase.objects.create(depot=depot, stop=stop, order=order, scan=scan, reason_code=absent, **fields)

    resolved = {"state": "resolved", "resolved_at": now}
    case("touched", outcome="rescheduled_later", last_intent="RESCHEDULE", touched_by_dispatcher=True, **resolved)
    case("asked", outcome="rescheduled_later", last_intent="RESCHEDULE", **resolved)
    case("silent", outcome="rescheduled_same_day", **resolved)
    case("coming-down", outcome="delivered_on_retry", last_intent="AVAILABLE_NOW", **resolved)
    case("retried", outcome="delivered_on_retry", **resolved)
    case("helped", outcome="rescheduled_later", last_intent="HELP", **resolved)
    case("refused", outcome="returned_to_sender", last_intent="REFUSE", **resolved)
    case("pickup", state="escalated", pending_outcome="pickup_point", last_intent="PICKUP_POINT")
    case("waiting", state="awaiting_recipient", last_intent="UNCLEAR")

    apps = migrate(AFTER)

    sources = dict(
        apps.get_model("exceptions", "ExceptionCase").objects.values_list("order__reference", "outcome_source")
    )
    assert sources == {
        "touched": "dispatcher",
        "asked": "recipient",
        "silent": "playbook",
        "coming-down": "recipient",
        "retried": "driver",
        "helped": "playbook",
        "refused": "playbook",
        "pickup": "recipient",
        "waiting": "",
    }
    cost_model = apps.get_model("exceptions", "CostModel").objects.get(depot__isnull=True)
    assert (str(cost_model.sms_segment_cost), str(cost_model.failed_delivery_cost)) == ("0.0083", "17.20")
