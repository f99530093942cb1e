"""How the simulated people behave: what recipients mean to say, and what dispatchers do.

Pure functions of a ``random.Random`` and what the person knows: their own day (``demo.simulation.world``:
when they are in, the building's code) and what the text in front of them says. None reads the product's
records or beliefs. What a recipient means becomes words in ``demo.simulation.speech``.

Every behavioural rate has a default and where it comes from; the bench (``bench/simulation.py``) runs the
day at the defaults and at the ends of their ranges.

- Replies after a failure: 30 % answer the first text and 15 % of the rest a reminder, 40 % in all. Two-way
  transactional SMS is answered 30-45 % of the time (the range the figures audit cites from betwext.com and
  worldmetrics.org, ``../shared/reviews/figures-audit-2026-12.md``). Range in the bench: 20 %-60 % in all.
- Codes volunteered: of those who answer after an access failure, 73 % give a code, so 22 % of recipients give
  one on the first text, the share a carrier measured (PRODUCT.md, "22 % of recipients volunteered gate codes or
  instructions when asked"). A code given is the building's current code 90 % of the time (assumption, as the
  audit proposes); otherwise an old one.
- Replies to a text ahead of the driver: 22 %, the same carrier's figure. Range: 11 %-44 %. A notice (out for
  delivery, arriving, delayed) is such a text: the carrier's 22 % answered exactly that, a text when the parcel was
  loaded that gave the window and invited instructions (signalmash.com's case study, cited in the figures audit). A
  recipient answers the first text ahead they answer at all, not each one.
- The link: of those who answer a text that carries the self-service link, ``link_share`` answer on the page
  instead of in words, when the page offers what they mean (a code, a time, a place, a neighbour, a pickup point,
  "home now", a call, a refusal); the rest, and everyone with something the page has no button for, text. No
  published share was found for a delivery page against a reply (DPD Predict's design expects most changes on its
  page, without a figure); 30 % is an assumption, swept 0 %-60 % in ``bench/recipient_side.py``. Using the page
  changes how the answer is read (no misreading a button) and which times are offered (those routing can serve),
  not whether the recipient answers.
- What an unanswered text ahead does: nothing by default (no source was found for an effect); ``heads_up`` is the
  share of recipients who would be out that arrange to be in or leave word anyway. Range: 0 %-20 %. The same holds
  for a notice: DPD says its notice works mostly without a reply ("if that suits them, they have nothing to do")
  but publishes no figure, and the 25-35 % fewer failures vendors claim are unsourced (the figures audit).
- Phone coverage: 90 % of recipients can be reached by SMS; the rest never read our texts (a landline, a missing
  or dead number). The audit cites 5-15 % unreachable in parcel data; 10 % is its middle.
- Replies come after a log-normal delay: median 4 min, one in ten after 25 min (assumption).
- After an outcome notice, 8 % write back: half to ask for a call, half to say thanks (assumption, in line with
  the 9 call requests in 1,000 texts the audit counted).
- A dispatcher calls the recipient and reaches them 60 % of the time (assumption). Reached, the recipient tells
  the truth: the building's code, or when someone is in; not reached, the parcel goes to tomorrow morning. A
  parcel already delivered or sent back (the recipient wrote after its case ended) is settled by the call.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

FIRST_REPLY_ODDS: Final = 0.30
REMINDER_REPLY_ODDS: Final = 0.15
FOLLOW_UP_REPLY_ODDS: Final = 0.6  # asked again after answering once (e.g. to clarify): already in the conversation
PREARRIVAL_REPLY_ODDS: Final = 0.22
LINK_SHARE: Final = 0.3
CODE_GIVEN_ODDS: Final = 0.73
CODE_RIGHT_ODDS: Final = 0.9
PHONE_COVERAGE: Final = 0.9
OUTCOME_REPLY_ODDS: Final = 0.08
CALL_REACH_ODDS: Final = 0.6
REPLY_MEDIAN_SECONDS: Final = 240.0
REPLY_SIGMA: Final = 1.4  # log-normal: ~10 % answer after 25 min
REPLY_MAX_SECONDS: Final = 3 * 3600.0

ACCESS_REASONS: Final = frozenset({"ACCESS_DENIED", "WRONG_ACCESS_CODE", "GATE_CLOSED"})
ABSENCE_REASONS: Final = frozenset({"RECIPIENT_ABSENT", "UNSAFE_LOCATION"})

# What else a recipient says, by why the stop failed: (intent, weight). A code after an access failure is
# CODE_GIVEN_ODDS of all answers; "coming down" only when someone is in; a time only when one fits their day.
ACCESS_OTHERS: Final = (
    ("AVAILABLE_NOW", 40),
    ("RESCHEDULE", 25),
    ("SAFE_DROP", 15),
    ("CALL_REQUEST", 10),
    ("UNCLEAR", 10),
)
ABSENT_ANSWERS: Final = (
    ("RESCHEDULE", 36), ("SAFE_DROP", 22), ("NEIGHBOR", 14), ("PICKUP_POINT", 6), ("CALL_REQUEST", 8),
    ("REFUSE", 2), ("UNCLEAR", 9), ("OPT_OUT", 3),
)  # fmt: skip
ADDRESS_ANSWERS: Final = (("DIRECTIONS", 60), ("CALL_REQUEST", 20), ("RESCHEDULE", 7), ("UNCLEAR", 10), ("OPT_OUT", 3))
BUSINESS_ANSWERS: Final = (("RESCHEDULE", 65), ("CALL_REQUEST", 15), ("UNCLEAR", 17), ("OPT_OUT", 3))
REFUSED_ANSWERS: Final = (("REFUSE", 70), ("CALL_REQUEST", 20), ("UNCLEAR", 10))
DAMAGED_ANSWERS: Final = (("CALL_REQUEST", 50), ("REFUSE", 20), ("UNCLEAR", 30))
# Ahead of the driver, someone who will be out says how to manage; someone behind a locked door gives the code.
AHEAD_OUT: Final = (("RESCHEDULE", 45), ("SAFE_DROP", 30), ("NEIGHBOR", 15), ("UNCLEAR", 10))
AHEAD_IN: Final = (("AVAILABLE_NOW", 60), ("SAFE_DROP", 25), ("UNCLEAR", 15))


def pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    total = sum(weight for _, weight in weighted)
    mark = rng.uniform(0, total)
    for value, weight in weighted:
        mark -= weight
        if mark <= 0:
            return value
    return weighted[-1][0]


@dataclass(frozen=True)
class Rates:
    """The rates a day runs at; the bench varies them."""

    first_reply: float = FIRST_REPLY_ODDS
    reminder_reply: float = REMINDER_REPLY_ODDS
    ahead_reply: float = PREARRIVAL_REPLY_ODDS
    heads_up: float = 0.0
    phone_coverage: float = PHONE_COVERAGE
    link_share: float = LINK_SHARE

    def scaled(self, factor: float) -> Rates:
        """Every reply rate times ``factor`` (capped at 0.95)."""
        return Rates(
            first_reply=min(0.95, self.first_reply * factor),
            reminder_reply=min(0.95, self.reminder_reply * factor),
            ahead_reply=min(0.95, self.ahead_reply * factor),
            heads_up=self.heads_up,
            phone_coverage=self.phone_coverage,
            link_share=self.link_share,
        )


@dataclass(frozen=True)
class Situation:
    """What the recipient knows when they read our text: why the driver failed, and their own day."""

    reason: str
    in_now: bool  # someone is in (or the business is open) now
    later_today: bool  # someone will be in later today
    true_code: str
    old_code: str
    locked_building: bool  # a building whose door needs a code


@dataclass(frozen=True)
class Intention:
    """What the recipient decided to say, before words: an intent and, for a code, which code."""

    intent: str
    code: str = ""


def reply_delay(rng: random.Random) -> float:
    return max(20.0, min(REPLY_MAX_SECONDS, rng.lognormvariate(math.log(REPLY_MEDIAN_SECONDS), REPLY_SIGMA)))


def answers(rng: random.Random, rates: Rates, *, prompt_number: int, answered_before: int) -> bool:
    """Does the recipient answer our ``prompt_number``-th question about this stop (1 = the first)?"""
    odds = (
        FOLLOW_UP_REPLY_ODDS if answered_before else rates.first_reply if prompt_number <= 1 else rates.reminder_reply
    )
    return rng.random() < odds


def intention(rng: random.Random, situation: Situation) -> Intention:
    """What a recipient who answers after a failure means to say, from their own situation."""
    reason = situation.reason
    if reason in ACCESS_REASONS:
        if rng.random() < CODE_GIVEN_ODDS:
            return Intention("ACCESS_CODE", _code(rng, situation))
        return Intention(_possible(rng, ACCESS_OTHERS, situation))
    table = {
        "ADDRESS_NOT_FOUND": ADDRESS_ANSWERS,
        "BUSINESS_CLOSED": BUSINESS_ANSWERS,
        "REFUSED": REFUSED_ANSWERS,
        "DAMAGED": DAMAGED_ANSWERS,
    }.get(reason, ABSENT_ANSWERS)
    if situation.in_now and reason not in ("REFUSED", "DAMAGED") and rng.random() < 0.5:
        return Intention("AVAILABLE_NOW")  # back already, or the buzzer was not heard
    return Intention(_possible(rng, table, situation))


def _possible(rng: random.Random, table: Sequence[tuple[str, float]], situation: Situation) -> str:
    """An intent from ``table`` that the recipient's day allows: no "coming down" when out, no time when none fits."""
    allowed = [(intent, weight) for intent, weight in table if not (intent == "AVAILABLE_NOW" and not situation.in_now)]
    return pick(rng, allowed or table)


