"""What a reply means: the intents reply understanding reports, and the reading it hands on."""

from __future__ import annotations

import datetime as dt
import re
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


_PREPOSITION = {
    "en": re.compile(
        r"(?i)(?:at|on|in|inside|into|by|behind|under|underneath|beneath|beside|next\s+to|near|between|with|w/|to|"
        r"in\s+front\s+of|on\s+top\s+of|top\s+of|outside|through|against|around|round)\b"
    ),
    "es": re.compile(
        r"(?i)(?:en|con|detr[aá]s|debajo|junto|al\s+lado|dentro|adentro|encima|sobre|atr[aá]s|afuera|frente|a\s+la|al)\b"
    ),
}
_ARTICLE = {"en": re.compile(r"(?i)(?:the|my|our|your|a|an|his|her|their)\b"), "es": re.compile(r"(?i)")}


def place_words(detail: str, language: str = "en") -> str:
    """A place as the end of "leave it ...": "on the porch" stays, "porch" reads "at the porch" ("en el porche")."""
    language = language if language in _PREPOSITION else "en"
    if not detail or _PREPOSITION[language].match(detail):
        return detail
    if language == "es":
        return f"en {detail}"
    return f"at {detail}" if _ARTICLE["en"].match(detail) else f"at the {detail}"


@dataclass(frozen=True)
class Evidence:
    """A span of the reply a reading rests on: ``text[start:end]`` is what ``says`` names ("code word", "time")."""

    start: int
    end: int
    says: str


@dataclass(frozen=True)
class Understanding:
    """What a recipient's reply says, as reply understanding reports it.

    ``doubt`` is empty when the reading is sure; otherwise it says why not ("the only number in the reply",
    "two codes, none called new"). The desk confirms an unsure reading with the recipient before anything
    that cannot be taken back (a code to the driver, a parcel left unattended), and reads back what it acts on.
    """

    intent: ReplyIntent
    code: str = ""
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None
    detail: str = ""
    # How it was read, for the timeline: the rule or phrase that decided.
    why: str = ""
    # False when asking again would be unwelcome: an unclear reply then goes straight to a person.
    ask_again: bool = True
    # Why the reading is not sure ('' when it is).
    doubt: str = ""
    # What in the reply the reading rests on; spans of the reply as received.
    evidence: tuple[Evidence, ...] = ()

    @property
    def sure(self) -> bool:
        return not self.doubt
