"""The city the demo day and the simulator share: which places are hard to get into or to find, and who is out when.

The product never sees these traits, only what they cause: failed scans, codes
that open the door or not. The history the demo seeds and the day
``simulate_day`` plays are both drawn from them, so what happened at a place
before says something about today, as it does on real routes. Each trait is
drawn from a stable key (the building, the household), the same whatever the
seed: the city does not change between two simulated days.

Stated assumptions, in one place:

- Getting in. Gated communities and multi-unit buildings need a code or someone
  to open. How hard each one is without a code varies (a concierge, a buzzer
  someone answers, a gate left open): drawn once per building, on average about
  one gated arrival in nine and one multi-unit arrival in thirteen without a
  code is stuck outside. A code seen to work, or given by someone who lives there
  lately, opens the door 92 times in 100; a code on file never seen to work
  (imported, weeks old) about half the time; a flagged code is not revealed to
  the driver, so it is no code at all.
- Being in. About one household in three is out during working hours
  (09:00-17:00 local): one of their parcels in five finds nobody home then.
  The others are seldom out.
- Finding it. A few places (2 %) are hard to find (a unit missing from the
  buzzer list, a back building) and stay so, until the driver has directions.
- The rest (refusals, damage, an unsafe porch, a closed business) is rare and
  does not follow the place.

The odds here are per attempt and average about one failed first attempt in
eight over the demo's mix of buildings, four in ten of them nobody home and
three in ten getting in; the simulator scales them to its ``--exception-rate``.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Final

# The kinds of building, spelled as addresses carry them (dispatch.models.Address.BuildingType).
GATED: Final[str] = "gated"
MULTI_UNIT: Final[str] = "multi_unit"
HOUSE: Final[str] = "house"
BUSINESS: Final[str] = "business"

# How a driver arrives, as far as codes go.
CODE_WORKING: Final = "working"  # seen to work, or given lately by someone who lives there
CODE_UNPROVEN: Final = "unproven"  # on file, never seen to work
CODE_NONE: Final = "none"  # nothing on file the app will reveal
CODE_OPENS: Final = {CODE_WORKING: 0.92, CODE_UNPROVEN: 0.5, CODE_NONE: 0.0}

# Stuck outside without a code: the building's own odds are drawn uniformly in this range.
ACCESS_TROUBLE: Final[dict[str, tuple[float, float]]] = {
    GATED: (0.03, 0.2),
    MULTI_UNIT: (0.02, 0.13),
    HOUSE: (0.0, 0.01),
    BUSINESS: (0.0, 0.02),
}
# How a building keeps a driver out when there is no code: (reason, weight).
LOCKED_OUT: Final[dict[str, tuple[tuple[str, float], ...]]] = {
    GATED: (("ACCESS_DENIED", 0.6), ("GATE_CLOSED", 0.4)),
    MULTI_UNIT: (("ACCESS_DENIED", 1.0),),
    HOUSE: (("ACCESS_DENIED", 1.0),),
    BUSINESS: (("ACCESS_DENIED", 1.0),),
}

WORKING_HOURS: Final = (9, 17)
OUT_AT_WORK_SHARE: Final = 0.33
# Nobody home, by household and hour. A business has receiving hours instead.
ABSENT_OUT_AT_WORK: Final = {"work": 0.2, "home": 0.03}
ABSENT_OTHERS: Final = {"work": 0.015, "home": 0.01}
# In a building, a parcel for someone out is more often taken in by a concierge or left in a parcel room.
ABSENT_FACTOR: Final[dict[str, float]] = {HOUSE: 1.0, GATED: 1.0, MULTI_UNIT: 0.6, BUSINESS: 0.0}

HARD_TO_FIND_SHARE: Final = 0.02
NOT_FOUND: Final = {True: 0.2, False: 0.001}

# The rest, per attempt, by building type.
OTHER: Final[dict[str, tuple[tuple[str, float], ...]]] = {
    HOUSE: (("UNSAFE_LOCATION", 0.008), ("REFUSED", 0.004), ("DAMAGED", 0.002)),
    GATED: (("REFUSED", 0.004), ("DAMAGED", 0.002)),
    MULTI_UNIT: (("REFUSED", 0.003), ("DAMAGED", 0.002)),
    BUSINESS: (("BUSINESS_CLOSED", 0.07), ("REFUSED", 0.004), ("DAMAGED", 0.002)),
}


@dataclass(frozen=True)
class Place:
    """A building: how hard it is to get into without a code, and whether it is hard to find."""

    building_type: str
    access_trouble: float
    hard_to_find: bool


@dataclass(frozen=True)
class Household:
    out_at_work: bool


def building_key(*, postal_code: str, line1: str) -> str:
    return f"{postal_code}|{line1.strip().lower()}"


def household_key(*, postal_code: str, line1: str, unit: str) -> str:
    return f"{building_key(postal_code=postal_code, line1=line1)}|{unit.strip().lower()}"


def place(key: str, building_type: str) -> Place:
    draw = random.Random(f"place:{key}")  # noqa: S311 - a model of the city, not a secret
    low, high = ACCESS_TROUBLE.get(building_type, ACCESS_TROUBLE[HOUSE])
    return Place(
        building_type=building_type,
        access_trouble=draw.uniform(low, high),
        hard_to_find=draw.random() < HARD_TO_FIND_SHARE,
    )


def household(key: str) -> Household:
    draw = random.Random(f"household:{key}")  # noqa: S311
    return Household(out_at_work=draw.random() < OUT_AT_WORK_SHARE)


def failure_odds(
    site: Place, home: Household, *, hour: int, code: str, directions: bool = False
) -> list[tuple[str, float]]:
    """The chance of each way this attempt can fail, in the order the driver meets them at the door.

    ``directions``: the driver has the way to the door (on the address's notes), so a hard place is found.
    """
    kind = site.building_type
    odds: list[tuple[str, float]] = []
    odds.append(("ADDRESS_NOT_FOUND", NOT_FOUND[site.hard_to_find and not directions]))
    # Getting in: a code that opens the door, else the building's own odds of keeping the driver out.
    opens = CODE_OPENS.get(code, 0.0)
    if code != CODE_NONE:
        odds.append(("WRONG_ACCESS_CODE", site.access_trouble * (1.0 - opens)))
    else:
        for reason, share in LOCKED_OUT.get(kind, LOCKED_OUT[HOUSE]):
            odds.append((reason, site.access_trouble * share))
    at_work = WORKING_HOURS[0] <= hour < WORKING_HOURS[1]
    absent = (ABSENT_OUT_AT_WORK if home.out_at_work else ABSENT_OTHERS)["work" if at_work else "home"]
    odds.append(("RECIPIENT_ABSENT", absent * ABSENT_FACTOR.get(kind, 1.0)))
    odds.extend(OTHER.get(kind, OTHER[HOUSE]))
    return [(reason, p) for reason, p in odds if p > 0]


def failure_draw(odds: list[tuple[str, float]], mark: float, *, scale: float = 1.0, cap: float = 0.9) -> str | None:
    """Which failure, if any, a uniform ``mark`` in [0, 1) lands on.

    An attempt fails when the mark falls under the total odds, so the same mark
    against lower odds (a code learned ahead, say) never fails where the higher
    ones did not: days with and without a change compare attempt by attempt.
    """
    total = sum(p for _, p in odds) * scale
    factor = scale * (cap / total if total > cap else 1.0)
    for reason, p in odds:
        mark -= p * factor
        if mark < 0:
            return reason
    return None


# --- The day as it is: what the simulated day is judged against -------------------------------------------------------
#
# The odds above are what a building or household is like on average; the history the demo seeds is drawn from
# them. A simulated day meets the city as it is on that date: who is in at each hour, the code that opens each
# door, whether a building's door is stuck today. Each is drawn from the building's or household's key and the
# date, so a second attempt on the same day meets the same schedule and the same code; the product sees none of it.

# Households out at work leave between 07:00 and 09:00 and are back between 16:30 and 19:00 on weekdays. About one
# employed person in three works from home on days worked (BLS American Time Use Survey 2023), which is why
# OUT_AT_WORK_SHARE is a third of households rather than the employment rate (about 60 %).
LEAVE_HOURS: Final = (7.0, 9.0)
BACK_HOURS: Final = (16.5, 19.0)
# Anyone may be out on an errand: one block of 1 to 3 hours between 09:00 and 19:00 on this share of days
# (assumption: chosen so that others are seldom out, as the history's odds say).
ERRAND_SHARE: Final = 0.3
ERRAND_HOURS: Final = (1.0, 3.0)
# A code changes now and then: each building's code changes in a given 30-day period with this chance (assumption).
CODE_CHANGE_MONTHLY: Final = 0.08
# A business receives in its own hours: (open, close, weight), as the demo's plan writes them.
RECEIVING_HOURS: Final = ((9, 17, 60), (8, 17, 15), (8, 18, 10), (10, 18, 10), (7, 15, 5))


def _day_draw(*parts: object) -> random.Random:
    return random.Random(":".join(str(part) for part in parts))  # noqa: S311 - a model of the city


def away_hours(key: str, day: dt.date) -> list[tuple[float, float]]:
    """The blocks of local hours nobody is in at the household ``key`` on ``day``."""
    draw = _day_draw("away", key, day.isoformat())
    blocks: list[tuple[float, float]] = []
    if household(key).out_at_work and day.weekday() < 5:
        blocks.append((draw.uniform(*LEAVE_HOURS), draw.uniform(*BACK_HOURS)))
    if draw.random() < ERRAND_SHARE:
        start = draw.uniform(9.0, 18.0)
        blocks.append((start, start + draw.uniform(*ERRAND_HOURS)))
    return blocks


def home_at(key: str, day: dt.date, hour: float) -> bool:
    return not any(start <= hour < end for start, end in away_hours(key, day))


def next_home(key: str, day: dt.date, hour: float, *, until: float = 20.0) -> float | None:
    """The first local hour from ``hour`` on ``day`` when someone is in, before ``until``; None if none."""
    at = hour
    for start, end in sorted(away_hours(key, day)):
        if start <= at < end:
            at = end
    return at if at < until and home_at(key, day, at) else None


def building_code(key: str, day: dt.date) -> str:
    """The code that opens the building's door on ``day``: four digits, changed now and then."""
    period = day.toordinal() // 30
    changed = next(
        (
            month
            for month in range(period, period - 120, -1)
            if _day_draw("recode", key, month).random() < CODE_CHANGE_MONTHLY
        ),
        0,
    )
    return f"{_day_draw('code', key, changed).randrange(10_000):04d}"


def code_opens(secret: str, truth: str) -> bool:
    """Does a code as written on file or in a text (``#4417``, ``Lockbox on the railing: 4417``) open the door?"""
    return truth in "".join(ch for ch in secret if ch.isdigit())


def receiving_hours(key: str) -> tuple[int, int]:
    draw = _day_draw("receiving", key)
    total = sum(weight for _, _, weight in RECEIVING_HOURS)
    mark = draw.uniform(0, total)
    for open_, close, weight in RECEIVING_HOURS:
        mark -= weight
        if mark <= 0:
            return open_, close
    return RECEIVING_HOURS[0][0], RECEIVING_HOURS[0][1]
