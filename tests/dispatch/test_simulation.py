"""``manage.py simulate_day``: a whole small day through the product, and the people's behaviour models."""

from __future__ import annotations

import datetime as dt
import json
import random
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from demo.day.places import BUSINESS, GATED, HOUSE, MULTI_UNIT
from demo.simulation import behaviour, world
from dispatch.models import Order, Stop
from exceptions.models import ExceptionCase, PreArrivalContact
from outreach.models import Message
from tests.factories import AccessCredentialFactory

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
    # Per failed parcel, as the desk's metrics count it.
    assert 0 <= figures["rescued_without_dispatcher_share"] <= 100
    assert figures["time_to_outcome_minutes_median"] > 0
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


def _city(count: int) -> list[tuple[world.Place, world.Household]]:
    kinds = [HOUSE] * 50 + [MULTI_UNIT] * 30 + [GATED] * 10 + [BUSINESS] * 10
    return [
        (world.place(f"60607|{n} main st", kinds[n % 100]), world.household(f"60607|{n} main st|"))
        for n in range(count)
    ]


def test_the_failure_scale_gives_the_asked_share_of_failures():
    city = _city(1000)
    odds = [world.failure_odds(site, home, hour=11, code=world.CODE_NONE) for site, home in city]
    scale = behaviour.failure_scale([sum(p for _, p in o) for o in odds], 0.10)
    rng = random.Random(5)
    failures = [behaviour.stop_failure(rng, mark=rng.random(), odds=o, scale=scale, retry=False) for o in odds * 20]
    share = sum(1 for failure in failures if failure) / len(failures)
    assert 0.09 < share < 0.11
    gated = [f for f, (site, _) in zip(failures, city * 20, strict=True) if f and site.building_type == GATED]
    assert gated
    assert {f.reason_code for f in gated} <= {
        "ACCESS_DENIED", "GATE_CLOSED", "RECIPIENT_ABSENT", "ADDRESS_NOT_FOUND", "REFUSED", "DAMAGED"
    }  # fmt: skip


def test_a_place_and_a_household_are_the_same_every_day():
    assert world.place("60607|1 main st", GATED) == world.place("60607|1 main st", GATED)
    assert world.household("60607|1 main st|4b") == world.household("60607|1 main st|4b")
    traits = {world.place(f"60607|{n} main st", GATED).access_trouble for n in range(50)}
    assert len(traits) == 50  # drawn per building, not one figure for all


def test_a_working_code_gets_the_driver_in_where_none_would_not():
    site = world.place("60607|9 gate way", GATED)
    home = world.household("60607|9 gate way|")
    marks = [random.Random(n).random() for n in range(4000)]
    without = [world.failure_draw(world.failure_odds(site, home, hour=19, code=world.CODE_NONE), m) for m in marks]
    with_code = [world.failure_draw(world.failure_odds(site, home, hour=19, code=world.CODE_WORKING), m) for m in marks]
    assert sum(1 for r in with_code if r) < 0.5 * sum(1 for r in without if r)
    # Attempt by attempt: the code never makes an attempt fail that would have succeeded.
    assert all(w is None for w, n in zip(with_code, without, strict=True) if n is None)
    assert "WRONG_ACCESS_CODE" not in without


def test_households_out_at_work_are_absent_in_working_hours():
    out = next(h for n in range(100) if (h := world.household(f"k{n}")).out_at_work)
    site = world.place("60607|5 elm st", HOUSE)

    def absent(hour: int) -> float:
        return dict(world.failure_odds(site, out, hour=hour, code=world.CODE_NONE))["RECIPIENT_ABSENT"]

    assert absent(11) > 3 * absent(19)
    home = next(h for n in range(100) if not (h := world.household(f"k{n}")).out_at_work)
    assert dict(world.failure_odds(site, home, hour=11, code=world.CODE_NONE))["RECIPIENT_ABSENT"] < absent(11)


def test_the_code_a_driver_arrives_with():
    now = dt.datetime(2026, 11, 18, 15, 0, tzinfo=dt.UTC)
    imported = AccessCredentialFactory.build(source="plan_import", last_worked_at=None, failure_count=0)
    imported.created_at = now - dt.timedelta(days=30)
    assert world.code_state([], now) == world.CODE_NONE
    assert world.code_state([imported], now) == world.CODE_UNPROVEN
    imported.last_worked_at = now - dt.timedelta(days=3)
    assert world.code_state([imported], now) == world.CODE_WORKING
    imported.failure_count = 2  # flagged: the app does not reveal it
    assert world.code_state([imported], now) == world.CODE_NONE
    sent = AccessCredentialFactory.build(source="recipient", last_worked_at=None, failure_count=0)
    sent.created_at = now - dt.timedelta(hours=1)
    assert world.code_state([sent], now) == world.CODE_WORKING


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


def test_asked_a_code_and_whether_someone_is_in_a_recipient_answers_what_matters_to_them(corpus):
    both = ["access_code", "availability"]
    assert behaviour.prearrival_answered(both, out=True) == "availability"
    assert behaviour.prearrival_answered(both, out=False) == "access_code"
    assert behaviour.prearrival_answered(["access_code"], out=True) == "access_code"  # not asked: not said
    assert behaviour.prearrival_answered([], out=False) == "availability"

    rng = random.Random(3)
    out = [behaviour.prearrival_reply(rng, corpus, missing=both, out=True) for _ in range(1000)]
    intents = [reply.intent for reply in out if reply]
    assert 0.45 < len(intents) / len(out) < 0.55
    assert "ACCESS_CODE" not in intents
    assert sum(
        1 for intent in intents if intent in ("RESCHEDULE", "AVAILABLE_NOW", "SAFE_DROP", "NEIGHBOR")
    ) > 0.8 * len(intents)


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
