"""How the simulated people behave: where stops fail, how recipients answer, what dispatchers do.

Pure functions of a ``random.Random`` and what the person can see; the engine
(``demo.simulation.engine``) asks them and carries the answers out through
the product's own interfaces. The figures below are stated assumptions, kept in
one place so a reader can weigh them:

- Where and why stops fail is the city's (``demo.simulation.world``): the
  building, the household, the hour and the code the driver arrives with,
  scaled to the day's exception rate.
- About three recipients in four answer a first text; half of the rest answer a
  reminder. Answers come after a log-normal delay (median 4 min, one in ten
  after 25 min).
- What a recipient answers depends on why the stop failed (an access failure is
  mostly answered with a code).
- A dispatcher approves what waits for approval; otherwise calls the recipient
  and, most of the time, gets a code or agrees a window; a few parcels go back.
- Asked ahead of the driver (prevention), one recipient in two answers, with
  what they were asked for most of the time. Asked several things, someone who
  will be out when the driver comes answers about that (they know their day);
  anyone else answers the first. What they said averts the failure the driver
  would have met when it is the answer to it: a code at a locked door (through
  the vault), "I'll be in from 5" or a safe place when nobody is home.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from demo.day.history import FAILURE_NOTES
from demo.simulation import world

FIRST_REPLY_ODDS = 0.75
REMINDER_REPLY_ODDS = 0.5
FOLLOW_UP_REPLY_ODDS = 0.85  # after answering once, asked again (e.g. to clarify)
REPLY_MEDIAN_SECONDS = 240.0
REPLY_SIGMA = 1.4  # log-normal: ~10 % answer after 25 min
REPLY_MAX_SECONDS = 3 * 3600.0

# What a recipient answers, by the failed scan's reason: (intent in the corpus, weight).
ACCESS_ANSWERS = (
    ("ACCESS_CODE", 62), ("AVAILABLE_NOW", 12), ("SAFE_DROP", 8), ("RESCHEDULE", 8), ("NEIGHBOR", 3),
    ("UNCLEAR", 4), ("CALL_REQUEST", 2), ("OPT_OUT", 1),
)  # fmt: skip
ABSENT_ANSWERS = (
    ("RESCHEDULE", 34), ("SAFE_DROP", 24), ("NEIGHBOR", 16), ("AVAILABLE_NOW", 8), ("PICKUP_POINT", 6),
    ("UNCLEAR", 6), ("CALL_REQUEST", 3), ("REFUSE", 2), ("OPT_OUT", 1),
)  # fmt: skip
# Asked how to find the door, most describe it; some would rather talk it through.
ADDRESS_ANSWERS = (
    ("DIRECTIONS", 55), ("CALL_REQUEST", 20), ("UNCLEAR", 8), ("RESCHEDULE", 7), ("AVAILABLE_NOW", 5),
    ("SAFE_DROP", 4), ("OPT_OUT", 1),
)  # fmt: skip
# The public reply corpus holds no directions (its address-not-found replies ask for a call): these stand in.
DIRECTIONS_LINES = (
    "Its the back building, entrance off the alley",
    "Blue door around the side next to the garage",
    "Coach house behind the main house, go down the driveway",
    "Unit is above the laundromat, door on the left of the shop",
    "Building C at the back of the parking lot, second floor",
    "La entrada está por el callejón, puerta verde",
)
BUSINESS_ANSWERS = (("RESCHEDULE", 60), ("AVAILABLE_NOW", 18), ("UNCLEAR", 10), ("CALL_REQUEST", 10), ("REFUSE", 2))
ANSWERS_BY_REASON = {
    "ACCESS_DENIED": ACCESS_ANSWERS,
    "WRONG_ACCESS_CODE": ACCESS_ANSWERS,
    "GATE_CLOSED": ACCESS_ANSWERS,
    "ADDRESS_NOT_FOUND": ADDRESS_ANSWERS,
    "RECIPIENT_ABSENT": ABSENT_ANSWERS,
    "UNSAFE_LOCATION": ABSENT_ANSWERS,
    "REFUSED": ABSENT_ANSWERS,
    "BUSINESS_CLOSED": BUSINESS_ANSWERS,
}
# A code from a recipient opens the door this often (codes change, digits get swapped).
CODE_WORKS_ODDS = 0.92
# A recipient who said "coming down" / "leave it with 4B" is there when the driver is back.
RETRY_WORKS_ODDS = 0.95


# Ahead of arrival: a text saying the parcel comes today and asking for one thing is answered more often than
# a cold one after a failure is not; half is a middle reading of carriers' reports (one in five volunteer a code
# or instructions unasked).
PREARRIVAL_REPLY_ODDS = 0.5
PREARRIVAL_ANSWERS = {
    "access_code": (("ACCESS_CODE", 80), ("AVAILABLE_NOW", 8), ("SAFE_DROP", 4), ("UNCLEAR", 8)),
    "availability": (("RESCHEDULE", 40), ("AVAILABLE_NOW", 35), ("SAFE_DROP", 10), ("NEIGHBOR", 5), ("UNCLEAR", 10)),
    "safe_place": (("SAFE_DROP", 70), ("NEIGHBOR", 15), ("AVAILABLE_NOW", 5), ("UNCLEAR", 10)),
}
ABSENCE_REASONS = frozenset({"RECIPIENT_ABSENT", "UNSAFE_LOCATION"})


def pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    total = sum(weight for _, weight in weighted)
    mark = rng.uniform(0, total)
    for value, weight in weighted:
        mark -= weight
        if mark <= 0:
            return value
    return weighted[-1][0]


@dataclass(frozen=True)
class Failure:
    reason_code: str
    note: str


def failure_scale(totals: Sequence[float], exception_rate: float) -> float:
    """The factor on the city's odds that makes the day's expected share of failed first attempts ``exception_rate``.

    ``totals``: each stop's odds of failing at its planned arrival (``world.failure_odds`` summed).
    """
    mean = sum(totals) / len(totals) if totals else 0.0
    return exception_rate / mean if mean > 0 else 0.0


def stop_failure(
    rng: random.Random, *, mark: float, odds: list[tuple[str, float]], scale: float, retry: bool
) -> Failure | None:
    """Does this attempt fail, and why? ``mark``: the attempt's uniform draw in [0, 1).

    ``retry``: the driver came back on an answer from the recipient.
    """
    if retry:
        return None if mark < RETRY_WORKS_ODDS else Failure("RECIPIENT_ABSENT", "Still nobody there.")
    reason = world.failure_draw(odds, mark, scale=scale)
    if reason is None:
        return None
    return Failure(reason, rng.choice(FAILURE_NOTES.get(reason, ("",))))


def code_attempt_fails(rng: random.Random) -> bool:
    return rng.random() >= CODE_WORKS_ODDS


# --- Recipients -------------------------------------------------------------------------------------------------


class Corpus:
    """Reply lines by intent, from a file in the format of the replies benchmark (``reply``, ``intent`` columns)."""

    def __init__(self, by_intent: dict[str, list[str]]) -> None:
        self.by_intent = by_intent

    @classmethod
    def load(cls, path: Path) -> Corpus:
        by_intent: dict[str, list[str]] = defaultdict(list)
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = {"reply", "intent"} - set(reader.fieldnames or ())
            if missing:
                raise ValueError(f"{path}: the replies file needs the columns {', '.join(sorted(missing))}")
            for row in reader:
                if row["reply"].strip():
                    by_intent[row["intent"].strip().upper()].append(row["reply"])
        if not by_intent:
            raise ValueError(f"{path}: no replies in the file")
        return cls(dict(by_intent))

    def line(self, rng: random.Random, intent: str) -> str:
        lines = (
            self.by_intent.get(intent)
            or (list(DIRECTIONS_LINES) if intent == "DIRECTIONS" else None)
            or self.by_intent.get("UNCLEAR")
            or next(iter(self.by_intent.values()))
        )
        return rng.choice(lines)


@dataclass(frozen=True)
class Reply:
    delay_seconds: float
    text: str
    intent: str


def recipient_reply(
    rng: random.Random, corpus: Corpus, *, reason_code: str, prompt_number: int, answered_before: int
) -> Reply | None:
    """The recipient's answer to our ``prompt_number``-th text about this stop (1 = the first), or None."""
    first = FIRST_REPLY_ODDS if prompt_number <= 1 else REMINDER_REPLY_ODDS
    odds = FOLLOW_UP_REPLY_ODDS if answered_before else first
    if rng.random() >= odds:
        return None
    delay = min(REPLY_MAX_SECONDS, rng.lognormvariate(math.log(REPLY_MEDIAN_SECONDS), REPLY_SIGMA))
    answers = ANSWERS_BY_REASON.get(reason_code, ABSENT_ANSWERS)
    if answered_before:  # asked again after an answer we could not use: a plainer answer
        answers = tuple((intent, w) for intent, w in answers if intent not in ("UNCLEAR", "OPT_OUT")) or answers
    intent = pick(rng, [(intent, float(w)) for intent, w in answers])
    return Reply(delay_seconds=max(20.0, delay), text=corpus.line(rng, intent), intent=intent)


