"""From what a recipient means to the words they type: a line of a labelled corpus, fitted to the truth, with noise.

The corpus is any file in the replies benchmark's format (``../shared/benchmarks/replies/README.md``); the
default was written apart from the product's reply rules, so the words are not the ones those rules were
written beside. A line is taken by its label's intent, and made to say what the recipient means:

- a code: a line whose labelled code appears in its text digit by digit (``4417``, ``44 17``, ``#4417``) has
  those digits replaced by the code meant; lines that spell it another way are not used for codes;
- a time: the line's labelled window, moved from its ``sent_at`` to today (same day or next day, same local
  hours), and only a line whose window suits the recipient's day; lines naming a weekday or a date are left out;
- a place, a neighbour, directions: the labelled ``detail``.

Then noise, each at a stated rate (assumptions): a typo (15 %), all lower or upper case (10 %), a filler word in
front (10 %), our own message quoted back (3 %). And instead of an answer: an auto-reply (2 % of replies), or
"wrong number" from the 1 % of numbers that are not the recipient's. What was meant is kept beside the words.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

TYPO_ODDS: Final = 0.15
CASE_ODDS: Final = 0.10
FILLER_ODDS: Final = 0.10
QUOTED_ODDS: Final = 0.03
AUTO_REPLY_ODDS: Final = 0.02
WRONG_NUMBER_SHARE: Final = 0.01
FILLERS: Final = ("hi ", "ok ", "hey so ", "yes ", "hello, ", "ok so ")
QUOTES: Final = (
    "> We could not deliver your parcel today.\n",
    'Re: "We could not deliver your parcel" ',
)
AUTO_REPLIES: Final = (
    "I'm driving with Do Not Disturb While Driving turned on. I'll see your message when I get where I'm going.",
    "Thank you for your message. I am out of the office and will reply when I return.",
    "Auto-reply: I can't take your message right now.",
)
WRONG_NUMBER: Final = ("wrong number", "who is this?", "I think you have the wrong person", "número equivocado")
WEEKDAYS: Final = re.compile(
    r"\b(mon|tue|wed|thu|fri|sat|sun)[a-z]*\b|\b(lunes|martes|mi[eé]rcoles|jueves|viernes|s[aá]bado|domingo)\b"
    r"|\d{1,2}/\d{1,2}",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Meaning:
    """What the recipient meant; ``window`` in local time."""

    intent: str
    code: str = ""
    window: tuple[dt.datetime, dt.datetime | None] | None = None
    detail: str = ""


@dataclass(frozen=True)
class Said:
    text: str
    meaning: Meaning
    noise: str = ""  # which noise, if any


@dataclass(frozen=True)
class Line:
    text: str
    intent: str
    code: str
    sent_at: dt.datetime | None
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    detail: str


class Corpus:
    """Labelled lines by intent, from a file in the replies benchmark's format."""

    def __init__(self, by_intent: dict[str, list[Line]]) -> None:
        self.by_intent = by_intent

    @classmethod
    def load(cls, path: Path) -> Corpus:
        by_intent: dict[str, list[Line]] = defaultdict(list)
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = {"reply", "intent"} - set(reader.fieldnames or ())
            if missing:
                raise ValueError(f"{path}: the replies file needs the columns {', '.join(sorted(missing))}")
            for row in reader:
                if not (row.get("reply") or "").strip():
                    continue
                intent = row["intent"].strip().upper()
                by_intent[intent].append(
                    Line(
                        text=row["reply"],
                        intent=intent,
                        code=(row.get("code") or "").strip(),
                        sent_at=_when(row.get("sent_at")),
                        window_start=_when(row.get("window_start")),
                        window_end=_when(row.get("window_end")),
                        detail=(row.get("detail") or "").strip(),
                    )
                )
        if not by_intent:
            raise ValueError(f"{path}: no replies in the file")
        return cls(dict(by_intent))


