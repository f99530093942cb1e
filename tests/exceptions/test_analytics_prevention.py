"""Prevention in the desk's metrics: texts sent ahead of the driver, replies, useful replies, exceptions prevented.

The day (Chicago, 2026-06-10, CDT = UTC-5). Each stop is risky and was handled
by the pre-arrival sweep at the local time shown:

    stop  text            reply                      first attempt
    P     asked 08:10     the gate code              delivered 10:00          prevented
    F     asked 08:20     a window 14:00-16:00       failed 11:00             useful, not prevented
    N     asked 08:30     nothing we can use         delivered 10:30          a reply, not useful
    X     asked 09:05     a safe place the order     delivered 12:00          a reply, not useful
                          does not allow
    R     asked 09:10     someone is home            failed the day before,   useful, not prevented
                                                     delivered today
    A     asked 09:40     none                       delivered 13:00
    S     not asked       (opted out)                delivered 13:30

Also: Chicago's day before has one prevented stop (Y, asked 08:15), and
Milwaukee has one today (W, asked 08:45); neither counts in Chicago's day.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dispatch.models import Address, Driver, Run, ScanEvent, Stop
from exceptions.analytics import GROUP_BY, useful_reply
from exceptions.models import PreArrivalContact
from tests.factories import (
    AddressFactory,
    OrderFactory,
    PreArrivalContactFactory,
    RunFactory,
    ScanEventFactory,
    StopFactory,
    reason,
)
from tests.helpers import METRICS_DAY, groups, signed_in, summary

pytestmark = pytest.mark.django_db

DAY = METRICS_DAY
BEFORE = DAY - dt.timedelta(days=1)
CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
URL = "/api/v1/metrics"
CODE = {"access_code": True}
WINDOW = {"window": {"start": "2026-06-10T14:00:00-05:00", "end": "2026-06-10T16:00:00-05:00"}}

# What Chicago's day adds up to: P, F, N, X, R and A were texted; S was not.
CHICAGO_DAY = {
    "texts_sent": 6,
    "not_asked": 1,
    "replies": 5,
    "reply_rate": 0.8333,
    "useful_replies": 3,
    "exceptions_prevented": 1,
}
NOTHING = {
    "texts_sent": 0,
    "not_asked": 0,
    "replies": 0,
    "reply_rate": None,
    "useful_replies": 0,
    "exceptions_prevented": 0,
}


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=CHICAGO)


class Day:
    """One driver's runs, with texted stops and their scans, by local times."""

    def __init__(self, driver: Driver) -> None:
        self.driver = driver
        self.runs: dict[dt.date, Run] = {}

    def run(self, day: dt.date) -> Run:
        if day not in self.runs:
            self.runs[day] = RunFactory(driver=self.driver, service_date=day)
        return self.runs[day]

    def stop(self, *, day: dt.date = DAY, order: Any = None, postal_code: str = "60622") -> Stop:
        run = self.run(day)
        order = order or OrderFactory(depot=run.depot, address=AddressFactory(postal_code=postal_code))
        return StopFactory(run=run, order=order)

    def text(self, stop: Stop, when: dt.datetime, learned: dict[str, Any] | None = None) -> PreArrivalContact:
        if learned is None:
            return PreArrivalContactFactory(stop=stop, created_at=when)
        return PreArrivalContactFactory(stop=stop, created_at=when, answered=True, learned=learned)

    def scan(self, stop: Stop, when: dt.datetime, *, delivered: bool = True) -> ScanEvent:
        return ScanEventFactory(
            stop=stop,
            outcome=ScanEvent.Outcome.DELIVERED if delivered else ScanEvent.Outcome.FAILED,
            reason_code=None if delivered else reason("RECIPIENT_ABSENT"),
            received_at=when,
            device_time=when,
        )


