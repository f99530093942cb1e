"""The simulated city and people: a truth the product never sees, and recipients who say what their day allows."""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from pathlib import Path

import pytest

from demo.simulation import behaviour, speech, truth, world

CORPUS = Path(__file__).resolve().parents[2] / "demo" / "simulation" / "replies.csv"
DAY = dt.date(2026, 11, 18)  # a Wednesday
CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
KINDS = [world.HOUSE] * 50 + [world.MULTI_UNIT] * 30 + [world.GATED] * 10 + [world.BUSINESS] * 10


def _address(n: int, kind: str | None = None) -> truth.Address:
    building = f"60607|{n} main st"
    return truth.Address(building=building, household=f"{building}|", kind=kind or KINDS[n % 100])


def _attempt(
    address: truth.Address,
    *,
    hour: float = 11.0,
    codes: tuple[str, ...] = (),
    persistence: float = 0.85,
    scale: float = 1.0,
    seed: int | str = 0,
    day: dt.date = DAY,
    reference: str = "LM-1",
) -> truth.Failure | None:
    return truth.attempt(
        address,
        truth.parcel(reference, address.kind, scale=scale),
        day=day,
        hour=hour,
        door=truth.AtTheDoor(),
        reveal=lambda: codes,
        draw=random.Random(seed),
        scale=scale,
        persistence=persistence,
        notes=lambda reason: reason,
    )


@pytest.fixture(scope="module")
def corpus() -> speech.Corpus:
    return speech.Corpus.load(CORPUS)


# --- The city -------------------------------------------------------------------------------------------------------


def test_a_place_a_household_and_a_code_are_the_same_all_day():
    assert world.place("60607|1 main st", world.GATED) == world.place("60607|1 main st", world.GATED)
    assert world.away_hours("60607|1 main st|4b", DAY) == world.away_hours("60607|1 main st|4b", DAY)
    assert world.building_code("60607|1 main st", DAY) == world.building_code("60607|1 main st", DAY)
    codes = {world.building_code(f"60607|{n} main st", DAY) for n in range(200)}
    assert len(codes) > 150  # each building its own


def test_codes_change_now_and_then():
    two_years = [DAY + dt.timedelta(days=30 * month) for month in range(24)]
    changed = sum(len({world.building_code(f"60607|{n} elm st", day) for day in two_years}) > 1 for n in range(200))
    assert 0.5 * 200 < changed < 200  # about 1 - 0.92**24 = 86 % change at least once in two years


def test_a_door_opens_only_to_the_buildings_code():
    assert world.code_opens("#4417", "4417")
    assert world.code_opens("Lockbox on the railing: 4417", "4417")
    assert not world.code_opens("4471", "4417")
    stuck = next(
        a
        for n in range(2000)
        if (a := _address(n, world.GATED))
        and _attempt(a, persistence=1.0, scale=5.0)
        and _attempt(a, persistence=1.0, scale=5.0).reason_code in ("ACCESS_DENIED", "GATE_CLOSED")
    )
    right = world.building_code(stuck.building, DAY)
    wrong = f"{(int(right) + 1) % 10_000:04d}"
    assert _attempt(stuck, persistence=1.0, scale=5.0, codes=(wrong,)).reason_code == "WRONG_ACCESS_CODE"
    opened = _attempt(stuck, persistence=1.0, scale=5.0, codes=(f"#{right}",))
    assert opened is None or opened.reason_code not in ("ACCESS_DENIED", "GATE_CLOSED", "WRONG_ACCESS_CODE")


def test_a_failure_persists_when_nothing_new_was_learned():
    addresses = [_address(n) for n in range(3000)]
    first = [(a, f) for a in addresses if (f := _attempt(a, scale=3.0, seed=f"{a.building}:1", hour=11.0))]
    again = [_attempt(a, scale=3.0, seed=f"{a.building}:2", hour=11.5) for a, _ in first]
    assert sum(1 for f in again if f) / len(first) > 0.7  # the same door, the same empty flat
    fresh = [_attempt(a, scale=3.0, seed=f"{a.building}:2", hour=11.5, persistence=0.0) for a, _ in first]
    assert sum(1 for f in fresh if f) < sum(1 for f in again if f)


def test_households_out_at_work_are_out_in_working_hours_and_in_at_night():
    out = next(key for n in range(200) if world.household(key := f"k{n}").out_at_work)
    assert not world.home_at(out, DAY, 12.0)
    assert world.home_at(out, DAY, 20.5)
    back = world.next_home(out, DAY, 12.0)
    assert back is not None
    assert back >= 16.5
    saturday = DAY + dt.timedelta(days=3)
    assert sum(world.home_at(f"k{n}", saturday, 12.0) for n in range(200)) > 150


def test_the_failure_scale_gives_the_asked_share_of_failures():
    addresses = [_address(n) for n in range(2000)]
    odds = [truth.first_attempt_odds(a, f"LM-{n}", day=DAY, hour=11.0) for n, a in enumerate(addresses)]
    scale = truth.failure_scale(odds, 0.10)
    failures = [_attempt(a, scale=scale, seed=f"{n}", reference=f"LM-{n}") for n, a in enumerate(addresses)]
    assert 0.07 < sum(1 for f in failures if f) / len(failures) < 0.13


# --- The people -----------------------------------------------------------------------------------------------------


