"""What a simulated day is asked to do and what it keeps: its options, each driver's phone and place, the tally."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rest_framework.test import APIClient

from demo.simulation.behaviour import LINK_SHARE


class SimulationError(Exception):
    """The day could not be simulated as asked; the message says what to change."""


@dataclass
class Options:
    stops: int = 2000
    drivers: int = 40
    exception_rate: float = 0.10
    seed: int = 1
    replies: Path | None = None
    dispatchers: int = 3
    handling_minutes: float = 6.0
    service_date: dt.date | None = None
    speed: float = 0.0  # simulated seconds per real second; 0: as fast as the machine goes
    live: bool = False  # the running product on the wall clock, instead of a virtual one
    prevention: bool = True  # text risky stops ahead of the driver (the admin's prevention switch)
    notices: bool = False  # notices to every stop (out for delivery, arriving, delayed), as the depot's defaults
    opening: bool = False  # live: begin with the demo's scripted case (demo/simulation/opening.py)
    persistence: float = 0.85  # a stuck door or a lost driver stays so on a second attempt (demo/simulation/truth.py)
    reply_scale: float = 1.0  # every reply rate times this (demo/simulation/behaviour.py)
    heads_up: float = 0.0  # share of silent recipients a text ahead still gets to arrange to be in
    link_share: float = LINK_SHARE  # share of answers given on the self-service page (demo/simulation/behaviour.py)


@dataclass
class DriverState:
    driver_id: int
    run_id: int
    client: APIClient
    position: tuple[float, float]
    cursor: str = "0"
    busy: bool = False  # an arrival is scheduled
    done: bool = False
    retries: set[int] = field(default_factory=set)  # stops to attempt again on the recipient's word
    refused: set[int] = field(default_factory=set)  # stops whose scan the API refused: not tried again


@dataclass
class Tally:
    """What the people did, as the simulation saw it (the product's own records hold the rest)."""

    scans_failed: int = 0
    scans_delivered: int = 0
    replies: int = 0
    replies_by_intent: Counter[str] = field(default_factory=Counter)
    silent_prompts: int = 0
    dispatcher_actions: Counter[str] = field(default_factory=Counter)
    api_errors: list[str] = field(default_factory=list)
    events: int = 0
    requests: int = 0  # replies that asked for something (demo/simulation/judging.py)
    unheard: Counter[str] = field(default_factory=Counter)  # requests the product did not act on, by intent
    wrong_actions: Counter[str] = field(default_factory=Counter)  # automatic actions the recipient did not ask for
    failures_after_wrong_action: int = 0  # failed attempts of orders on which a wrong action was taken
    examples: list[dict[str, object]] = field(default_factory=list)  # each wrong action and unheard request
    noise: Counter[str] = field(default_factory=Counter)  # replies that reached us with noise, by the first kind
    page_choices: Counter[str] = field(default_factory=Counter)  # answers given on the page, by button
    page_not_enough: int = 0  # opened the page, found no button for what they meant (or a closed link), texted
