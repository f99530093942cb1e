"""A recipient answering on the self-service page instead of in words: they open the link their text carried.

What they see is the page's HTML, as a phone shows it: which choices it offers, which times, which pickup points.
They pick what they meant from those (a time only if someone is in then), and the page's form goes to the product
as the browser would post it. When the page has no button for what they mean (no time that suits, no "home now"
before the driver comes) or the link no longer opens, they answer in words instead.
"""

from __future__ import annotations

import datetime as dt
import html
import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from demo.simulation.behaviour import Intention
from demo.simulation.speech import Meaning

# What the page's buttons stand for, by what the recipient means.
CHOICES = {
    "ACCESS_CODE": "code",
    "RESCHEDULE": "window",
    "SAFE_DROP": "place",
    "NEIGHBOR": "neighbour",
    "PICKUP_POINT": "pickup",
    "AVAILABLE_NOW": "home",
    "CALL_REQUEST": "call",
    "REFUSE": "refuse",
}
NEIGHBOURS = (("Sam Ortiz", "2B"), ("Mrs Patel", "next door, 14"), ("Luis", "unit 5"), ("Joan", "3F"))
_OFFERED = re.compile(r'name="choice" value="([a-z]+)"')


@dataclass(frozen=True)
class Choice:
    """What the recipient posts, and what they meant by it (for the day's scoring)."""

    form: dict[str, str]
    meaning: Meaning


def _values(page: str, field: str) -> list[str]:
    return [html.unescape(value) for value in re.findall(rf'name="{re.escape(field)}" value="([^"]*)"', page)]


def choose(
    page: str, intention: Intention, *, rng: random.Random, suits: Callable[[dt.datetime, dt.datetime], bool]
) -> Choice | None:
    """The form a recipient who means ``intention`` fills in on ``page`` (its HTML), or None if it has no button."""
    choice = CHOICES.get(intention.intent)
    if choice is None or choice not in set(_OFFERED.findall(page)):
        return None
    form = {"choice": choice}
    meaning = Meaning(intention.intent)
    if choice == "code":
        form["code-code"] = intention.code
        meaning = Meaning("ACCESS_CODE", code=intention.code)
    elif choice == "window":
        for value in _values(page, "window-window"):
            start, end = (dt.datetime.fromisoformat(part) for part in value.split("/"))
            if suits(start, end):
                form["window-window"] = value
                meaning = Meaning("RESCHEDULE", window=(start, end))
                break
        else:
            return None  # no time offered when someone is in: they say so in words
    elif choice == "place":
        places = [value for value in _values(page, "place-place") if value != "other"]
        form["place-place"] = rng.choice(places)
        meaning = Meaning("SAFE_DROP", detail=form["place-place"])
    elif choice == "neighbour":
        name, unit = rng.choice(NEIGHBOURS)
        form.update({"neighbour-name": name, "neighbour-unit": unit})
        meaning = Meaning("NEIGHBOR", detail=f"{name}, {unit}")
    elif choice == "pickup":
        form["pickup-point"] = rng.choice(_values(page, "pickup-point"))
        meaning = Meaning("PICKUP_POINT")
    elif choice == "refuse":
        form["refuse-sure"] = "on"
    nonce = re.search(r'name="nonce" value="([^"]*)"', page)
    form["nonce"] = nonce.group(1) if nonce else ""
    return Choice(form=form, meaning=meaning)
