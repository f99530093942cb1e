"""How every failed parcel ended, per parcel, on a hand-built day whose answers are known: each ending with and
without a dispatcher, the share rescued without one, the time to each outcome, the untouched cases by their
parcel's ending, and the value of the failed attempts averted against what the texts cost; by hour, reason code
and depot; in the API, its schema and the CSV; in a fixed number of queries.

The day (Chicago, ``DAY`` in June, CDT = UTC-5; its own cost model: 17.20 a failed delivery, 0.0083 a text segment).
Twelve parcels first fail today, one per ending and per whether a dispatcher took part:

    parcel  first failed          its latest case                                   delivered       ending
    D1      09:00 absent          delivered on retry (driver), 09:30                09:30           same day
    D2      10:00 access denied   safe drop (recipient), touched, 11:00             11:00           same day
    R1      11:00 absent          later day (recipient), 11:20                      tomorrow 10:00  recipient's choice
    R2      12:00 absent          pickup point (recipient), touched, 12:40          -               recipient's choice
    M1      13:00 absent          later day on silence (playbook), 13:45            -               moved unasked
    M2      14:00 absent          later today (dispatcher's window), touched, 14:10 -               moved unasked
    T1      15:00 refused         returned to sender (playbook), 15:05              -               returned
    T2      15:30 damaged         returned to sender (dispatcher), touched, 16:00   -               returned
    X1      16:00 closed          cancelled, 16:10                                  -               cancelled
    X2      16:30 closed          cancelled (dispatcher), touched, 16:45            -               cancelled
    O1      17:00 absent          closed unresolved 17:20; failed again 17:50,      -               open
                                  awaiting the recipient
    O2      17:30 absent          later today (dispatcher), touched, 17:40; failed  -               open, with a
                                  again 18:30, escalated (untouched)                                dispatcher

Also: A1-A8 delivered at their first attempt (08:00-08:35), A1 after a useful reply to a text ahead (one
exception prevented); Y first failed the day before and again today at 09:45 (today's case: a later day the
recipient asked for, untouched, resolved 10:15). Texts sent today: 1 segment (D1's, 160 plain characters),
2 (M1's, 161), 2 (R1's, 71 UTF-16 units with an accent outside GSM-7 and an emoji), 1 (A1's text ahead); not
counted: a reply, a push, a text still queued, one sent the day before.

Dave drives for Chicago; Alice dispatches there.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dispatch.models import Stop
from exceptions.analytics import GROUP_BY
from exceptions.models import ExceptionCase
from outreach.models import Channel, Conversation, Message
from tests.exceptions.metrics_day import BEFORE, DAY, OUTCOME, STATE, Day, at, endings, hour
from tests.factories import PreArrivalContactFactory
from tests.helpers import groups, signed_in, summary

pytestmark = pytest.mark.django_db

SOURCE = ExceptionCase.OutcomeSource
TOMORROW = DAY + dt.timedelta(days=1)
URL = "/api/v1/metrics"


def split(without: int, with_dispatcher: int) -> dict[str, int]:
    return {"with_dispatcher": with_dispatcher, "without_dispatcher": without}


def text(case_or_stop: ExceptionCase | Stop, body: str, sent_at: dt.datetime | None, **fields: Any) -> Message:
    """A message in the conversation about a case, or about a stop ahead of the driver."""
    about = {"case": case_or_stop} if isinstance(case_or_stop, ExceptionCase) else {"stop": case_or_stop}
    conversation, _ = Conversation.objects.get_or_create(**about, defaults={"recipient": case_or_stop.order.recipient})
    fields.setdefault("direction", Message.Direction.OUTBOUND)
    fields.setdefault("status", Message.Status.SENT if sent_at else Message.Status.QUEUED)
    return Message.objects.create(
        conversation=conversation,
        body=body,
        sent_at=sent_at,
        idempotency_key=f"test:{conversation.messages.count()}",
        **fields,
    )


@pytest.fixture
def parcels(chicago, chicago_costs, dave) -> dict[str, ExceptionCase]:
    """The day above, built; the latest case of each parcel by name."""
    chi = Day(dave)
    cases: dict[str, ExceptionCase] = {}

    def failed(name: str, when: dt.datetime, code: str = "RECIPIENT_ABSENT", **case: Any) -> Stop:
        stop = chi.stop()
        case.setdefault("state", STATE.RESOLVED if case.get("outcome") else STATE.AWAITING_RECIPIENT)
        cases[name] = chi.case(chi.scan(stop, when, code=code), **case)
        return stop

    d1 = failed("D1", at(9), outcome=OUTCOME.DELIVERED_ON_RETRY, outcome_source=SOURCE.DRIVER, resolved_at=at(9, 30))
    chi.scan(d1, at(9, 30), code=None)
    d2 = failed(
        "D2",
        at(10),
        "ACCESS_DENIED",
        outcome=OUTCOME.SAFE_DROP,
        outcome_source=SOURCE.RECIPIENT,
        resolved_at=at(11),
        touched_by_dispatcher=True,
    )
    chi.scan(d2, at(11), code=None)
    later_day = {"outcome": OUTCOME.RESCHEDULED_LATER, "outcome_source": SOURCE.RECIPIENT}
    r1 = failed("R1", at(11), **later_day, resolved_at=at(11, 20))
    Stop.objects.filter(pk=r1.pk).update(status=Stop.Status.RESCHEDULED)
    chi.scan(chi.stop(r1.order, day=TOMORROW), at(10, day=TOMORROW), code=None)
    failed(
        "R2",
        at(12),
        outcome=OUTCOME.PICKUP_POINT,
        outcome_source=SOURCE.RECIPIENT,
        resolved_at=at(12, 40),
        touched_by_dispatcher=True,
    )
    failed("M1", at(13), outcome=OUTCOME.RESCHEDULED_LATER, outcome_source=SOURCE.PLAYBOOK, resolved_at=at(13, 45))
    failed(
        "M2",
        at(14),
        outcome=OUTCOME.RESCHEDULED_SAME_DAY,
        outcome_source=SOURCE.DISPATCHER,
        resolved_at=at(14, 10),
        touched_by_dispatcher=True,
    )
    failed(
        "T1",
        at(15),
        "REFUSED",
        outcome=OUTCOME.RETURNED_TO_SENDER,
        outcome_source=SOURCE.PLAYBOOK,
        resolved_at=at(15, 5),
    )
    failed(
        "T2",
        at(15, 30),
        "DAMAGED",
        outcome=OUTCOME.RETURNED_TO_SENDER,
        outcome_source=SOURCE.DISPATCHER,
        resolved_at=at(16),
        touched_by_dispatcher=True,
    )
    failed(
        "X1",
        at(16),
        "BUSINESS_CLOSED",
        outcome=OUTCOME.CANCELLED,
        outcome_source=SOURCE.PLAYBOOK,
        resolved_at=at(16, 10),
    )
    failed(
        "X2",
        at(16, 30),
        "BUSINESS_CLOSED",
        outcome=OUTCOME.CANCELLED,
        outcome_source=SOURCE.DISPATCHER,
        resolved_at=at(16, 45),
        touched_by_dispatcher=True,
    )
    o1 = failed("O1", at(17), state=STATE.CLOSED, closed_at=at(17, 20))
    # Re-slotted later today on the same stop, it fails again: a case of its own.
    cases["O1"] = chi.case(chi.scan(o1, at(17, 50)), state=STATE.AWAITING_RECIPIENT)
    o2 = failed(
        "O2",
        at(17, 30),
        outcome=OUTCOME.RESCHEDULED_SAME_DAY,
        outcome_source=SOURCE.DISPATCHER,
        resolved_at=at(17, 40),
        touched_by_dispatcher=True,
    )
    cases["O2"] = chi.case(chi.scan(o2, at(18, 30)), state=STATE.ESCALATED, escalated_at=at(18, 31))

    first_time = [chi.stop() for _ in range(8)]
    for minutes, stop in enumerate(first_time):
        chi.scan(stop, at(8, 5 * minutes), code=None)
    PreArrivalContactFactory(stop=first_time[0], answered=True, learned={"access_code": True}, created_at=at(7, 30))

    yesterday = chi.stop(day=BEFORE)
    chi.scan(yesterday, at(15, 0, BEFORE))
    Stop.objects.filter(pk=yesterday.pk).update(status=Stop.Status.RESCHEDULED)
    cases["Y"] = chi.case(
        chi.scan(chi.stop(yesterday.order), at(9, 45)),
        state=STATE.RESOLVED,
        outcome=OUTCOME.RESCHEDULED_LATER,
        outcome_source=SOURCE.RECIPIENT,
        resolved_at=at(10, 15),
    )

    text(cases["D1"], "x" * 160, at(9, 5))
    text(cases["M1"], "y" * 161, at(13, 5))
    text(cases["R1"], "ł" * 69 + "🙂", at(11, 5))
    text(first_time[0], "Your parcel comes this morning: is there a gate code?", at(7, 30))
    reply = {"direction": Message.Direction.INBOUND, "status": Message.Status.RECEIVED}
    text(cases["R1"], "Tomorrow please", at(11, 10), **reply)
    text(cases["M1"], "An app notification", at(13, 6), channel=Channel.PUSH, status=Message.Status.DELIVERED)
    text(cases["M2"], "Still waiting for quiet hours to end", None)
    text(cases["Y"], "Sent the day before", at(20, 0, BEFORE))
    return cases


# --- Each ending, the headline and the time to outcome -----------------------------------------------------------


def test_it_ends_each_failed_parcel_once_with_and_without_a_dispatcher(parcels, chicago):
    # Y first failed the day before: it is that day's failed parcel, not today's. O2's latest case is untouched,
    # but a dispatcher touched its first: the parcel ended with a dispatcher.
    assert summary([chicago])["totals"]["outcomes"] == {
        "failed_parcels": 12,
        "delivered_same_day": split(1, 1),
        "recipient_choice": split(1, 1),
        "moved_unasked": split(1, 1),
        "returned": split(1, 1),
        "cancelled": split(1, 1),
        "open": split(1, 1),
    }


def test_a_parcel_that_first_failed_the_day_before_is_that_days(parcels, chicago):
    # Y's latest case, opened when it failed again today, is a later day its recipient asked for.
    before = summary([chicago], start=BEFORE, end=BEFORE)["totals"]
    assert before["outcomes"]["failed_parcels"] == 1
    assert before["outcomes"]["recipient_choice"] == split(1, 0)


def test_it_counts_the_parcels_rescued_without_a_dispatcher_over_every_failed_parcel(parcels, chicago):
    # D1 delivered the same day and R1 settled in the recipient's choice, neither touched; D2 and R2 were.
    assert summary([chicago])["totals"]["rescued_without_dispatcher"] == {"count": 2, "share": 0.1667}


def test_it_times_each_parcel_to_its_outcome_leaving_returns_cancellations_and_open_parcels_out(parcels, chicago):
    # D1 30 min and D2 60 to the delivery scan; R1 20 and R2 40 to the recipient's choice; M1 45 and M2 10 to
    # the move. The median of 10, 20, 30, 40, 45, 60 minutes is 35; the 90th percentile, half-way from 45 to 60.
    assert summary([chicago])["totals"]["time_to_outcome"] == {
        "parcels": 6,
        "median_seconds": 2100.0,
        "p90_seconds": 3150.0,
    }


def test_it_counts_untouched_cases_by_their_parcels_ending(parcels, chicago):
    # Finished today: all twelve parcels' cases but O1's and O2's open ones, O1's and O2's first ones, and Y's.
    # Untouched: D1, R1, Y (its parcel is the day before's, ended in its recipient's choice), M1, T1, X1, and
    # O1's first case, closed without an outcome while its parcel is still open.
    assert summary([chicago])["totals"]["no_touch"] == {
        "finished": 13,
        "untouched": 7,
        "share": 0.5385,
        "by_ending": endings(
            delivered_same_day=1, recipient_choice=2, moved_unasked=1, returned=1, cancelled=1, open=1
        ),
    }


def test_it_values_the_attempts_averted_against_what_the_texts_cost(parcels, chicago):
    # Averted: A1's exception prevented ahead, and D1 and R1 rescued without a dispatcher: 3 x 17.20. Texts:
    # 6 segments x 0.0083 = 0.0498. Net 51.5502 over 20 parcels first attempted today (not Y).
    assert summary([chicago])["totals"]["value"] == [
        {
            "currency": "USD",
            "parcels_attempted": 20,
            "sms_segments": 6,
            "sms_cost": Decimal("0.05"),
            "failed_attempts_averted": 3,
            "value_averted": Decimal("51.60"),
            "net": Decimal("51.55"),
            "net_per_1000_parcels": Decimal("2577.51"),
        }
    ]


def test_it_prices_each_depot_with_its_own_cost_model(parcels, chicago, chicago_costs, milwaukee, oscar):
    chicago_costs.failed_delivery_cost = Decimal("20.00")
    chicago_costs.sms_segment_cost = Decimal("0.0100")
    chicago_costs.save()
    mke = Day(oscar)
    mke.case(
        mke.scan(mke.stop(), at(10)),
        state=STATE.RESOLVED,
        outcome=OUTCOME.PICKUP_POINT,
        outcome_source=SOURCE.RECIPIENT,
        resolved_at=at(10, 30),
    )

    (usd,) = summary([chicago, milwaukee])["totals"]["value"]

    # Chicago's 3 averted at 20.00 and 6 segments at 0.01; Milwaukee's rescue at the default 17.20.
    assert (usd["failed_attempts_averted"], usd["value_averted"]) == (4, Decimal("77.20"))
    assert (usd["sms_segments"], usd["sms_cost"]) == (6, Decimal("0.06"))
    assert (usd["parcels_attempted"], usd["net_per_1000_parcels"]) == (21, Decimal("3673.33"))


def test_a_parcel_delivered_on_a_later_day_nobody_asked_for_was_moved(chicago, chicago_costs, dave):
    chi = Day(dave)
    stop = chi.stop()
    chi.case(
        chi.scan(stop, at(16)),
        state=STATE.RESOLVED,
        outcome=OUTCOME.DELIVERED_ON_RETRY,
        outcome_source=SOURCE.DRIVER,
        resolved_at=at(9, day=TOMORROW),
    )
    chi.scan(stop, at(9, day=TOMORROW), code=None)

    totals = summary([chicago])["totals"]

    assert totals["outcomes"]["moved_unasked"] == split(1, 0)
    assert totals["time_to_outcome"]["median_seconds"] == 17 * 3600.0


def test_a_quiet_day_has_no_failed_parcels(chicago, chicago_costs):
    totals = summary([chicago])["totals"]

    assert totals["outcomes"]["failed_parcels"] == 0
    assert totals["rescued_without_dispatcher"] == {"count": 0, "share": None}
    assert totals["time_to_outcome"] == {"parcels": 0, "median_seconds": None, "p90_seconds": None}
    assert totals["value"][0]["net_per_1000_parcels"] is None


# --- Groups ----------------------------------------------------------------------------------------------------------


def test_it_groups_failed_parcels_by_the_hour_of_their_first_failed_scan(parcels, chicago):
    hours = groups(summary([chicago], "hour"))

    # Y failed again at 09:45, but its parcel first failed the day before.
    assert hours[hour(9)]["outcomes"]["failed_parcels"] == 1
    assert hours[hour(9)]["outcomes"]["delivered_same_day"] == split(1, 0)
    assert hours[hour(9)]["time_to_outcome"] == {
        "parcels": 1,
        "median_seconds": 1800.0,
        "p90_seconds": 1800.0,
    }
    assert hours[hour(17)]["outcomes"]["open"] == split(1, 1)
    # The texts by the hour they went out; A1's prevention by the hour its text went.
    assert hours[hour(7)]["value"][0]["sms_segments"] == 1
    assert hours[hour(7)]["value"][0]["failed_attempts_averted"] == 1
    assert hours[hour(11)]["value"][0]["sms_segments"] == 2
    assert hours[hour(11)]["value"][0]["failed_attempts_averted"] == 1  # R1


def test_it_groups_failed_parcels_by_the_reason_of_their_first_failed_scan(parcels, chicago):
    reasons = groups(summary([chicago], "reason_code"))

    assert reasons["REFUSED"]["outcomes"]["returned"] == split(1, 0)
    assert reasons["DAMAGED"]["outcomes"]["returned"] == split(0, 1)
    assert reasons["ACCESS_DENIED"]["outcomes"]["delivered_same_day"] == split(0, 1)
    assert reasons["BUSINESS_CLOSED"]["outcomes"]["cancelled"] == split(1, 1)
    # D1, R1, R2, M1, M2, O1 and O2 first failed with nobody home; D1 and R1 were rescued without a dispatcher.
    assert reasons["RECIPIENT_ABSENT"]["rescued_without_dispatcher"] == {"count": 2, "share": 0.2857}
    # Texts ahead have no reason code: value is counted in the totals only.
    assert all(group["value"] is None for group in reasons.values())


def test_it_groups_failed_parcels_by_depot(parcels, chicago, milwaukee):
    depots = groups(summary([chicago, milwaukee], "depot"))

    assert list(depots) == ["chi-west"]
    assert depots["chi-west"]["outcomes"]["failed_parcels"] == 12
    assert depots["chi-west"]["value"][0]["net"] == Decimal("51.55")


@pytest.mark.parametrize("group_by", GROUP_BY)
def test_its_outcome_totals_do_not_depend_on_the_grouping(parcels, chicago, group_by):
    assert summary([chicago], group_by)["totals"] == summary([chicago])["totals"]


def test_it_measures_endings_in_the_same_few_queries_however_many_parcels(parcels, chicago, erin):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            summary([chicago], "area")
        return len(captured.captured_queries)

    before = queries()
    more = Day(erin)
    for minute in range(20):
        stop = more.stop()
        more.case(more.scan(stop, at(13, minute)), state=STATE.RESOLVED, resolved_at=at(13, 30))
        more.scan(stop, at(14, minute), code=None)
        text(stop.cases.get(), f"Message {minute}", at(13, minute))

    assert queries() == before
    assert summary([chicago])["totals"]["outcomes"]["delivered_same_day"] == split(21, 1)


# --- The API, its schema and the CSV ----------------------------------------------------------------------------------


def test_it_serves_the_outcome_measures_in_the_metrics_api(parcels, alice):
    body = signed_in(alice).get(URL, {"from": DAY.isoformat(), "to": DAY.isoformat(), "group_by": "reason_code"}).json()

    totals = body["totals"]
    assert totals["outcomes"]["moved_unasked"] == split(1, 1)
    assert totals["rescued_without_dispatcher"] == {"count": 2, "share": 0.1667}
    assert totals["time_to_outcome"]["median_seconds"] == 2100.0
    assert totals["no_touch"]["by_ending"]["recipient_choice"] == 2
    assert totals["value"] == [
        {
            "currency": "USD",
            "parcels_attempted": 20,
            "sms_segments": 6,
            "sms_cost": "0.05",
            "failed_attempts_averted": 3,
            "value_averted": "51.60",
            "net": "51.55",
            "net_per_1000_parcels": "2577.51",
        }
    ]
    by_reason = {group["key"]: group for group in body["groups"]}
    assert by_reason["REFUSED"]["outcomes"]["returned"] == split(1, 0)
    assert by_reason["REFUSED"]["value"] is None


def test_the_schema_documents_the_outcome_measures_and_the_assumption_behind_the_value():
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]
    measures = components["MetricsMeasuresOutput"]["properties"]

    assert {"outcomes", "rescued_without_dispatcher", "time_to_outcome", "value"} <= set(measures)
    assert set(components["MetricsOutcomesOutput"]["properties"]) == {
        "failed_parcels",
        "delivered_same_day",
        "recipient_choice",
        "moved_unasked",
        "returned",
        "cancelled",
        "open",
    }
    assert set(components["MetricsNoTouchOutput"]["properties"]["by_ending"]["allOf"][0].values()) == {
        "#/components/schemas/MetricsEndingCountsOutput"
    }
    assert "one further failed attempt" in measures["value"]["description"]
    assert (
        "one further failed attempt"
        in components["MetricsValueOutput"]["properties"]["failed_attempts_averted"]["description"]
    )
    assert (
        "returned, cancelled and open ones are left out"
        in components["MetricsTimeToOutcomeOutput"]["properties"]["parcels"]["description"]
    )


def test_it_adds_the_outcome_columns_to_the_csv_after_the_ones_it_had(parcels, alice):
    response = signed_in(alice).get("/api/v1/metrics.csv", {"from": DAY.isoformat(), "to": DAY.isoformat()})
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))

    columns = list(rows[0])
    # After prevention, the columns added since, in the order they were added; value's once per currency.
    after = columns.index("prevention_exceptions_prevented") + 1
    assert columns[after:] == [
        "outcomes_failed_parcels",
        *(f"outcomes_{ending}_{side}" for ending in endings() for side in ("with_dispatcher", "without_dispatcher")),
        "rescued_without_dispatcher_count",
        "rescued_without_dispatcher_share",
        "time_to_outcome_parcels",
        "time_to_outcome_median_seconds",
        "time_to_outcome_p90_seconds",
        *(f"no_touch_by_ending_{ending}" for ending in endings()),
        "value_parcels_attempted_USD",
        "value_sms_segments_USD",
        "value_sms_cost_USD",
        "value_failed_attempts_averted_USD",
        "value_value_averted_USD",
        "value_net_USD",
        "value_net_per_1000_parcels_USD",
        "cases_unanswered_requests",
    ]
    total = rows[0]
    assert (total["outcomes_recipient_choice_without_dispatcher"], total["outcomes_open_with_dispatcher"]) == ("1", "1")
    assert total["rescued_without_dispatcher_share"] == "0.1667"
    assert total["time_to_outcome_median_seconds"] == "2100.0"
    assert total["no_touch_by_ending_recipient_choice"] == "2"
    assert (total["value_sms_cost_USD"], total["value_net_per_1000_parcels_USD"]) == ("0.05", "2577.51")