@pytest.fixture
def day(chicago, milwaukee, dave, oscar) -> dict[str, Stop]:
    chi = Day(dave)
    stops: dict[str, Stop] = {}

    stops["P"] = chi.stop(postal_code="60607")
    chi.text(stops["P"], at(8, 10), CODE)
    chi.scan(stops["P"], at(10, 0))

    stops["F"] = chi.stop()
    chi.text(stops["F"], at(8, 20), WINDOW)
    chi.scan(stops["F"], at(11, 0), delivered=False)

    stops["N"] = chi.stop()
    chi.text(stops["N"], at(8, 30), {"other": "unclear"})
    chi.scan(stops["N"], at(10, 30))

    stops["X"] = chi.stop()
    chi.text(stops["X"], at(9, 5), {"safe_place": False})
    chi.scan(stops["X"], at(12, 0))

    yesterday = chi.stop(day=BEFORE)
    chi.scan(yesterday, at(15, 0, BEFORE), delivered=False)
    Stop.objects.filter(pk=yesterday.pk).update(status=Stop.Status.RESCHEDULED)
    stops["R"] = chi.stop(order=yesterday.order)
    chi.text(stops["R"], at(9, 10), {"home": True})
    chi.scan(stops["R"], at(14, 0))

    stops["A"] = chi.stop()
    chi.text(stops["A"], at(9, 40))
    chi.scan(stops["A"], at(13, 0))

    stops["S"] = chi.stop()
    PreArrivalContactFactory(
        stop=stops["S"], created_at=at(9, 45), status=PreArrivalContact.Status.SKIPPED, skip_reason="Opted out."
    )
    chi.scan(stops["S"], at(13, 30))

    stops["Y"] = chi.stop(day=BEFORE)
    chi.text(stops["Y"], at(8, 15, BEFORE), CODE)
    chi.scan(stops["Y"], at(10, 0, BEFORE))

    mke = Day(oscar)
    stops["W"] = mke.stop()
    mke.text(stops["W"], at(8, 45), CODE)
    mke.scan(stops["W"], at(10, 15))
    return stops


def csv_rows(client: Client, **params: str) -> list[dict[str, str]]:
    response = client.get(URL, {"from": "2026-06-10", "to": "2026-06-10", "format": "csv", **params})
    assert response.status_code == 200, response.content
    return list(csv.DictReader(io.StringIO(response.content.decode())))


# --- The measures ---------------------------------------------------------------------------------------------------


def test_it_counts_texts_replies_useful_replies_and_exceptions_prevented(day, chicago):
    assert summary([chicago])["totals"]["prevention"] == CHICAGO_DAY


def test_it_counts_a_useful_reply_then_a_first_attempt_delivery_as_prevented(chicago, dave):
    chi = Day(dave)
    stop = chi.stop()
    chi.text(stop, at(8, 0), CODE)
    chi.scan(stop, at(10, 0))

    prevention = summary([chicago])["totals"]["prevention"]

    assert prevention["exceptions_prevented"] == 1
    assert prevention["reply_rate"] == 1.0


def test_it_does_not_count_a_useful_reply_whose_first_attempt_failed(chicago, dave):
    chi = Day(dave)
    stop = chi.stop()
    chi.text(stop, at(8, 0), CODE)
    chi.scan(stop, at(10, 0), delivered=False)
    chi.scan(stop, at(10, 20))

    prevention = summary([chicago])["totals"]["prevention"]

    assert (prevention["useful_replies"], prevention["exceptions_prevented"]) == (1, 0)


def test_it_counts_a_reply_with_nothing_useful_in_the_reply_rate_only(chicago, dave):
    chi = Day(dave)
    for learned in ({"other": "wrong_number"}, {"neighbour": False}):
        stop = chi.stop()
        chi.text(stop, at(8, 0), learned)
        chi.scan(stop, at(10, 0))
    chi.text(chi.stop(), at(8, 5))

    prevention = summary([chicago])["totals"]["prevention"]

    assert prevention == {**NOTHING, "texts_sent": 3, "replies": 2, "reply_rate": 0.6667}


def test_it_does_not_count_a_stop_not_asked_as_a_text_sent(chicago, dave):
    chi = Day(dave)
    stop = chi.stop()
    PreArrivalContactFactory(stop=stop, created_at=at(8, 0), status=PreArrivalContact.Status.SKIPPED)
    chi.scan(stop, at(10, 0))

    assert summary([chicago])["totals"]["prevention"] == {**NOTHING, "not_asked": 1}


