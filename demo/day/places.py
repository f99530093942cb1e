"""The demo day's doors and parcels: houses, buildings, gated townhomes and businesses on the grid, one order each.

Sites are drawn on the streets' blocks, each with its building type, units and notes; every unit gets
today's parcel for one recipient: its address, its order and the minutes the driver spends there.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from demo.day.depot import DEMO_PREFIX, DEPOT_LATITUDE, DEPOT_LONGITUDE, HIGH_VALUE, SERVICE_RADIUS_KM
from demo.day.draw import pick
from demo.day.people import BUSINESS_KINDS, LAST_NAMES_EN, LAST_NAMES_ES, recipient_draw
from demo.day.streets import (
    NO_ADDRESSES,
    NUMBERS_PER_MILE,
    distance_km,
    grid_miles_north,
    grid_point,
    in_area,
    point_offset,
    street_blocks,
    zip_code,
)
from dispatch.models import AccessCredential, Address, Depot, Order, Recipient

HOUSE: Final[str] = Address.BuildingType.HOUSE
MULTI_UNIT: Final[str] = Address.BuildingType.MULTI_UNIT
GATED: Final[str] = Address.BuildingType.GATED
BUSINESS: Final[str] = Address.BuildingType.BUSINESS

HOUSE_NOTES: Final = (
    "Side door off the gangway.",
    "Enclosed front porch; the outer door is usually unlocked.",
    "Dog in the back yard - use the front door.",
    "Package box on the front steps.",
    "Garage entrance off the alley.",
    "Ring twice, please; the bell is hard to hear upstairs.",
    "Coach house at the back of the lot.",
)
WALKUP_NOTES: Final = (
    "Buzzer panel at the front door; no mailroom.",
    "Courtyard building: entrance on the {side} side of the courtyard.",
    "Front door locks at 6 pm; use the buzzer.",
    "Vestibule buzzer sticks - press firmly.",
    "Back stairs to the upper units from the alley.",
    "Garden unit entrance is below the front steps.",
)
TOWER_NOTES: Final = (
    "Doorman building: the front desk signs for parcels.",
    "Receiving dock off the alley, 8 am to 4 pm.",
    "Package room next to the elevators; it needs a code.",
    "Service entrance on the {side} side; check in with security.",
)
GATED_NOTES: Final = (
    "Gated townhomes: call box at the {side} gate.",
    "Vehicle gate on the alley side; the pedestrian gate sticks.",
    "Security gate closes at 6 pm; the call box lists units by number.",
    "Gate code needed for the pedestrian gate on the {side} side.",
)
BUSINESS_NOTES: Final = (
    "Use the front counter.",
    "Rear door off the alley; ring the bell.",
    "Ask for the manager on duty.",
    "Loading dock in back.",
    "Second-floor office; stairs to the left of the storefront.",
)
SIDES: Final = ("north", "south", "east", "west")

# (open, close, weight): a business's receiving hours; 09:00-17:00 when it fits the plan.
BUSINESS_HOURS: Final = ((9, 17, 60), (8, 17, 15), (8, 18, 10), (10, 18, 10), (7, 15, 5))


@dataclass(eq=False)
class Site:
    """One front door on the grid: a house, a building, a gated complex or a business."""

    index: int
    line1: str
    building_type: str
    point: tuple[float, float]
    postal_code: str
    tower: bool
    business_name: str = ""
    credentials: list[AccessCredential] = field(default_factory=list)
    # Kilometres east and north of the depot: cheap distances for the sweep and nearest neighbour.
    xy: tuple[float, float] = (0.0, 0.0)


@dataclass(eq=False)
class Delivery:
    """Today's parcel for one recipient at one address: its order, and where it sits in a run."""

    site: Site
    address: Address
    recipient: Recipient
    order: Order
    service_minutes: int
    angle: float = 0.0
    run_index: int = -1
    arrival_minutes: int = 0  # after local midnight


def _building_type(rng: random.Random, *, miles_from_loop: float, arterial: bool) -> str:
    if miles_from_loop < 1.2:
        weights = {HOUSE: 2.0, MULTI_UNIT: 50.0, GATED: 4.0, BUSINESS: 30.0}
    elif miles_from_loop < 3.0:
        weights = {HOUSE: 48.0, MULTI_UNIT: 26.0, GATED: 8.0, BUSINESS: 12.0}
    else:
        weights = {HOUSE: 66.0, MULTI_UNIT: 17.0, GATED: 5.0, BUSINESS: 9.0}
    if arterial:
        weights[BUSINESS] *= 3.0
        weights[HOUSE] *= 0.4
    else:
        weights[BUSINESS] *= 0.3
    return pick(rng, list(weights.items()))


def _units(rng: random.Random, *, building_type: str, tower: bool, wanted: int) -> list[str]:
    """Unit labels for today's deliveries to one building (one label per delivery)."""
    if building_type == HOUSE:
        return [""]
    if building_type == BUSINESS:
        if rng.random() < 0.35:
            return [f"Ste {rng.randint(1, 4)}{rng.randint(0, 2)}{rng.randint(0, 9)}"]
        return [""]
    if building_type == GATED:
        count = min(wanted, pick(rng, ((1, 45), (2, 35), (3, 20))))
        return [f"TH{n}" for n in sorted(rng.sample(range(1, 41), count))]
    count = min(wanted, pick(rng, ((1, 35), (2, 30), (3, 18), (4, 9), (5, 5), (6, 3))))
    if tower:
        return [f"{floor}{rng.randint(1, 12):02d}" for floor in rng.sample(range(2, 45), count)]
    labels = [f"{floor}{letter}" for floor in range(1, 5) for letter in "ABCDEF"]
    labels += ["1", "2", "3", "G", "1R", "2R", "3R", "1F", "2F", "3F"]
    return rng.sample(labels, count)