# --- Dispatchers ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DispatcherMove:
    action: str  # a board action: approve, access-code, window, return
    body: dict[str, object]


def dispatcher_move(
    rng: random.Random, *, reason_code: str, pending_approval: bool, local_now: dt.datetime
) -> DispatcherMove:
    """What a dispatcher does with a case that needs one, after calling the recipient when it helps."""
    if pending_approval:
        return DispatcherMove("approve", {})
    roll = rng.random()
    if reason_code in ("ACCESS_DENIED", "WRONG_ACCESS_CODE", "GATE_CLOSED") and roll < 0.6:
        return DispatcherMove("access-code", {"code": f"{rng.randrange(10_000):04d}"})
    if roll < 0.94:
        start = local_now + dt.timedelta(hours=2)
        if start.hour >= 19:  # too late today: tomorrow morning
            start = (local_now + dt.timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
        start = start.replace(minute=0, second=0, microsecond=0)
        return DispatcherMove(
            "window",
            {"window_start": start.isoformat(), "window_end": (start + dt.timedelta(hours=3)).isoformat()},
        )
    return DispatcherMove("return", {"note": "Recipient asked to send it back."})


def handling_seconds(rng: random.Random, mean_minutes: float) -> float:
    """How long a dispatcher spends on one case: at least a minute, exponential around the mean."""
    return 60.0 + rng.expovariate(1.0 / max(1.0, mean_minutes * 60.0 - 60.0))


def prearrival_reply(rng: random.Random, corpus: Corpus, *, missing: Sequence[str], out: bool = False) -> Reply | None:
    """The recipient's answer to the text sent ahead of the driver, or None.

    ``out``: nobody will be in when the driver comes, which the recipient knows. Asked several things, they
    answer the one that matters to them: being out, when asked whether someone will be in; else the first thing
    asked.
    """
    if rng.random() >= PREARRIVAL_REPLY_ODDS:
        return None
    asked = prearrival_answered(missing, out=out)
    intent = pick(rng, [(intent, float(w)) for intent, w in PREARRIVAL_ANSWERS[asked]])
    delay = min(REPLY_MAX_SECONDS, rng.lognormvariate(math.log(REPLY_MEDIAN_SECONDS), REPLY_SIGMA))
    return Reply(delay_seconds=max(20.0, delay), text=corpus.line(rng, intent), intent=intent)


def prearrival_answered(missing: Sequence[str], *, out: bool) -> str:
    """Which of the things asked ahead a recipient answers (a key of ``PREARRIVAL_ANSWERS``)."""
    asked = [item for item in missing if item in PREARRIVAL_ANSWERS]
    if out:
        about_being_in = [item for item in asked if item in ("availability", "safe_place")]
        if about_being_in:
            return about_being_in[0]
    return asked[0] if asked else "availability"


def averted(rng: random.Random, failure: Failure, learned: dict[str, object]) -> bool:
    """Did what the recipient told us ahead of time get the driver past nobody being home?

    A code learned ahead needs no such test: it is in the vault, and the city's
    odds of getting in (``world.code_state``) already count it.
    """
    if failure.reason_code in ABSENCE_REASONS and any(
        learned.get(key) for key in ("home", "window", "safe_place", "neighbour")
    ):
        return rng.random() < RETRY_WORKS_ODDS
    return False
