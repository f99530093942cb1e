"""What the metrics are: the groups a period splits into, the shape of each figure, and how counts become figures.

Each measure (``exceptions.analytics.measures``, ``.endings``, ``.value``) adds its counts to one ``Tally`` per
group; the totals add the groups up, and ``Tally.measures`` turns the counts into the figures the API returns.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, NotRequired, TypedDict, cast, get_args

from django.db.models import Q

from exceptions.models import PreArrivalContact

GroupBy = Literal["day", "hour", "reason_code", "depot", "area"]
GROUP_BY: tuple[GroupBy, ...] = get_args(GroupBy)

# How a failed parcel ended, each defined in ``exceptions.analytics.endings``; each parcel has exactly one.
Ending = Literal["delivered_same_day", "recipient_choice", "moved_unasked", "returned", "cancelled", "open"]
ENDINGS: tuple[Ending, ...] = get_args(Ending)
# The endings that rescue a failed parcel: delivered on its failure day, or settled in the recipient's own choice.
RESCUED: tuple[Ending, ...] = ("delivered_same_day", "recipient_choice")

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


class EndingCounts(TypedDict):
    delivered_same_day: int
    recipient_choice: int
    moved_unasked: int
    returned: int
    cancelled: int
    open: int


class NoTouch(TypedDict):
    finished: int
    untouched: int
    share: float | None
    # The untouched cases by how their parcel ended.
    by_ending: EndingCounts


class CaseCounts(TypedDict):
    opened: int
    resolved: int
    escalated: int
    open_now: int | None
    # Recipients' requests the desk only filed (exceptions.analytics.requests); in the totals only.
    unanswered_requests: int | None


class Prevention(TypedDict):
    # Texts that went out (asked or answered), and the risky stops that were not texted (opted out, quiet hours…).
    texts_sent: int
    not_asked: int
    replies: int
    reply_rate: float | None
    useful_replies: int
    # Useful replies whose order was then delivered at its first attempt.
    exceptions_prevented: int


class EndingSplit(TypedDict):
    with_dispatcher: int
    without_dispatcher: int


class Outcomes(TypedDict):
    failed_parcels: int
    delivered_same_day: EndingSplit
    recipient_choice: EndingSplit
    moved_unasked: EndingSplit
    returned: EndingSplit
    cancelled: EndingSplit
    open: EndingSplit


class Rescued(TypedDict):
    # Failed parcels delivered the same day or settled in the recipient's choice, no dispatcher involved.
    count: int
    share: float | None


class TimeToOutcome(TypedDict):
    # Failed parcels measured: returned, cancelled and open ones are left out.
    parcels: int
    median_seconds: float | None
    p90_seconds: float | None


class Value(TypedDict):
    """What the desk saved against what its texts cost, in one currency (see ``exceptions.analytics.value``)."""

    currency: str
    parcels_attempted: int
    sms_segments: int
    sms_cost: Decimal
    failed_attempts_averted: int
    value_averted: Decimal
    net: Decimal
    net_per_1000_parcels: Decimal | None


class Measures(TypedDict):
    first_attempt: FirstAttempt
    resolution: Resolution
    failed_attempt_cost: list[FailedAttemptCost]
    no_touch: NoTouch
    cases: CaseCounts
    # None in reason-code groups: see _prevention in exceptions.analytics.measures.
    prevention: Prevention | None
    outcomes: Outcomes
    rescued_without_dispatcher: Rescued
    time_to_outcome: TimeToOutcome
    # One entry per currency; None in reason-code groups (texts and prevention have no reason code).
    value: list[Value] | None


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
    unanswered_requests: int | None = None
    texts_sent: int = 0
    not_asked: int = 0
    replies: int = 0
    useful_replies: int = 0
    prevented: int = 0
    # Failed parcels by (ending, with a dispatcher), and the seconds each measured one took to its outcome.
    endings: dict[tuple[str, bool], int] = field(default_factory=dict)
    outcome_seconds: list[float] = field(default_factory=list)
    # Untouched finished cases by their parcel's ending.
    untouched_endings: dict[str, int] = field(default_factory=dict)
    # By currency: parcels attempted, text segments and their cost, failed attempts averted and their value.
    parcels: dict[str, int] = field(default_factory=dict)
    sms_segments: dict[str, int] = field(default_factory=dict)
    sms_cost: dict[str, Decimal] = field(default_factory=dict)
    averted: dict[str, int] = field(default_factory=dict)
    averted_value: dict[str, Decimal] = field(default_factory=dict)

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
        for name in ("endings", "untouched_endings", "parcels", "sms_segments", "sms_cost", "averted", "averted_value"):
            mine, theirs = getattr(self, name), getattr(other, name)
            for item, count in theirs.items():
                mine[item] = mine.get(item, 0) + count
        self.outcome_seconds.extend(other.outcome_seconds)

    def count(self, name: str, item: object, amount: int | Decimal = 1) -> None:
        """Add to one entry of a by-ending or by-currency count (``endings``, ``parcels``, ``averted``…)."""
        counts = getattr(self, name)
        counts[item] = counts.get(item, 0) + amount

    def measures(self, currencies: Sequence[str], *, split: bool = True) -> Measures:
        """The figures; ``split=False`` (reason-code groups) leaves out prevention and value, which have no reason."""
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
        failed_parcels = sum(self.endings.values())
        rescued = sum(self.endings.get((ending, False), 0) for ending in RESCUED)
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
                "by_ending": cast(EndingCounts, {ending: self.untouched_endings.get(ending, 0) for ending in ENDINGS}),
            },
            "cases": {
                "opened": self.opened,
                "resolved": self.resolved,
                "escalated": self.escalated,
                "open_now": self.open_now,
                "unanswered_requests": self.unanswered_requests,
            },
            "prevention": {
                "texts_sent": self.texts_sent,
                "not_asked": self.not_asked,
                "replies": self.replies,
                "reply_rate": _share(self.replies, self.texts_sent),
                "useful_replies": self.useful_replies,
                "exceptions_prevented": self.prevented,
            }
            if split
            else None,
            "outcomes": cast(
                Outcomes,
                {
                    "failed_parcels": failed_parcels,
                    **{
                        ending: {
                            "with_dispatcher": self.endings.get((ending, True), 0),
                            "without_dispatcher": self.endings.get((ending, False), 0),
                        }
                        for ending in ENDINGS
                    },
                },
            ),
            "rescued_without_dispatcher": {"count": rescued, "share": _share(rescued, failed_parcels)},
            "time_to_outcome": {
                "parcels": len(self.outcome_seconds),
                "median_seconds": _rounded(percentile(self.outcome_seconds, 0.5)),
                "p90_seconds": _rounded(percentile(self.outcome_seconds, 0.9)),
            },
            "value": [self._value(currency) for currency in currencies] if split else None,
        }

    def _value(self, currency: str) -> Value:
        sms_cost = self.sms_cost.get(currency, Decimal(0))
        value_averted = self.averted_value.get(currency, Decimal(0))
        net = value_averted - sms_cost
        parcels = self.parcels.get(currency, 0)
        return {
            "currency": currency,
            "parcels_attempted": parcels,
            "sms_segments": self.sms_segments.get(currency, 0),
            "sms_cost": sms_cost.quantize(CENT, ROUND_HALF_UP),
            "failed_attempts_averted": self.averted.get(currency, 0),
            "value_averted": value_averted.quantize(CENT, ROUND_HALF_UP),
            "net": net.quantize(CENT, ROUND_HALF_UP),
            "net_per_1000_parcels": (net * 1000 / parcels).quantize(CENT, ROUND_HALF_UP) if parcels else None,
        }


def percentile(values: Sequence[float], share: float) -> float | None:
    """The ``share`` percentile, interpolated between the nearest two as PostgreSQL's percentile_cont does."""
    if not values:
        return None
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    below, above = math.floor(position), math.ceil(position)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
