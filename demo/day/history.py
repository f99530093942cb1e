"""The demo day's past: access codes in the vault, and earlier parcels to today's addresses that failed.

Each try fails or not by the simulator's city (``demo.simulation.world``), so the history the risk
score learns from and the simulated day come from the same places and people.
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from demo.day.depot import HIGH_VALUE, HISTORY_DAYS, PAST_PARCELS, PAST_TRIES
from demo.day.draw import local_time, pick
from demo.day.places import BUSINESS, GATED, HOUSE, MULTI_UNIT, Delivery, declared_value
from demo.simulation import world
from dispatch.models import AccessCredential, Order

FAILURE_NOTES: Final[dict[str, tuple[str, ...]]] = {
    "ACCESS_DENIED": ("No answer on the buzzer.", "Locked lobby, nobody came down.", "Call box not answered."),
    "WRONG_ACCESS_CODE": ("Code on file did not open the door.", "Keypad rejected the code twice."),
    "GATE_CLOSED": ("Vehicle gate closed, no call box.", "Gate chained shut."),
    "RECIPIENT_ABSENT": ("Nobody home, notice left.", "Knocked and rang, no answer.", "No safe place, took it back."),
    "ADDRESS_NOT_FOUND": ("Unit not on the buzzer list.", "No such unit number."),
    "UNSAFE_LOCATION": ("Porch open to the street, no safe drop.", "Loose dog in the yard."),
    "REFUSED": ("Recipient refused the parcel.",),
    "DAMAGED": ("Box crushed in the van, contents rattle.", "Parcel soaked through."),
    "BUSINESS_CLOSED": ("Closed, sign says back at 2 pm.", "Closed for the day.", "Dock closed, nobody answered."),
}


@dataclass(eq=False)
class PastAttempt:
    delivery: Delivery
    order: Order
    days_before: int  # days before the service date
    minutes: int  # after local midnight
    reason: str | None  # None: delivered
    final: bool


def _secret(rng: random.Random, kind: str, digits: str) -> str:
    if kind == AccessCredential.Kind.CONCIERGE:
        return f"Front desk 24/7; package room code {rng.randint(100, 9999)}"
    if kind == AccessCredential.Kind.LOCKBOX:
        return f"Lockbox on the {rng.choice(('railing', 'gas meter', 'side gate', 'back door'))}: {digits}"
    return rng.choice((digits, f"#{digits}", f"{digits}*", f"*{digits}#", f"{digits}#"))


def plan_credentials(
    rng: random.Random, deliveries: list[Delivery], *, service_date: dt.date, tz: zoneinfo.ZoneInfo
) -> list[Delivery]:
    """Codes for most gated and many multi-unit buildings, a few houses and businesses.

    The vault is per address and each unit is an address, so a building's code
    is written once for each of today's units in it. Returns one delivery per
    flagged code: the one whose history holds the two failures that flagged it.
    """
    by_site: dict[int, list[Delivery]] = defaultdict(list)
    for delivery in deliveries:
        by_site[delivery.site.index].append(delivery)
    flagged: list[Delivery] = []
    for units in by_site.values():
        site = units[0].site
        share = {GATED: 0.7, MULTI_UNIT: 0.4, BUSINESS: 0.06, HOUSE: 0.03}[site.building_type]
        if rng.random() >= share:
            continue
        kind: str
        if site.building_type == GATED:
            kind = AccessCredential.Kind.GATE
        elif site.building_type == MULTI_UNIT:
            kind = pick(
                rng,
                (
                    (AccessCredential.Kind.DOOR, 40 if site.tower else 65),
                    (AccessCredential.Kind.LOCKBOX, 5 if site.tower else 20),
                    (AccessCredential.Kind.CONCIERGE, 55 if site.tower else 15),
                ),
            )
        elif site.building_type == BUSINESS:
            kind = AccessCredential.Kind.LOCKBOX
        else:
            kind = pick(rng, ((AccessCredential.Kind.GATE, 60), (AccessCredential.Kind.LOCKBOX, 40)))
        state = pick(rng, (("verified", 62), ("unverified", 30), ("flagged", 8)))
        # The building's own code (demo.simulation.world): today's when it was seen to work lately or, for half
        # the codes never proven, still right; else one it had before.
        building = world.building_key(postal_code=site.postal_code, line1=site.line1)
        current = state == "verified" or (state == "unverified" and rng.random() < 0.5)
        then = service_date if current else service_date - dt.timedelta(days=rng.randint(400, 900))
        secret = _secret(rng, kind, world.building_code(building, then))
        last_worked_at = None
        if state == "verified":
            last_worked_at = local_time(
                service_date - dt.timedelta(days=rng.randint(1, 30)), rng.randint(540, 1020), tz
            )
        elif state == "flagged":
            last_worked_at = local_time(
                service_date - dt.timedelta(days=rng.randint(35, 90)), rng.randint(540, 1020), tz
            )
            flagged.append(units[0])
        source = pick(
            rng,
            (
                (AccessCredential.Source.RECIPIENT, 45),
                (AccessCredential.Source.DRIVER, 25),
                (AccessCredential.Source.PLAN_IMPORT, 25),
                (AccessCredential.Source.DISPATCHER, 5),
            ),
        )
        for delivery in units:
            site.credentials.append(
                AccessCredential(
                    address=delivery.address,
                    kind=kind,
                    secret=secret,
                    last_worked_at=last_worked_at,
                    failure_count=AccessCredential.FLAG_AFTER_FAILURES if state == "flagged" else 0,
                    source=source,
                )
            )
    return flagged


def plan_history(rng: random.Random, deliveries: list[Delivery], flagged: list[Delivery]) -> list[PastAttempt]:
    """Earlier parcels to today's addresses over the last ``HISTORY_DAYS``, attempted as the city would have it.

    Each address had 0-4 earlier parcels; each was tried up to three times,
    each try failing or not by the odds of ``demo.simulation.world`` (the
    building, the household, the hour, the code on file), then returned after
    three failures. Only parcels that failed at least once are kept: they are
    what the product learns from. A flagged code's address always has the two
    wrong-code failures that flagged it.
    """
    attempts: list[PastAttempt] = []
    flagged_set = set(flagged)
    for delivery in deliveries:
        address = delivery.address
        if delivery in flagged_set:
            tries: list[tuple[str | None, int]] = [("WRONG_ACCESS_CODE", rng.randint(540, 990)) for _ in range(2)]
            tries.append((None, rng.randint(540, 990)))  # a neighbour let the driver in
            # After the code last worked (35-90 days ago): within the last month.
            attempts += _past_parcel(rng, delivery, tries, within_days=30)
            continue
        building = world.building_key(postal_code=address.postal_code, line1=address.line1)
        site = world.place(building, address.building_type)
        home = world.household(
            world.household_key(postal_code=address.postal_code, line1=address.line1, unit=address.unit)
        )
        code = _code_on_file(delivery.site.credentials)
        for _ in range(pick(rng, PAST_PARCELS)):
            tries = []
            while len(tries) < PAST_TRIES:
                minutes = rng.randint(9 * 60, 18 * 60)
                reason = world.failure_draw(world.failure_odds(site, home, hour=minutes // 60, code=code), rng.random())
                tries.append((reason, minutes))
                if reason is None:
                    break
            if tries[0][0] is not None:
                attempts += _past_parcel(rng, delivery, tries)
    return attempts


def _code_on_file(credentials: Sequence[AccessCredential]) -> str:
    if not credentials:
        return world.CODE_NONE
    return world.CODE_WORKING if credentials[0].last_worked_at is not None else world.CODE_UNPROVEN


def _past_parcel(
    rng: random.Random, delivery: Delivery, tries: list[tuple[str | None, int]], *, within_days: int = HISTORY_DAYS
) -> list[PastAttempt]:
    """One earlier order to this address and its attempts, a day or two apart, ending delivered or returned."""
    gaps = [rng.choice((1, 1, 2)) for _ in range(len(tries) - 1)]
    offset = rng.randint(sum(gaps) + 1, within_days)
    order = Order(
        depot=delivery.order.depot,
        recipient=delivery.recipient,
        address=delivery.address,
        declared_value=declared_value(rng),
        parcel_count=pick(rng, ((1, 75), (2, 20), (3, 5))),
        status=Order.Status.DELIVERED if tries[-1][0] is None else Order.Status.RETURNED,
    )
    order.signature_required = order.declared_value >= HIGH_VALUE
    order.safe_drop_allowed = not order.signature_required
    attempts = []
    for i, (reason, minutes) in enumerate(tries):
        attempts.append(
            PastAttempt(
                delivery=delivery,
                order=order,
                days_before=offset,
                minutes=minutes,
                reason=reason,
                final=i == len(tries) - 1,
            )
        )
        if i < len(gaps):
            offset -= gaps[i]
    return attempts