def test_it_does_not_count_a_stop_not_yet_attempted_as_prevented(chicago, dave):
    chi = Day(dave)
    chi.text(chi.stop(), at(8, 0), WINDOW)

    prevention = summary([chicago])["totals"]["prevention"]

    assert (prevention["useful_replies"], prevention["exceptions_prevented"]) == (1, 0)


def test_it_takes_what_prevention_records_as_useful(chicago, dave):
    chi = Day(dave)
    learned: list[dict[str, Any]] = [
        CODE,
        WINDOW,
        {"home": True},
        {"safe_place": True},
        {"neighbour": True},
        {"safe_place": False},
        {"neighbour": False},
        {"other": "refuse"},
        {},
    ]
    contacts = [chi.text(chi.stop(), at(8, minute), item) for minute, item in enumerate(learned)]

    useful = set(PreArrivalContact.objects.filter(useful_reply()).values_list("pk", flat=True))

    assert useful == {contact.pk for contact in contacts[:5]}


def test_it_keeps_other_depots_and_other_days_out(day, chicago, milwaukee):
    assert summary([milwaukee])["totals"]["prevention"] == {
        **NOTHING,
        "texts_sent": 1,
        "replies": 1,
        "reply_rate": 1.0,
        "useful_replies": 1,
        "exceptions_prevented": 1,
    }
    assert summary([chicago], start=BEFORE, end=BEFORE)["totals"]["prevention"] == {
        **NOTHING,
        "texts_sent": 1,
        "replies": 1,
        "reply_rate": 1.0,
        "useful_replies": 1,
        "exceptions_prevented": 1,
    }
    assert summary([chicago], start=BEFORE, end=DAY)["totals"]["prevention"]["exceptions_prevented"] == 2
    assert summary([chicago, milwaukee])["totals"]["prevention"]["texts_sent"] == 7


def test_it_counts_a_text_on_its_stops_service_date(chicago, dave):
    # The run is the 10th's; the text went out late on the 9th, the delivery was on the 10th.
    chi = Day(dave)
    stop = chi.stop()
    chi.text(stop, at(22, 0, BEFORE), CODE)
    chi.scan(stop, at(9, 0))

    assert summary([chicago])["totals"]["prevention"]["exceptions_prevented"] == 1
    assert summary([chicago], start=BEFORE, end=BEFORE)["totals"]["prevention"] == NOTHING


# --- Groups ---------------------------------------------------------------------------------------------------------


def test_it_groups_prevention_by_depot(day, chicago, milwaukee):
    depots = groups(summary([chicago, milwaukee], "depot"))

    assert depots["chi-west"]["prevention"] == CHICAGO_DAY
    assert depots["mke"]["prevention"]["exceptions_prevented"] == 1


def test_it_groups_prevention_by_service_date(day, chicago):
    days = groups(summary([chicago], "day", start=BEFORE, end=DAY))

    assert days["2026-06-10"]["prevention"] == CHICAGO_DAY
    assert days["2026-06-09"]["prevention"]["exceptions_prevented"] == 1


def test_it_groups_prevention_by_the_local_hour_the_text_went_out(day, chicago):
    hours = groups(summary([chicago], "hour"))

    # P, F and N at 08:xx; X, R, A and S (not asked) at 09:xx.
    assert hours["2026-06-10T08:00"]["prevention"] == {
        "texts_sent": 3,
        "not_asked": 0,
        "replies": 3,
        "reply_rate": 1.0,
        "useful_replies": 2,
        "exceptions_prevented": 1,
    }
    assert hours["2026-06-10T09:00"]["prevention"]["texts_sent"] == 3
    assert hours["2026-06-10T09:00"]["prevention"]["not_asked"] == 1


def test_it_groups_prevention_by_area(day, chicago):
    areas = groups(summary([chicago], "area"))

    assert areas["60607"]["prevention"]["exceptions_prevented"] == 1
    assert areas["60622"]["prevention"]["exceptions_prevented"] == 0
    assert areas["60622"]["prevention"]["texts_sent"] == 5


def test_it_leaves_prevention_out_of_reason_code_groups_but_in_the_totals(day, chicago):
    result = summary([chicago], "reason_code")

    assert result["totals"]["prevention"] == CHICAGO_DAY
    assert result["groups"]
    assert all(group["prevention"] is None for group in result["groups"])


