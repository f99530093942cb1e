"""The board's events: each change sends the case's row to its depot's board, numbered, after commit; a
rolled-back change sends nothing and takes no number; the sweep sends every breached case; a locked case's
row costs no query.

Alice dispatches at Chicago, Carol too; Dave drives for Chicago.
Cases are opened by failed scans through the driver's service
and worked through the real workflow, with outreach and routing recorded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dispatch import realtime
from exceptions import board, workflow
from exceptions.board import payloads
from exceptions.models import ExceptionCase
from tests.factories import StopFactory
from tests.helpers import escalated, fail, triaged

State = ExceptionCase.State
pytestmark = pytest.mark.usefixtures("outreach", "routing", "triage_enqueued")


# --- Events ---------------------------------------------------------------------------------------------------------


def depot_messages(depot_id: int, run: Any) -> list[dict[str, Any]]:
    """What a depot's board group receives while ``run`` runs (its sends executed on commit)."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(realtime.depot_group(depot_id), channel)
    received = []
    try:
        run()

        async def drain() -> None:
            import asyncio

            while True:
                try:
                    received.append(await asyncio.wait_for(layer.receive(channel), timeout=0.3))
                except TimeoutError:
                    return

        async_to_sync(drain)()
    finally:
        async_to_sync(layer.group_discard)(realtime.depot_group(depot_id), channel)
    return received


def test_each_change_sends_the_cases_row_numbered_after_commit(
    alice, chicago, dave_stop, django_capture_on_commit_callbacks
):
    case = escalated(dave_stop)
    start = realtime.board_seq_current([chicago.pk])[chicago.pk]

    def click() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            workflow.case_call_mark(case_id=case.pk, user=alice, version=case.version, note="voicemail")
        with django_capture_on_commit_callbacks(execute=True):
            workflow.case_assign(case_id=case.pk, user=alice, version=case.version + 1, assignee=alice)

    first, second = depot_messages(chicago.pk, click)

    assert (first["type"], first["depot_id"], first["seq"], second["seq"]) == (
        "case.changed",
        chicago.pk,
        start + 1,
        start + 2,
    )
    assert second["payload"] == board.case_row_get(case_id=case.pk)
    assert first["payload"]["last_summary"] == "Called the recipient. voicemail"


def test_a_rolled_back_change_sends_nothing_and_takes_no_number(alice, chicago, dave_stop):
    case = escalated(dave_stop)
    start = realtime.board_seq_current([chicago.pk])[chicago.pk]

    def click_then_fail() -> None:
        with transaction.atomic():
            workflow.case_call_mark(case_id=case.pk, user=alice, version=case.version)
            raise RuntimeError("rolled back")

    def rolled_back() -> None:
        with pytest.raises(RuntimeError):
            click_then_fail()

    assert depot_messages(chicago.pk, rolled_back) == []
    assert realtime.board_seq_current([chicago.pk])[chicago.pk] == start


def test_the_sweep_sends_every_breached_case_with_consecutive_numbers(
    chicago, dave_stop, django_capture_on_commit_callbacks
):
    cases = [triaged(fail(StopFactory(run=dave_stop.run))) for _ in range(3)]
    start = realtime.board_seq_current([chicago.pk])[chicago.pk]

    def sweep() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            workflow.case_timers_sweep(now=timezone.now() + dt.timedelta(minutes=31))

    messages = depot_messages(chicago.pk, sweep)
    breached = [message for message in messages if message["payload"]["sla_breached"]]

    assert {message["payload"]["id"] for message in breached} == {case.pk for case in cases}
    assert [message["seq"] for message in messages] == list(range(start + 1, start + 1 + len(messages)))
    assert all(message["payload"]["state"] == State.ESCALATED for message in breached)


def test_the_row_of_a_locked_case_costs_no_query(dave_stop, carol):
    case = escalated(dave_stop)
    ExceptionCase.objects.filter(pk=case.pk).update(assigned_to=carol)
    locked = (
        ExceptionCase.objects.select_related(*workflow.CASE_RELATED).filter(pk=case.pk).get()
    )  # what the workflow's lock loads

    with CaptureQueriesContext(connection) as queries:
        row = payloads.case_row_of(locked, last_summary="x")

    assert queries.captured_queries == []
    assert {**row, "last_summary": ""} == {**(board.case_row_get(case_id=case.pk) or {}), "last_summary": ""}
    assert row["assigned_to"] == "carol"
