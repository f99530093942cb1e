"""Plan import, accepted: a depot's new day is created whole, scored for prevention, its access codes
stored encrypted; a dry run validates without writing; a 10,000-stop plan goes in with batched writes.

Personas: the planner is Chicago's route planner (an integration token); Dave
and Erin drive for Chicago.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dispatch import crypto
from dispatch.models import AccessCredential, Order, Run, Stop
from tests.dispatch.plans import DAY, assert_deferred_constraints_hold, row_counts, send, stops_of, the_day
from tests.factories import local

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


# --- Creating a day ---------------------------------------------------------------------------------------------------


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


def test_it_stores_the_secret_encrypted_and_readable(planner, dave, erin):
    send(planner, the_day(dave, erin))
    stored = AccessCredential.objects.values_list("secret", flat=True).get()
    assert stored == "4821#"
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM dispatch_accesscredential")
        assert crypto.decrypt(cursor.fetchone()[0]) == "4821#"


def test_it_can_validate_without_writing(planner, dave, erin):
    response = send(planner, the_day(dave, erin), dry_run="true")

    assert response.status_code == 200
    assert response.json()["dry_run"] is True
    assert response.json()["stops"]["created"] == 5
    assert row_counts() == {name: 0 for name in row_counts()}


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