def _plan_sites(rng: random.Random, stops: int) -> list[tuple[Site, list[str]]]:
    blocks = street_blocks()
    used: set[tuple[str, int]] = set()
    sites: list[tuple[Site, list[str]]] = []
    planned = 0
    while planned < stops:
        street, start = rng.choice(blocks)
        number = rng.randrange(start, start + 100)
        if abs(number) < 2 or (street.name, number) in used:
            continue
        west, north = (street.position, number) if street.north_south else (number, street.position)
        point = grid_point(west, north)
        if distance_km(point, (DEPOT_LATITUDE, DEPOT_LONGITUDE)) > SERVICE_RADIUS_KM or any(
            in_area(west, north, area) for area in NO_ADDRESSES
        ):
            continue
        used.add((street.name, number))
        miles_from_loop = math.hypot(west / NUMBERS_PER_MILE, grid_miles_north(north))
        building_type = _building_type(rng, miles_from_loop=miles_from_loop, arterial=street.arterial)
        tower = building_type == MULTI_UNIT and miles_from_loop < 1.5 and rng.random() < 0.7
        # Even numbers are on the west and north sides of Chicago streets; doors sit ~12 m off the centre line.
        setback = rng.uniform(9.0, 16.0) * (1 if number % 2 == 0 else -1)
        jitter = rng.uniform(-4.0, 4.0)
        if street.north_south:
            point = point_offset(point, north_m=jitter, east_m=-setback)
            prefix = "N" if number > 0 else "S"
        else:
            point = point_offset(point, north_m=setback, east_m=jitter)
            prefix = "W" if number > 0 else "E"
        site = Site(
            index=len(sites),
            line1=f"{abs(number)} {prefix} {street.name}",
            building_type=building_type,
            point=point,
            postal_code=zip_code(west, north),
            tower=tower,
        )
        if building_type == BUSINESS:
            owner = rng.choice(LAST_NAMES_ES + LAST_NAMES_EN)
            short_street = street.name.rsplit(" ", 1)[0]
            site.business_name = f"{rng.choice((owner, short_street))} {rng.choice(BUSINESS_KINDS)}"
        units = _units(rng, building_type=building_type, tower=tower, wanted=stops - planned)
        sites.append((site, units))
        planned += len(units)
    return sites


def _building_notes(rng: random.Random, site: Site) -> str:
    if site.building_type == HOUSE:
        return rng.choice(HOUSE_NOTES) if rng.random() < 0.45 else ""
    if site.building_type == BUSINESS:
        return ""  # written once the receiving hours are known
    choices = GATED_NOTES if site.building_type == GATED else TOWER_NOTES if site.tower else WALKUP_NOTES
    return rng.choice(choices).format(side=rng.choice(SIDES))


def declared_value(rng: random.Random) -> Decimal:
    roll = rng.random()
    if roll < 0.04:
        value = rng.uniform(500, 2000)
    elif roll < 0.12:
        value = rng.uniform(150, 500)
    else:
        value = math.exp(rng.uniform(math.log(15), math.log(150)))
    cents = rng.choice(("00", "99", "49", "95", "50"))
    return Decimal(f"{math.floor(value)}.{cents}")


def plan_deliveries(
    rng: random.Random, *, depot: Depot, stops: int, service_date: dt.date, tz: zoneinfo.ZoneInfo
) -> list[Delivery]:
    deliveries: list[Delivery] = []
    for site, units in _plan_sites(rng, stops):
        notes = _building_notes(rng, site)
        for unit in units:
            n = len(deliveries) + 1
            recipient = recipient_draw(
                rng, n=n, business=site.building_type == BUSINESS, service_date=service_date, tz=tz
            )
            address = Address(
                line1=site.line1,
                line2=site.business_name,
                unit=unit,
                city="Chicago",
                region="IL",
                postal_code=site.postal_code,
                country="US",
                latitude=site.point[0],
                longitude=site.point[1],
                building_type=site.building_type,
                building_notes=notes,
                external_ref=f"{DEMO_PREFIX}a-{n:05d}",
            )
            value = declared_value(rng)
            signature_required = value >= HIGH_VALUE or rng.random() < 0.03
            order = Order(
                depot=depot,
                recipient=recipient,
                address=address,
                declared_value=value,
                parcel_count=pick(rng, ((1, 65), (2, 25), (3, 10))),
                signature_required=signature_required,
                safe_drop_allowed=not signature_required and rng.random() < 0.95,
                neighbour_allowed=rng.random() < (0.5 if value >= HIGH_VALUE else 0.88),
                status=Order.Status.OUT_FOR_DELIVERY,
            )
            low, high = (4, 8) if site.building_type == BUSINESS else (2, 4) if site.building_type == HOUSE else (3, 5)
            deliveries.append(Delivery(site, address, recipient, order, rng.randint(low, high)))
    return deliveries
