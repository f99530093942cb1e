"""``manage.py simulate_day``: a whole small day through the product, and the people's behaviour models."""

from __future__ import annotations

import datetime as dt
import json
import random
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from dispatch.demo import BUSINESS, GATED, HOUSE, MULTI_UNIT
from dispatch.models import Order, Stop
from dispatch.simulation import behaviour
from exceptions.models import ExceptionCase, PreArrivalContact
from outreach.models import Message

CORPUS = Path(__file__).resolve().parent.parent / "outreach" / "replies.csv"
DAY = dt.date(2026, 11, 18)  # a Wednesday


@pytest.fixture(scope="module")
def corpus() -> behaviour.Corpus:
    return behaviour.Corpus.load(CORPUS)


# --- A day ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_small_day_ends_with_every_case_finished_and_no_text_sent_twice(tmp_path):
    out = StringIO()
    call_command(
        "simulate_day", "--stops", "80", "--drivers", "4", "--exception-rate", "0.3", "--seed", "3",
        "--replies", str(CORPUS), "--date", DAY.isoformat(), "--dispatchers", "1", "--out", str(tmp_path),
        stdout=out,
    )  # fmt: skip
    last = out.getvalue().strip().splitlines()[-1]
    figures = json.loads(next(tmp_path.glob("*.json")).read_text())

    cases = ExceptionCase.objects.filter(stop__run__service_date=DAY)
    assert figures["exceptions"] == cases.count() >= 10
    assert not cases.filter(state__in=ExceptionCase.OPEN_STATES).exists()
    assert figures["unfinished"] == 0
    assert figures["duplicate_sms"] == 0
    assert figures["api_error_count"] == 0, figures["api_errors"]
    # Texts really went out through the SDK and recipients' answers came back through the webhook.
    assert figures["sms_sent"] == Message.objects.filter(direction="outbound", provider_sid__isnull=False).count() > 0
    assert Message.objects.filter(direction="inbound").count() == figures["people"]["replies"] > 0
    # Some stops were recovered the same day: delivered after a failed first attempt.
    assert Order.objects.filter(cases__in=cases, status=Order.Status.DELIVERED).exists()
    assert not Stop.objects.filter(run__service_date=DAY, status=Stop.Status.ARRIVED).exists()
    assert last == (
        f"simulate_day: exceptions {figures['exceptions']}, no-touch {figures['no_touch_share']} %, "
        f"median resolution {figures['resolution_minutes_median']} min, unfinished 0, duplicate SMS 0"
    )
    assert (tmp_path / next(tmp_path.glob("*.md")).name).read_text().count("|") > 20
    # Prevention was on: risky stops were texted ahead of the driver, never more than once each.
    ahead = Message.objects.filter(conversation__stop__isnull=False, direction="outbound")
    assert figures["prearrival_texts"] == PreArrivalContact.objects.exclude(status="skipped").count() > 0
    assert ahead.values("conversation__stop").distinct().count() == ahead.count()
    assert figures["extra_sms_per_stop"] <= 0.3


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--exception-rate", "1.5"], "--exception-rate must be between 0 and 1"),
        (["--replies", "/nonexistent/replies.csv"], "No replies file at /nonexistent/replies.csv"),
        (["--speed", "-1"], "--speed must be 0"),
        (["--date", "21/11/2026"], "--date must be YYYY-MM-DD"),
        (["--dispatchers", "0"], "--dispatchers must be at least 1"),
    ],
)
def test_bad_options_say_what_to_fix(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("simulate_day", "--stops", "10", "--drivers", "1", *args, stdout=StringIO())


def test_a_corpus_without_the_columns_is_refused(tmp_path):
    path = tmp_path / "replies.csv"
    path.write_text("id,text\n1,hello\n")
    with pytest.raises(ValueError, match="needs the columns intent, reply"):
        behaviour.Corpus.load(path)


# --- The people -------------------------------------------------------------------------------------------------


def test_the_failure_scale_gives_the_asked_share_of_failures():
    rng = random.Random(5)
    kinds = [HOUSE] * 500 + [MULTI_UNIT] * 300 + [GATED] * 100 + [BUSINESS] * 100
    scale = behaviour.failure_scale(kinds, 0.10)
    evening = dt.datetime(2026, 11, 18, 18, 0)
    failures = [
        behaviour.stop_failure(rng, building_type=kind, local_time=evening, scale=scale, retry=False)
        for kind in kinds * 20
    ]
    share = sum(1 for failure in failures if failure) / len(failures)
    # Houses fail less in the evening (people are home), so the evening share sits under the day's 10 %.
    assert 0.06 < share < 0.10
    gated = [f for f, kind in zip(failures, kinds * 20, strict=True) if f and kind == GATED]
    assert {f.reason_code for f in gated} <= {"ACCESS_DENIED", "WRONG_ACCESS_CODE", "GATE_CLOSED", "RECIPIENT_ABSENT"}


def test_houses_are_more_often_absent_in_working_hours():
    scale = behaviour.failure_scale([HOUSE], 0.2)

    def share(hour: int) -> float:
        rng = random.Random(9)
        at = dt.datetime(2026, 11, 18, hour, 0)
        runs = [
            behaviour.stop_failure(rng, building_type=HOUSE, local_time=at, scale=scale, retry=False)
            for _ in range(4000)
        ]
        return sum(1 for failure in runs if failure) / len(runs)

    assert share(11) > 1.5 * share(19)


def test_access_failures_are_mostly_answered_with_a_code(corpus):
    rng = random.Random(2)
    replies = [
        behaviour.recipient_reply(rng, corpus, reason_code="ACCESS_DENIED", prompt_number=1, answered_before=0)
        for _ in range(2000)
    ]
    answered = [reply for reply in replies if reply]
    assert 0.70 < len(answered) / len(replies) < 0.80
    codes = sum(1 for reply in answered if reply.intent == "ACCESS_CODE")
    assert codes / len(answered) > 0.5
    assert all(reply.text in corpus.by_intent[reply.intent] for reply in answered)
    assert min(reply.delay_seconds for reply in answered) >= 20


def test_a_dispatcher_approves_what_waits_for_approval_and_books_tomorrow_late_in_the_day():
    rng = random.Random(1)
    late = dt.datetime(2026, 11, 18, 18, 30, tzinfo=dt.UTC)
    assert behaviour.dispatcher_move(
        rng, reason_code="RECIPIENT_ABSENT", pending_approval=True, local_now=late
    ).action == ("approve")
    windows = [
        behaviour.dispatcher_move(rng, reason_code="RECIPIENT_ABSENT", pending_approval=False, local_now=late)
        for _ in range(50)
    ]
    starts = {move.body["window_start"] for move in windows if move.action == "window"}
    assert starts == {"2026-11-19T09:00:00+00:00"}
