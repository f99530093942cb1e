"""Requests nobody answered (``exceptions.analytics.requests``): a request filed after its case ended, as the
workflow filed them until it heard them, counts; the same request through Twilio's webhook now reopens the
case and does not; neither do requests an open case took, replies that ask for nothing, another depot's,
or another day's (a depot's local day). One query counts them.

Dave drives for Chicago, Oscar for Milwaukee; Alice dispatches at Chicago.
Cases are opened by failed scans through the driver's service and worked through the real workflow; the
recipient answers through the inbound webhook.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dispatch.models import Stop
from exceptions import workflow
from exceptions.analytics.requests import unanswered_requests
from exceptions.models import CaseEvent, ExceptionCase
from tests.clock import TODAY, local
from tests.factories import RunFactory, StopFactory
from tests.helpers import DESK_NUMBER, fail, reload, signed_in, triaged, twilio_post

State = ExceptionCase.State
TOMORROW = TODAY + dt.timedelta(days=1)
pytestmark = pytest.mark.usefixtures("triage_enqueued", "signed")


def texted(client: Any, stop: Stop, body: str) -> None:
    """The recipient of the stop's order texts the desk, through Twilio's signed webhook."""
    params = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": str(stop.order.recipient.phone), "To": DESK_NUMBER}
    assert twilio_post(client, "/outreach/twilio/inbound", {**params, "Body": body}).status_code == 200


def returned(stop: Stop, alice: Any) -> ExceptionCase:
    """The recipient was texted; nobody answered in time and Alice sent the parcel back: the case ended."""
    case = triaged(fail(stop))
    case = workflow.case_return_to_sender(case_id=case.pk, user=alice, version=case.version)
    assert case.state == State.RESOLVED
    return case


def filed_as_before(case: ExceptionCase, intent: str, **reading: str) -> None:
    """A late reply as the workflow wrote it until it heard them: a line on the ended case, nothing done."""
    workflow.case_event_record(
        case_id=case.pk,
        kind=CaseEvent.Kind.UNDERSTANDING,
        actor=CaseEvent.Actor.AUTOMATION,
        summary=f"Late reply ({intent}) after the case ended",
        payload={"intent": intent, "code": "", "window_start": None, "window_end": None, "detail": "", **reading},
    )


def unanswered(depots: list[Any], day: dt.date = TODAY) -> int:
    return unanswered_requests(depot_ids=[depot.pk for depot in depots], date_from=day, date_to=day)


@pytest.mark.parametrize(
    ("intent", "reading", "counted"),
    [
        ("CALL_REQUEST", {}, 1),
        ("REFUSE", {}, 1),
        ("ACCESS_CODE", {"code": "••••"}, 1),
        ("RESCHEDULE", {"window_start": "2026-11-18T14:00:00-06:00"}, 1),
        ("DIRECTIONS", {"detail": "the side door on Elm"}, 1),
        ("ACCESS_CODE", {}, 0),
        ("RESCHEDULE", {}, 0),
        ("DIRECTIONS", {}, 0),
        ("UNCLEAR", {}, 0),
        ("OPT_OUT", {}, 0),
    ],
)
def test_a_late_request_filed_as_before_counts_as_unanswered(chicago, alice, dave_stop, intent, reading, counted):
    case = returned(dave_stop, alice)

    filed_as_before(case, intent, **reading)

    assert unanswered([chicago]) == counted
    # The metrics API's totals carry the same count, and the CSV a column of it.
    metrics = signed_in(alice).get("/api/v1/metrics", {"from": TODAY.isoformat(), "to": TODAY.isoformat()}).json()
    assert metrics["totals"]["cases"]["unanswered_requests"] == counted


def test_the_same_late_request_through_the_webhook_is_answered(client, chicago, alice, dave_stop):
    case = returned(dave_stop, alice)

    texted(client, dave_stop, "please call me")

    assert reload(case).state == State.ESCALATED
    assert case.events.get(kind=CaseEvent.Kind.UNDERSTANDING).payload["heard"] == "reopened"
    assert unanswered([chicago]) == 0


def test_replies_that_ask_for_nothing_or_reached_an_open_case_are_not_counted(client, chicago, alice, dave_stop):
    case = triaged(fail(dave_stop))
    texted(client, dave_stop, "please call me")  # to the open case
    case = workflow.case_return_to_sender(case_id=case.pk, user=alice, version=reload(case).version)

    texted(client, dave_stop, "thanks!")
    filed_as_before(case, "UNCLEAR")
    filed_as_before(case, "RESCHEDULE")  # a time to come back, without the time: not a request

    assert case.events.filter(kind=CaseEvent.Kind.UNDERSTANDING).count() == 4
    assert unanswered([chicago]) == 0


def test_a_request_counts_on_its_depots_local_day_and_for_its_depot_only(
    chicago, milwaukee, alice, bob, dave_stop, oscar_stop
):
    chicago_case, milwaukee_case = returned(dave_stop, alice), returned(oscar_stop, bob)
    # 23:30 on Wednesday in Chicago is already Thursday in UTC.
    with time_machine.travel(local(23, 30), tick=False):
        filed_as_before(chicago_case, "REFUSE")
    with time_machine.travel(local(9, 0, TOMORROW), tick=False):
        filed_as_before(milwaukee_case, "SAFE_DROP")

    assert (unanswered([chicago]), unanswered([chicago], TOMORROW)) == (1, 0)
    assert (unanswered([milwaukee]), unanswered([milwaukee], TOMORROW)) == (0, 1)
    both = unanswered_requests(depot_ids=[chicago.pk, milwaukee.pk], date_from=TODAY, date_to=TOMORROW)
    assert both == 2


def test_one_query_counts_them_however_many(chicago, alice, dave):
    run = RunFactory(driver=dave)
    for _ in range(3):
        filed_as_before(returned(StopFactory(run=run), alice), "CALL_REQUEST")

    with CaptureQueriesContext(connection) as queries:
        assert unanswered([chicago]) == 3

    # The depots' time zones, then the count.
    assert len(queries) == 2