def _code(rng: random.Random, situation: Situation) -> str:
    return situation.true_code if rng.random() < CODE_RIGHT_ODDS else situation.old_code


def ahead_intention(rng: random.Random, situation: Situation, *, out_later: bool) -> Intention:
    """What a recipient answers to a text ahead of the driver: a code for a locked building, else about being in."""
    if situation.locked_building and rng.random() < 0.6:
        return Intention("ACCESS_CODE", _code(rng, situation))
    return Intention(pick(rng, AHEAD_OUT if out_later else AHEAD_IN))


def outcome_intention(rng: random.Random) -> Intention | None:
    """After we said what happens next: most say nothing; a few ask for a call or say thanks."""
    if rng.random() >= OUTCOME_REPLY_ODDS:
        return None
    return Intention("CALL_REQUEST" if rng.random() < 0.5 else "THANKS")


# --- Dispatchers ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DispatcherMove:
    action: str  # a board action: approve, access-code, window, return, resolve
    body: dict[str, object]


def dispatcher_move(
    rng: random.Random,
    *,
    reason_code: str,
    pending_approval: bool,
    local_now: dt.datetime,
    true_code: str,
    in_from: dt.datetime | None,
    order_status: str = "",
) -> DispatcherMove:
    """What a dispatcher does with a case that needs one, after calling the recipient.

    ``in_from``: when the recipient, if reached, says someone is in (local), or None if not today.
    ``order_status``: a parcel already delivered or sent back (the recipient wrote after its case ended) does not
    go out again: the call settles it, and the case is resolved or the return confirmed.
    """
    if order_status == "delivered":
        return DispatcherMove("resolve", {"outcome": "delivered_on_retry", "note": "Called: it was delivered."})
    if order_status in ("returned", "cancelled"):
        return DispatcherMove("return", {"note": "Called: the parcel is going back."})
    if pending_approval:
        return DispatcherMove("approve", {})
    reached = rng.random() < CALL_REACH_ODDS
    if reason_code == "REFUSED" or (reason_code == "DAMAGED" and reached):
        return DispatcherMove("return", {"note": "Recipient asked to send it back."})
    if reached and reason_code in ACCESS_REASONS:
        return DispatcherMove("access-code", {"code": true_code})
    start = in_from if reached and in_from is not None else None
    if start is not None:
        start = max(start, local_now + dt.timedelta(minutes=30))
    if start is None or start.hour >= 19:  # not reached, or too late today: tomorrow morning
        start = (local_now + dt.timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    start = start.replace(second=0, microsecond=0)
    return DispatcherMove(
        "window",
        {"window_start": start.isoformat(), "window_end": (start + dt.timedelta(hours=3)).isoformat()},
    )


def handling_seconds(rng: random.Random, mean_minutes: float) -> float:
    """How long a dispatcher spends on one case: at least a minute, exponential around the mean."""
    return 60.0 + rng.expovariate(1.0 / max(1.0, mean_minutes * 60.0 - 60.0))
