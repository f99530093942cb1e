"""One attempt at a door, as the city is today: the driver gets in and finds someone, or does not.

The driver brings what the product gave them: the codes the app reveals at a shut door, directions on the
stop, an instruction to leave the parcel or that the recipient is coming down. Whether that works is the
city's truth (``demo.simulation.world``), never what the product believes: a code opens the door only if it
is the building's code today; a window helps only if someone is in when the driver comes.

What persists: a household's schedule and a building's code hold all day, and so does a parcel's need for a
hand (a signature, nowhere safe to leave it) and a recipient's refusal. A door that is stuck today (nobody
answers the buzzer, the gate is chained) or a place the driver cannot find stays so for the day, except that
on each attempt the driver is lucky (someone comes out, a neighbour points the way) with ``1 - persistence``.

``scale`` sets how often the city's troubles happen, so the day's first attempts fail at the asked rate
(``first_attempt_odds``); business hours are not scaled: a closed dock is closed.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from demo.simulation import world

# A place hard to find defeats a driver without directions on this share of days (before ``scale``).
LOST_DAY_ODDS: Final = 0.5
# A parcel needs someone at the door (a signature, no safe place, too big for the step): before ``scale``.
HANDOVER_ODDS: Final = 0.2
# In a multi-unit building this share of buildings has a concierge or a parcel room that takes it instead.
TAKES_PARCELS_SHARE: Final = 0.4
# Nobody home at a house: the driver's reason is an unsafe porch this often.
UNSAFE_SHARE: Final = 0.15
REFUSE_ODDS: Final = 0.004
DAMAGE_ODDS: Final = 0.002
CAP: Final = 0.95
DEFAULT_PERSISTENCE: Final = 0.85  # assumption; the audit's own sensitivity run used 0.6


@dataclass(frozen=True)
class Failure:
    reason_code: str
    note: str


@dataclass(frozen=True)
class AtTheDoor:
    """What the driver arrives with, from the app."""

    directions: bool = False
    leave: bool = False  # told to leave it (a safe place, a neighbour)
    expected: bool = False  # told the recipient is coming down or waiting


@dataclass(frozen=True)
class Parcel:
    """What holds for one order over all its attempts."""

    needs_hand: bool
    refused: bool
    absent_reason: str


@dataclass(frozen=True)
class Address:
    """The keys and kind of a delivery address, as the city knows it."""

    building: str
    household: str
    kind: str

    @property
    def place(self) -> world.Place:
        return world.place(self.building, self.kind)


def parcel(reference: str, kind: str, *, scale: float) -> Parcel:
    draw = random.Random(f"parcel:{reference}")  # noqa: S311
    return Parcel(
        needs_hand=draw.random() < min(CAP, HANDOVER_ODDS * scale),
        refused=draw.random() < min(CAP, REFUSE_ODDS * scale),
        absent_reason="UNSAFE_LOCATION" if kind == world.HOUSE and draw.random() < UNSAFE_SHARE else "RECIPIENT_ABSENT",
    )


def _stuck_today(address: Address, day: dt.date, *, scale: float) -> bool:
    draw = random.Random(f"stuck:{address.building}:{day.isoformat()}")  # noqa: S311
    return draw.random() < min(CAP, address.place.access_trouble * scale)


def _lost_today(address: Address, day: dt.date, *, scale: float) -> bool:
    draw = random.Random(f"lost:{address.building}:{day.isoformat()}")  # noqa: S311
    return address.place.hard_to_find and draw.random() < min(CAP, LOST_DAY_ODDS * scale)


def takes_parcels(address: Address) -> bool:
    draw = random.Random(f"concierge:{address.building}")  # noqa: S311
    return address.kind == world.MULTI_UNIT and draw.random() < TAKES_PARCELS_SHARE


def open_for_business(address: Address, hour: float) -> bool:
    open_, close = world.receiving_hours(address.building)
    return open_ <= hour < close


def somebody_in(address: Address, day: dt.date, hour: float) -> bool:
    if address.kind == world.BUSINESS:
        return open_for_business(address, hour)
    return world.home_at(address.household, day, hour)


def _locked_out(address: Address) -> str:
    if address.kind == world.GATED:
        draw = random.Random(f"gate:{address.building}")  # noqa: S311
        return "GATE_CLOSED" if draw.random() < 0.4 else "ACCESS_DENIED"
    return "ACCESS_DENIED"


def attempt(
    address: Address,
    order: Parcel,
    *,
    day: dt.date,
    hour: float,
    door: AtTheDoor,
    reveal: Callable[[], Sequence[str]],
    draw: random.Random,
    scale: float,
    persistence: float,
    notes: Callable[[str], str],
) -> Failure | None:
    """The attempt's outcome: None when the parcel is handed over or left, else the failure the driver scans.

    ``reveal`` asks the app for the codes on file (only at a shut door); ``draw`` is the attempt's own stream;
    ``notes`` gives the driver's note for a reason.
    """
    lucky = draw.random() >= persistence
    if _lost_today(address, day, scale=scale) and not door.directions and not lucky:
        return Failure("ADDRESS_NOT_FOUND", notes("ADDRESS_NOT_FOUND"))
    in_now = somebody_in(address, day, hour)
    if _stuck_today(address, day, scale=scale) and not (door.expected and in_now) and not lucky:
        codes = list(reveal())
        truth = world.building_code(address.building, day)
        if not any(world.code_opens(code, truth) for code in codes):
            reason = "WRONG_ACCESS_CODE" if codes else _locked_out(address)
            return Failure(reason, notes(reason))
    if order.refused:
        return Failure("REFUSED", notes("REFUSED"))
    if draw.random() < DAMAGE_ODDS * scale:
        return Failure("DAMAGED", notes("DAMAGED"))
    if address.kind == world.BUSINESS:
        return None if in_now else Failure("BUSINESS_CLOSED", notes("BUSINESS_CLOSED"))
    if order.needs_hand and not in_now and not door.leave and not takes_parcels(address):
        return Failure(order.absent_reason, notes(order.absent_reason))
    return None


def first_attempt_odds(
    address: Address, order_reference: str, *, day: dt.date, hour: float, persistence: float = DEFAULT_PERSISTENCE
) -> tuple[float, float]:
    """Expected failure of a first attempt at ``hour`` with no code on file: (the part ``scale`` multiplies, the rest).

    Summed over the day's stops, they give the scale that makes the first attempts fail at the asked rate, whatever
    the ``persistence``: it changes how often a second attempt meets the same trouble, not how often the first does.
    """
    place = address.place
    scaled = place.access_trouble * persistence + REFUSE_ODDS + DAMAGE_ODDS
    if place.hard_to_find:
        scaled += LOST_DAY_ODDS * persistence
    fixed = 0.0
    if address.kind == world.BUSINESS:
        fixed = 0.0 if open_for_business(address, hour) else 1.0
    elif not world.home_at(address.household, day, hour) and not takes_parcels(address):
        scaled += HANDOVER_ODDS
    return scaled, fixed


def failure_scale(odds: Sequence[tuple[float, float]], exception_rate: float) -> float:
    """The factor on the city's troubles that makes the expected share of failed first attempts ``exception_rate``."""
    if not odds:
        return 0.0
    scaled = sum(a for a, _ in odds)
    fixed = sum(b for _, b in odds)
    wanted = exception_rate * len(odds) - fixed
    return max(0.0, wanted / scaled) if scaled > 0 else 0.0
