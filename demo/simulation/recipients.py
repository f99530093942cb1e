"""The recipients' side of the day: what each knows, and how they answer the texts that reach them.

A recipient knows their own day (when someone is in, the building's code) and what our text says: why the
driver failed (the failure the simulated driver met), whether it asks something or tells what happens next.
They never see the product's records. Each order has a ``Trail``: the world's memory of it, which the product
never reads.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from demo.simulation import behaviour, page, speech, truth, world
from demo.simulation.speech import Meaning, Said
from dispatch.models import Stop
from outreach.models import MessageTemplate

if TYPE_CHECKING:
    from demo.simulation.engine import Simulation

_Key = MessageTemplate.Key
# The texts that ask about a case, and the ones that say how it ended (a text per outcome).
ASKING = frozenset({_Key.ASK_ACCESS_CODE, _Key.ASK_WINDOW, _Key.ASK_ALTERNATIVES, _Key.ASK_DIRECTIONS, _Key.REPROMPT})
TOLD_THE_OUTCOME = frozenset(
    {
        _Key.OUTCOME_DELIVERED,
        _Key.OUTCOME_LEFT,
        _Key.OUTCOME_NEIGHBOUR,
        _Key.OUTCOME_RESCHEDULED,
        _Key.OUTCOME_PICKUP_POINT,
        _Key.OUTCOME_RETURNED,
        _Key.OUTCOME_CANCELLED,
    }
)
FALLBACK = ("CALL_REQUEST", "UNCLEAR")
# The self-service link a text carries, as the phone shows it.
LINK = re.compile(r"https?://\S+?/r/[A-Za-z0-9_-]+")


@dataclass
class Trail:
    """One order as the world knows it today."""

    reference: str
    address: truth.Address
    parcel: truth.Parcel
    phone: str
    reachable: bool
    wrong_number: bool
    last_failure: str = ""
    prompts: int = 0
    notices: int = 0
    answered: int = 0
    answered_ahead: bool = False  # answered a text ahead of the driver: the later ones need no answer
    pages: int = 0  # times the recipient opened the link to answer
    leave: bool = False  # the driver was told to leave it (a safe place, a neighbour), or the recipient arranged it
    expected: bool = False  # the driver was told the recipient is coming down
    said: list[Said] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    unheard: int = 0


def trail_for(simulation: Simulation, stop: Stop) -> Trail:
    """The order's trail, made the first time the world meets it (``stop`` with its order's address and recipient)."""
    order = stop.order
    trail = simulation.trails.get(order.reference)
    if trail is None:
        address = order.address
        building = world.building_key(postal_code=address.postal_code, line1=address.line1)
        where = truth.Address(
            building=building,
            household=world.household_key(postal_code=address.postal_code, line1=address.line1, unit=address.unit),
            kind=address.building_type,
        )
        phone = str(order.recipient.phone or "")
        draw = random.Random(f"reach:{phone}")  # noqa: S311
        trail = Trail(
            reference=order.reference,
            address=where,
            parcel=truth.parcel(order.reference, where.kind, scale=simulation.failure_scale),
            phone=phone,
            reachable=bool(phone) and draw.random() < simulation.rates.phone_coverage,
            wrong_number=speech.wrong_number(phone),
        )
        simulation.trails[order.reference] = trail
    return trail


def situation(simulation: Simulation, trail: Trail) -> behaviour.Situation:
    local = simulation.now.astimezone(simulation.zone)
    hour = local.hour + local.minute / 60
    day = local.date()
    key = trail.address.household if trail.address.kind != world.BUSINESS else trail.address.building
    later = (
        truth.open_for_business(trail.address, max(hour, world.receiving_hours(key)[0]))
        if trail.address.kind == world.BUSINESS
        else world.next_home(key, day, hour) is not None
    )
    return behaviour.Situation(
        reason=trail.last_failure,
        in_now=truth.somebody_in(trail.address, day, hour),
        later_today=later,
        true_code=world.building_code(trail.address.building, day),
        old_code=world.building_code(trail.address.building, day - dt.timedelta(days=400)),
        locked_building=trail.address.kind in (world.GATED, world.MULTI_UNIT)
        and trail.address.place.access_trouble > 0.05,
    )


def window_suits(simulation: Simulation, trail: Trail) -> Callable[[dt.datetime, dt.datetime], bool]:
    """A window offered on the page suits the recipient when someone is in at its start and halfway through."""
    suits = _suits(simulation, trail)
    return lambda start, end: suits(start) and suits(start + (end - start) / 2)


def _suits(simulation: Simulation, trail: Trail) -> Callable[[dt.datetime], bool]:
    def suits(start: dt.datetime) -> bool:
        if start < simulation.now + dt.timedelta(minutes=15):
            return False
        local = start.astimezone(simulation.zone)
        return truth.somebody_in(trail.address, local.date(), local.hour + local.minute / 60)

    return suits


def words(simulation: Simulation, trail: Trail, rng: random.Random, intention: behaviour.Intention) -> Said:
    """The recipient's words for what they mean, falling back to a call request when the corpus can't say it."""
    local_day = simulation.now.astimezone(simulation.zone).date()
    for intent in (intention.intent, *FALLBACK):
        said = speech.say(
            rng,
            simulation.corpus,
            intent,
            code=intention.code,
            today=local_day,
            zone=simulation.zone,
            suits=_suits(simulation, trail),
        )
        if said is not None:
            return speech.noisy(rng, said, wrong_number=trail.wrong_number)
    return Said("?", Meaning("UNCLEAR"))


def text_received(simulation: Simulation, trail: Trail, *, key: str, case_id: int | None, body: str = "") -> None:
    """A text about the order reached the recipient: they answer it (in words or on its link), or not, later."""
    if not trail.reachable:
        simulation.tally.silent_prompts += 1
        return
    seed = simulation.options.seed
    found = LINK.search(body)
    link = found.group(0) if found else ""
    if case_id is None:  # a text ahead of the driver: a question, a notice, or both in one
        if trail.answered_ahead:
            return
        draw = random.Random(f"{seed}:ahead:{trail.reference}")  # noqa: S311
        local = simulation.now.astimezone(simulation.zone)
        blocks = world.away_hours(trail.address.household, local.date())
        out_later = trail.address.kind != world.BUSINESS and any(end > local.hour for _, end in blocks)
        if draw.random() >= simulation.rates.ahead_reply:
            simulation.tally.silent_prompts += 1
            if out_later and draw.random() < simulation.rates.heads_up:
                trail.leave = True  # read it, said nothing, and arranged to be in or left word
            return
        trail.answered_ahead = True
        intention = behaviour.ahead_intention(draw, situation(simulation, trail), out_later=out_later)
        reply_later(simulation, trail, draw, intention, case_id=0, link=link)
        return
    if key in TOLD_THE_OUTCOME:
        trail.notices += 1
        draw = random.Random(f"{seed}:after:{trail.reference}:{trail.notices}")  # noqa: S311
        after = behaviour.outcome_intention(draw)
        if after is not None:
            reply_later(simulation, trail, draw, after, case_id=case_id, link=link)
        return
    if key not in ASKING:
        return
    trail.prompts += 1
    draw = random.Random(f"{seed}:reply:{trail.reference}:{trail.prompts}")  # noqa: S311
    if not behaviour.answers(draw, simulation.rates, prompt_number=trail.prompts, answered_before=trail.answered):
        simulation.tally.silent_prompts += 1
        return
    trail.answered += 1
    intention = behaviour.intention(draw, situation(simulation, trail))
    reply_later(simulation, trail, draw, intention, case_id=case_id, link=link)


def reply_later(
    simulation: Simulation,
    trail: Trail,
    draw: random.Random,
    intention: behaviour.Intention,
    *,
    case_id: int,
    link: str = "",
) -> None:
    """The recipient answers after a while: on the page their text linked to (``link_share``), or in words."""
    if link and intention.intent in page.CHOICES:
        trail.pages += 1
        tap = random.Random(f"{simulation.options.seed}:page:{trail.reference}:{trail.pages}")  # noqa: S311
        if tap.random() < simulation.rates.link_share:
            at = simulation._later(behaviour.reply_delay(tap))
            simulation._schedule(at, "page", (case_id, trail.reference, intention, link))
            return
    said = words(simulation, trail, draw, intention)
    simulation.tally.replies_by_intent[said.meaning.intent] += 1
    if said.noise:
        simulation.tally.noise[said.noise.split("+")[0]] += 1
    simulation._schedule(simulation._later(behaviour.reply_delay(draw)), "reply", (case_id, trail.reference, said))