@pytest.mark.parametrize("group_by", GROUP_BY)
def test_its_prevention_totals_do_not_depend_on_the_grouping(day, chicago, milwaukee, group_by):
    grouped = summary([chicago, milwaukee], group_by)["totals"]
    assert grouped == summary([chicago, milwaukee])["totals"]
    assert grouped["prevention"]["texts_sent"] == 7


def test_it_measures_prevention_in_one_query_however_many_texts(day, chicago, milwaukee, erin):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            summary([chicago, milwaukee], "depot")
        return len(captured.captured_queries)

    before = queries()
    more = Day(erin)
    for minute in range(15):
        stop = more.stop()
        more.text(stop, at(8, minute), CODE)
        more.scan(stop, at(11, minute))
    assert queries() == before
    assert summary([chicago])["totals"]["prevention"]["exceptions_prevented"] == 16


# --- The API, the CSV and the page ----------------------------------------------------------------------------------


def test_it_serves_prevention_in_the_metrics(day, alice):
    response = signed_in(alice).get(URL, {"from": "2026-06-10", "to": "2026-06-10", "group_by": "reason_code"})

    assert response.status_code == 200
    body = response.json()
    assert body["totals"]["prevention"] == CHICAGO_DAY
    assert all(group["prevention"] is None for group in body["groups"])


def test_it_appends_the_prevention_columns_to_the_csv(day, alice):
    rows = csv_rows(signed_in(alice), group_by="area")

    columns = list(rows[0])
    # The measures added after prevention follow it (tests/exceptions/test_metrics_endings.py).
    after = columns.index("outcomes_failed_parcels")
    assert columns[after - 8 : after] == [
        "lat",
        "lng",
        "prevention_texts_sent",
        "prevention_not_asked",
        "prevention_replies",
        "prevention_reply_rate",
        "prevention_useful_replies",
        "prevention_exceptions_prevented",
    ]
    assert columns.index("cases_open_now") == columns.index("lat") - 1
    total = rows[0]
    assert (total["group"], total["prevention_texts_sent"], total["prevention_reply_rate"]) == ("total", "6", "0.8333")
    assert total["prevention_exceptions_prevented"] == "1"
    by_area = {row["key"]: row for row in rows[1:]}
    assert by_area["60607"]["prevention_exceptions_prevented"] == "1"


def test_a_postal_code_a_spreadsheet_would_run_as_a_formula_is_written_as_text(day, alice):
    Address.objects.filter(postal_code="60607").update(postal_code="=1+2")

    by_area = {row["key"]: row for row in csv_rows(signed_in(alice), group_by="area")[1:]}

    assert "'=1+2" in by_area
    assert "=1+2" not in by_area


def test_it_keeps_the_csv_columns_it_had_before_prevention_in_their_places(day, alice):
    columns = list(csv_rows(signed_in(alice))[0])

    assert columns[:8] == [
        "from",
        "to",
        "depots",
        "group",
        "key",
        "first_attempt_attempts",
        "first_attempt_delivered",
        "first_attempt_success_rate",
    ]
    after = columns.index("outcomes_failed_parcels")
    assert columns[after - 7 : after] == [
        "cases_open_now",
        "prevention_texts_sent",
        "prevention_not_asked",
        "prevention_replies",
        "prevention_reply_rate",
        "prevention_useful_replies",
        "prevention_exceptions_prevented",
    ]


def test_it_leaves_the_prevention_cells_of_reason_code_groups_empty(day, alice):
    rows = csv_rows(signed_in(alice), group_by="reason_code")

    assert rows[0]["prevention_texts_sent"] == "6"
    assert "prevention" not in rows[0]
    assert len(rows) > 1
    assert all(row["prevention_texts_sent"] == "" for row in rows[1:])


def test_the_analytics_page_has_a_prevention_block(alice):
    response = signed_in(alice).get("/analytics/")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="prevention-title"' in page
    for element in ("kpi-texts", "kpi-reply-rate", "kpi-useful", "kpi-prevented"):
        assert f'id="{element}"' in page, element
    for label in ("Texts sent ahead", "Reply rate", "Useful replies", "Exceptions prevented"):
        assert label in page, label