def _when(value: str | None) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def _with_code(line: Line, code: str) -> str | None:
    """The line's text with its labelled code's digits replaced by ``code``'s, or None if it can't be."""
    digits = [ch for ch in line.code if ch.isdigit()]
    if len(digits) != len(code) or not digits:
        return None
    text = line.text
    for start in range(len(text)):
        at, positions = start, list[int]()
        for digit in digits:
            while at < len(text) and text[at] in " -." and positions:
                at += 1
            if at >= len(text) or text[at] != digit:
                break
            positions.append(at)
            at += 1
        else:
            chars = list(text)
            for position, new in zip(positions, code, strict=True):
                chars[position] = new
            return "".join(chars)
    return None


def _moved(line: Line, today: dt.date, zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime | None] | None:
    """The line's window, moved to ``today`` as the same local hours on the same offset of days."""
    if line.window_start is None or line.sent_at is None or WEEKDAYS.search(line.text):
        return None
    sent = line.sent_at.date()
    offset = (line.window_start.date() - sent).days
    if offset not in (0, 1):
        return None

    def moved(moment: dt.datetime) -> dt.datetime:
        day = today + dt.timedelta(days=(moment.date() - sent).days)
        return dt.datetime.combine(day, moment.time().replace(tzinfo=None), tzinfo=zone)

    return moved(line.window_start), moved(line.window_end) if line.window_end else None


def say(
    rng: random.Random,
    corpus: Corpus,
    intent: str,
    *,
    code: str = "",
    today: dt.date,
    zone: dt.tzinfo,
    suits: Callable[[dt.datetime], bool] = lambda start: True,
) -> Said | None:
    """Words for ``intent`` (and ``code``), or None when the corpus has no line that can say it."""
    lines = corpus.by_intent.get(intent, [])
    if intent == "THANKS":
        lines = [
            line for line in corpus.by_intent.get("UNCLEAR", []) if re.search(r"thank|gracias|ok\b", line.text, re.I)
        ]
        return Said(rng.choice(lines).text, Meaning("UNCLEAR")) if lines else Said("thanks", Meaning("UNCLEAR"))
    if intent == "ACCESS_CODE":
        fitted = [(text, line) for line in lines if (text := _with_code(line, code))]
        if not fitted:
            return None
        text, _ = rng.choice(fitted)
        return Said(text, Meaning("ACCESS_CODE", code=code))
    if intent == "RESCHEDULE":
        windows = [(line, window) for line in lines if (window := _moved(line, today, zone)) and suits(window[0])]
        if not windows:
            return None
        line, window = rng.choice(windows)
        return Said(line.text, Meaning("RESCHEDULE", window=window))
    if not lines:
        return None
    line = rng.choice(lines)
    return Said(line.text, Meaning(intent, detail=line.detail))


def noisy(rng: random.Random, said: Said, *, wrong_number: bool) -> Said:
    """What reaches us: the words with noise, an auto-reply instead, or a stranger's answer."""
    if wrong_number:
        return Said(rng.choice(WRONG_NUMBER), Meaning("UNCLEAR"), noise="wrong number")
    if rng.random() < AUTO_REPLY_ODDS:
        return Said(rng.choice(AUTO_REPLIES), Meaning("UNCLEAR"), noise="auto-reply")
    text, noise = said.text, []
    if rng.random() < TYPO_ODDS:
        words = [i for i, word in enumerate(text.split(" ")) if len(word) >= 4 and word.isalpha()]
        if words:
            parts = text.split(" ")
            i = rng.choice(words)
            j = rng.randrange(len(parts[i]) - 1)
            word = parts[i]
            parts[i] = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
            text = " ".join(parts)
            noise.append("typo")
    if rng.random() < CASE_ODDS:
        text = text.upper() if rng.random() < 0.3 else text.lower()
        noise.append("case")
    if rng.random() < FILLER_ODDS:
        text = rng.choice(FILLERS) + text
        noise.append("filler")
    if rng.random() < QUOTED_ODDS:
        text = rng.choice(QUOTES) + text
        noise.append("quoted")
    return Said(text, said.meaning, noise="+".join(noise))


def wrong_number(phone: str) -> bool:
    return random.Random(f"wrong-number:{phone}").random() < WRONG_NUMBER_SHARE  # noqa: S311
