"""What a reply means: the intents reply understanding reports, and the reading it hands on."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import models


class ReplyIntent(models.TextChoices):
    """What a recipient's reply means, as reply understanding reports it."""

    ACCESS_CODE = "ACCESS_CODE", "Gave an access code"
    RESCHEDULE = "RESCHEDULE", "Gave a time to come back"
    SAFE_DROP = "SAFE_DROP", "Named a safe place"
    NEIGHBOR = "NEIGHBOR", "Named a neighbour"
    PICKUP_POINT = "PICKUP_POINT", "Will collect at a pickup point"
    DIRECTIONS = "DIRECTIONS", "Said how to find the door"
    AVAILABLE_NOW = "AVAILABLE_NOW", "Is there now or coming"
    CALL_REQUEST = "CALL_REQUEST", "Asked for a call"
    REFUSE = "REFUSE", "Refused the parcel"
    OPT_OUT = "OPT_OUT", "Opted out"
    OPT_IN = "OPT_IN", "Opted back in"
    HELP = "HELP", "Asked for help"
    UNCLEAR = "UNCLEAR", "Not understood"


@dataclass(frozen=True)
class Understanding:
    """What a recipient's reply says, as reply understanding reports it."""

    intent: ReplyIntent
    code: str = ""
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None
    detail: str = ""
    # How it was read, for the timeline: the rule or phrase that decided.
    why: str = ""
    # False when asking again would be unwelcome ("STOP PLEASE"): an unclear reply then goes straight to a person.
    ask_again: bool = True