def _situation(reason: str, *, in_now: bool = False) -> behaviour.Situation:
    return behaviour.Situation(
        reason=reason, in_now=in_now, later_today=True, true_code="4417", old_code="9031", locked_building=True
    )


def test_a_fifth_of_recipients_give_the_code_on_the_first_text_and_mostly_the_right_one():
    rng = random.Random(2)
    said = [
        behaviour.intention(rng, _situation("ACCESS_DENIED"))
        for _ in range(4000)
        if behaviour.answers(rng, behaviour.Rates(), prompt_number=1, answered_before=0)
    ]
    codes = [intention.code for intention in said if intention.intent == "ACCESS_CODE"]
    assert 0.18 < len(codes) / 4000 < 0.26
    assert codes.count("4417") / len(codes) > 0.85


def test_nobody_says_coming_down_when_they_are_out():
    rng = random.Random(3)
    out = [behaviour.intention(rng, _situation("RECIPIENT_ABSENT")).intent for _ in range(2000)]
    assert "AVAILABLE_NOW" not in out
    back = [behaviour.intention(rng, _situation("RECIPIENT_ABSENT", in_now=True)).intent for _ in range(2000)]
    assert back.count("AVAILABLE_NOW") > 500


def test_words_carry_the_code_meant_and_the_time_moved_to_today(corpus):
    rng = random.Random(4)
    for _ in range(50):
        said = speech.say(rng, corpus, "ACCESS_CODE", code="4417", today=DAY, zone=CHICAGO)
        assert said is not None
        assert said.meaning.code == "4417"
        assert "4417" in "".join(ch for ch in said.text if ch.isdigit())
    for _ in range(50):
        said = speech.say(rng, corpus, "RESCHEDULE", today=DAY, zone=CHICAGO, suits=lambda start: start.hour >= 17)
        assert said is not None
        assert said.meaning.window is not None
        assert said.meaning.window[0].hour >= 17
        assert said.meaning.window[0].date() in (DAY, DAY + dt.timedelta(days=1))
        assert not speech.WEEKDAYS.search(said.text)


def test_a_line_is_fitted_digit_by_digit():
    line = speech.Line("Code: 5 5 0 2 at the box", "ACCESS_CODE", "5502", None, None, None, "")
    assert speech._with_code(line, "4417") == "Code: 4 4 1 7 at the box"
    words = speech.Line("five five oh two", "ACCESS_CODE", "5502", None, None, None, "")
    assert speech._with_code(words, "4417") is None  # not used for codes: it can't be made to say another


def test_noise_keeps_the_meaning_and_stated_rates_hold():
    rng = random.Random(5)
    said = speech.Said("back at 5", speech.Meaning("RESCHEDULE"))
    out = [speech.noisy(rng, said, wrong_number=False) for _ in range(4000)]
    auto = sum(1 for s in out if s.noise == "auto-reply")
    assert 0.01 < auto / 4000 < 0.03
    assert all(s.meaning.intent == "UNCLEAR" for s in out if s.noise == "auto-reply")
    assert all(s.meaning == said.meaning for s in out if s.noise != "auto-reply")
    stranger = speech.noisy(rng, said, wrong_number=True)
    assert stranger.meaning.intent == "UNCLEAR"
    assert stranger.noise == "wrong number"


def test_a_dispatcher_on_the_phone_learns_the_truth_or_books_tomorrow():
    rng = random.Random(1)
    noon = dt.datetime(2026, 11, 18, 12, 0, tzinfo=CHICAGO)
    assert (
        behaviour.dispatcher_move(
            rng, reason_code="RECIPIENT_ABSENT", pending_approval=True, local_now=noon, true_code="4417", in_from=None
        ).action
        == "approve"
    )
    moves = [
        behaviour.dispatcher_move(
            rng, reason_code="ACCESS_DENIED", pending_approval=False, local_now=noon, true_code="4417", in_from=None
        )
        for _ in range(200)
    ]
    codes = {move.body["code"] for move in moves if move.action == "access-code"}
    assert codes == {"4417"}
    tomorrow = {move.body["window_start"] for move in moves if move.action == "window"}
    assert tomorrow == {"2026-11-19T09:00:00-06:00"}
    late = dt.datetime(2026, 11, 18, 18, 30, tzinfo=CHICAGO)
    evening = behaviour.dispatcher_move(
        random.Random(0), reason_code="RECIPIENT_ABSENT", pending_approval=False, local_now=late, true_code="",
        in_from=late + dt.timedelta(minutes=10),
    )  # fmt: skip
    assert evening.body["window_start"] == "2026-11-19T09:00:00-06:00"  # too late today


def test_a_dispatcher_settles_on_the_phone_a_parcel_already_delivered_or_sent_back():
    noon = dt.datetime(2026, 11, 18, 12, 0, tzinfo=CHICAGO)

    def move(order_status: str) -> behaviour.DispatcherMove:
        return behaviour.dispatcher_move(
            random.Random(1),
            reason_code="ACCESS_DENIED",
            pending_approval=True,
            local_now=noon,
            true_code="4417",
            in_from=None,
            order_status=order_status,
        )

    assert (move("delivered").action, move("delivered").body["outcome"]) == ("resolve", "delivered_on_retry")
    assert {move("returned").action, move("cancelled").action} == {"return"}
    assert move("rescheduled").action == "approve"
