"""The board's REST API, who may use it and the snapshot: dispatchers only, each to their depots' cases
(another depot's case is a 404, a session's POST needs its CSRF token); the snapshot's cases, drivers,
order, filters and counters, in the same few queries however many cases.

Alice dispatches at Chicago; Dave drives for Chicago (Erin too), Oscar for Milwaukee.
Cases are opened by failed scans through the driver's service
and worked through the real workflow, with outreach and routing recorded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from exceptions import board, workflow
from exceptions.models import ExceptionCase, ReplyIntent
from exceptions.workflow import Understanding
from tests.factories import StopFactory
from tests.helpers import SNAPSHOT, act, at, case_url, escalated, fail, signed_in, triaged

State = ExceptionCase.State
pytestmark = pytest.mark.usefixtures("outreach", "routing", "triage_enqueued")


# --- Who may use the board ------------------------------------------------------------------------------------------


def test_it_refuses_anyone_not_signed_in_and_drivers(dave, dave_stop):
    case = fail(dave_stop)
    before, events = ExceptionCase.objects.values().get(pk=case.pk), case.events.count()
    for client, code in ((Client(), "not_authenticated"), (signed_in(dave.user), "permission_denied")):
        snapshot = client.get(SNAPSHOT)
        assert snapshot.status_code == 403
        panel = client.get(case_url(case))
        assert panel.status_code == 403
        call = act(client, case, "call")
        assert call.status_code == 403
        assert [response.json()["code"] for response in (snapshot, panel, call)] == [code] * 3
        assert "cases" not in snapshot.json()
    assert ExceptionCase.objects.values().get(pk=case.pk) == before
    assert case.events.count() == events


def test_another_depots_case_is_a_404_to_read_and_to_act_on(alice_client, oscar_stop):
    case = escalated(oscar_stop)

    assert alice_client.get(case_url(case)).status_code == 404
    response = act(alice_client, case, "return", note="not ours")
    assert response.status_code == 404
    assert response.json()["code"] == "case_not_found"
    assert ExceptionCase.objects.get(pk=case.pk).state == State.ESCALATED
    assert alice_client.get(f"{case_url(case)}0000000000000000000000").status_code == 404


def test_a_session_post_needs_the_csrf_token(alice, dave_stop):
    case = escalated(dave_stop)
    client = signed_in(alice, csrf=True)

    refused = act(client, case, "call", note="no answer")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]

    client.get("/board/")  # the page sets the token's cookie
    token = client.cookies["csrftoken"].value
    body = {"version": ExceptionCase.objects.get(pk=case.pk).version}
    accepted = client.post(case_url(case, "call"), body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 200


# --- The snapshot ---------------------------------------------------------------------------------------------------


def test_the_snapshot_holds_the_dispatchers_depots_only(alice_client, chicago, dave, dave_stop, oscar_stop):
    at(dave, dave_stop)
    ours = fail(dave_stop)
    fail(oscar_stop)

    body = alice_client.get(SNAPSHOT).json()

    assert [row["id"] for row in body["cases"]] == [ours.pk]
    assert set(body["seq"]) == {str(chicago.pk)}
    assert [driver["id"] for driver in body["drivers"]] == [dave.pk]
    assert (body["drivers"][0]["name"], body["drivers"][0]["lat"]) == (str(dave.user), dave.last_latitude)
    row = body["cases"][0]
    assert row == board.case_row_get(case_id=ours.pk)
    assert (row["driver_id"], row["driver_name"], row["order_reference"]) == (
        dave.pk,
        str(dave.user),
        dave_stop.order.reference,
    )
    assert (row["lat"], row["lng"]) == (dave_stop.order.address.latitude, dave_stop.order.address.longitude)
    assert row["last_summary"] == "Failed scan: ACCESS_DENIED"


def test_the_queue_is_sorted_by_priority_then_the_sla_clock(alice_client, dave):
    run = StopFactory(run__driver=dave).run
    cases = [triaged(fail(StopFactory(run=run))) for _ in range(3)]
    now = timezone.now()
    ExceptionCase.objects.filter(pk=cases[0].pk).update(priority=3, sla_due_at=now + dt.timedelta(minutes=5))
    ExceptionCase.objects.filter(pk=cases[1].pk).update(priority=1, sla_due_at=now + dt.timedelta(minutes=50))
    ExceptionCase.objects.filter(pk=cases[2].pk).update(priority=3, sla_due_at=now + dt.timedelta(minutes=1))

    ids = [row["id"] for row in alice_client.get(SNAPSHOT).json()["cases"]]

    assert ids == [cases[1].pk, cases[2].pk, cases[0].pk]


def test_the_snapshot_filters_by_state_reason_driver_age_and_depot(alice, chicago, dave, erin, dave_stop):
    waiting = triaged(fail(dave_stop, "RECIPIENT_ABSENT"))
    with_human = escalated(StopFactory(run__driver=erin))
    ExceptionCase.objects.filter(pk=with_human.pk).update(opened_at=timezone.now() - dt.timedelta(minutes=45))
    client = signed_in(alice)

    def ids(**params: Any) -> list[int]:
        response = client.get(SNAPSHOT, params)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["cases"]]

    assert ids(state="escalated") == [with_human.pk]
    assert sorted(ids(state="escalated,awaiting_recipient")) == sorted([waiting.pk, with_human.pk])
    assert ids(reason="RECIPIENT_ABSENT") == [waiting.pk]
    assert ids(driver=erin.pk) == [with_human.pk]
    assert ids(age=30) == [with_human.pk]
    assert sorted(ids(depot=chicago.pk)) == sorted([waiting.pk, with_human.pk])


def test_the_snapshot_explains_bad_filters(alice_client, milwaukee):
    response = alice_client.get(SNAPSHOT, {"state": "resolved,bogus", "age": "-3", "driver": "x"})

    assert response.status_code == 400
    fields = response.json()["fields"]
    assert set(fields) == {"state", "age", "driver"}
    assert "Not an open state: resolved, bogus" in fields["state"][0]
    assert alice_client.get(SNAPSHOT, {"depot": milwaukee.pk}).status_code == 404


def test_the_counters_count_open_escalated_breaching_and_auto_resolved_today(alice, alice_client, dave, dave_stop):
    run = dave_stop.run
    triaged(fail(dave_stop))
    escalated(StopFactory(run=run))
    late = triaged(fail(StopFactory(run=run)))
    ExceptionCase.objects.filter(pk=late.pk).update(sla_due_at=timezone.now() - dt.timedelta(minutes=1))
    # Resolved today: one by a rule (no dispatcher), one by Alice; one resolved yesterday.
    by_rule = triaged(fail(StopFactory(run=run)))
    workflow.case_reply_apply(case_id=by_rule.pk, understood=Understanding(intent=ReplyIntent.PICKUP_POINT))
    by_alice = triaged(fail(StopFactory(run=run)))
    workflow.case_return_to_sender(case_id=by_alice.pk, user=alice, version=by_alice.version)
    yesterday = triaged(fail(StopFactory(run=run)))
    workflow.case_reply_apply(case_id=yesterday.pk, understood=Understanding(intent=ReplyIntent.PICKUP_POINT))
    ExceptionCase.objects.filter(pk=yesterday.pk).update(resolved_at=timezone.now() - dt.timedelta(days=1))

    with CaptureQueriesContext(connection) as queries:
        counters = alice_client.get(SNAPSHOT, {"state": "escalated"}).json()["counters"]

    assert counters == {"open": 3, "escalated": 1, "breaching": 1, "auto_resolved_today": 1}
    assert sum("exceptions_exceptioncase" in query["sql"] for query in queries.captured_queries) == 2


def test_the_snapshot_runs_the_same_few_queries_however_many_cases(alice_client, dave):
    run = StopFactory(run__driver=dave).run

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert alice_client.get(SNAPSHOT).status_code == 200
        return len(captured.captured_queries)

    fail(StopFactory(run=run))
    before = queries()
    for _ in range(10):
        escalated(StopFactory(run=run))
    assert queries() == before
