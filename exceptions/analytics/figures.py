"""What the metrics are: the groups a period splits into, the shape of each figure, and how counts become figures.

Each measure (``exceptions.analytics.measures``) adds its counts to one ``Tally`` per group; the totals add
the groups up, and ``Tally.measures`` turns the counts into the figures the API returns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, NotRequired, TypedDict, get_args

from django.db.models import Q

from exceptions.models import PreArrivalContact

GroupBy = Literal["day", "hour", "reason_code", "depot", "area"]
GROUP_BY: tuple[GroupBy, ...] = get_args(GroupBy)

CENT = Decimal("0.01")

# What a pre-arrival reply can teach that the visit uses, as exceptions.prevention.prearrival_reply_apply records it
# in PreArrivalContact.learned: a code (now in the vault), someone home, a safe place or a neighbour the order
# allows, each stored as true (a place or neighbour the order forbids is stored as false); or a time window to
# deliver in, stored as {"start", "end"}, that routing moves the stop into. Anything else the recipient said lands
# under "other": a reply, but not a useful one.
USEFUL_FLAGS = ("access_code", "home", "safe_place", "neighbour")
USEFUL_WINDOW = "window"


def useful_reply() -> Q:
    """Pre-arrival contacts answered with something the visit can use."""
    useful = Q(**{f"learned__{USEFUL_WINDOW}__has_key": "start"})
    for flag in USEFUL_FLAGS:
        useful |= Q(**{f"learned__{flag}": True})
    return Q(status=PreArrivalContact.Status.ANSWERED) & useful


# --- What the selectors return --------------------------------------------------------------------------------------


class FirstAttempt(TypedDict):
    attempts: int
    delivered: int
    success_rate: float | None


class Resolution(TypedDict):
    resolved: int
    average_seconds: float | None
    median_seconds: float | None


class FailedAttemptCost(TypedDict):
    currency: str
    failed_attempts: int
    total_cost: Decimal
    cost_per_failed_attempt: Decimal | None


class NoTouch(TypedDict):
    finished: int
    untouched: int
    share: float | None


class CaseCounts(TypedDict):
    opened: int
    resolved: int
    escalated: int
    open_now: int | None


class Prevention(TypedDict):
    # Texts that went out (asked or answered), and the risky stops that were not texted (opted out, quiet hours…).
    texts_sent: int
    not_asked: int
    replies: int
    reply_rate: float | None
    useful_replies: int
    # Useful replies whose order was then delivered at its first attempt.
    exceptions_prevented: int


class Measures(TypedDict):
    first_attempt: FirstAttempt
    resolution: Resolution
    failed_attempt_cost: list[FailedAttemptCost]
    no_touch: NoTouch
    cases: CaseCounts
    # None in reason-code groups: see _prevention in exceptions.analytics.measures.
    prevention: Prevention | None


class Group(Measures):
    key: str | None
    # An area's centre (the mean of its addresses), to place it on a map; only in area groups.
    lat: NotRequired[float]
    lng: NotRequired[float]


class MetricsSummary(TypedDict):
    date_from: dt.date
    date_to: dt.date
    depots: list[str]
    group_by: GroupBy | None
    totals: Measures
    groups: list[Group]


# --- Counting: a group's tally, and its figures -----------------------------------------------------------------------


@dataclass
class Tally:
    """One group's counts, added up measure by measure; ``measures`` gives its figures."""

    attempts: int = 0
    delivered: int = 0
    resolved: int = 0
    resolution_seconds: float = 0.0
    median_seconds: float | None = None
    failed: dict[str, int] = field(default_factory=dict)
    cost: dict[str, Decimal] = field(default_factory=dict)
    finished: int = 0
    untouched: int = 0
    opened: int = 0
    escalated: int = 0
    open_now: int | None = None
    texts_sent: int = 0
    not_asked: int = 0
    replies: int = 0
    useful_replies: int = 0
    prevented: int = 0

    def add(self, other: Tally) -> None:
        for name in (
            "attempts",
            "delivered",
            "resolved",
            "resolution_seconds",
            "finished",
            "untouched",
            "opened",
            "escalated",
            "texts_sent",
            "not_asked",
            "replies",
            "useful_replies",
            "prevented",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for currency, count in other.failed.items():
            self.failed[currency] = self.failed.get(currency, 0) + count
            self.cost[currency] = self.cost.get(currency, Decimal(0)) + other.cost[currency]
        if other.open_now is not None:
            self.open_now = (self.open_now or 0) + other.open_now

    def measures(self, currencies: Sequence[str], *, prevention: bool = True) -> Measures:
        costs: list[FailedAttemptCost] = []
        for currency in currencies:
            count, total = self.failed.get(currency, 0), self.cost.get(currency, Decimal(0))
            costs.append(
                {
                    "currency": currency,
                    "failed_attempts": count,
                    "total_cost": total.quantize(CENT, ROUND_HALF_UP),
                    "cost_per_failed_attempt": (total / count).quantize(CENT, ROUND_HALF_UP) if count else None,
                }
            )
        return {
            "first_attempt": {
                "attempts": self.attempts,
                "delivered": self.delivered,
                "success_rate": _share(self.delivered, self.attempts),
            },
            "resolution": {
                "resolved": self.resolved,
                "average_seconds": round(self.resolution_seconds / self.resolved, 1) if self.resolved else None,
                "median_seconds": None if self.median_seconds is None else round(self.median_seconds, 1),
            },
            "failed_attempt_cost": costs,
            "no_touch": {
                "finished": self.finished,
                "untouched": self.untouched,
                "share": _share(self.untouched, self.finished),
            },
            "cases": {
                "opened": self.opened,
                "resolved": self.resolved,
                "escalated": self.escalated,
                "open_now": self.open_now,
            },
            "prevention": {
                "texts_sent": self.texts_sent,
                "not_asked": self.not_asked,
                "replies": self.replies,
                "reply_rate": _share(self.replies, self.texts_sent),
                "useful_replies": self.useful_replies,
                "exceptions_prevented": self.prevented,
            }
            if prevention
            else None,
        }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
