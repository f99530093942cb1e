"""How the demo day is drawn: a weighted pick from the day's one seeded stream, and local minutes as instants."""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def pick(rng: random.Random, weighted: Sequence[tuple[T, float]]) -> T:
    return rng.choices([item for item, _ in weighted], weights=[weight for _, weight in weighted])[0]


def local_time(day: dt.date, minutes: float, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """Minutes after local midnight of ``day``, as an aware UTC datetime."""
    naive = dt.datetime.combine(day, dt.time.min) + dt.timedelta(minutes=minutes)
    return naive.replace(tzinfo=tz).astimezone(dt.UTC)
