"""How each failed parcel of the simulated day ended, judged by the world as well as the product.

The product's own figures say how each failed parcel ended by its records (``exceptions.analytics``). The world
knows more: whether what the product settled on was what the recipient asked for. A parcel is **rescued
without a dispatcher** when it was delivered that day or settled in the recipient's own stated choice, no
dispatcher acted on any of its cases, and no wrong action was taken on it (a drop they did not choose is not a
rescue, though the parcel was left).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dispatch.models import Order, ScanEvent
from exceptions.models import ExceptionCase

ENDINGS = ("delivered_same_day", "recipient_choice", "moved_unasked", "returned", "cancelled", "open")
RESCUED = frozenset({"delivered_same_day", "recipient_choice"})


@dataclass(frozen=True)
class FailedParcel:
    reference: str
    ending: str
    dispatcher: bool
    seconds_to_outcome: float | None


def failed_parcels(*, depot_ids: list[int], since: dt.datetime, until: dt.datetime) -> list[FailedParcel]:
    parcels = []
    orders = Order.objects.filter(
        depot_id__in=depot_ids, stops__scans__outcome=ScanEvent.Outcome.FAILED, stops__scans__received_at__gte=since
    ).distinct()
    for order in orders:
        scans = list(ScanEvent.objects.filter(stop__order=order).order_by("received_at"))
        first_failed = next(scan for scan in scans if scan.outcome == ScanEvent.Outcome.FAILED)
        delivered = next((scan for scan in scans if scan.outcome == ScanEvent.Outcome.DELIVERED), None)
        cases = list(ExceptionCase.objects.filter(order=order).order_by("opened_at"))
        dispatcher = any(case.touched_by_dispatcher for case in cases)
        last = cases[-1] if cases else None
        seconds = None
        if delivered is not None:
            ending = "delivered_same_day"
            seconds = (delivered.received_at - first_failed.received_at).total_seconds()
        elif order.status == Order.Status.RETURNED:
            ending = "returned"
        elif order.status == Order.Status.CANCELLED:
            ending = "cancelled"
        elif last is not None and last.outcome in ("rescheduled_later", "rescheduled_same_day", "pickup_point"):
            chosen = last.last_intent.upper() in ("RESCHEDULE", "PICKUP_POINT") and not last.touched_by_dispatcher
            ending = "recipient_choice" if chosen else "moved_unasked"
            if chosen and last.resolved_at:
                seconds = (last.resolved_at - first_failed.received_at).total_seconds()
        else:
            ending = "open"
        parcels.append(FailedParcel(order.reference, ending, dispatcher, seconds))
    return parcels


if TYPE_CHECKING:
    from demo.simulation.engine import Simulation


@dataclass(frozen=True)
class DayOutcomes:
    failed_parcels: int
    endings: dict[str, dict[str, int]]  # ending -> {"with_dispatcher": n, "without_dispatcher": n}
    rescued_without_dispatcher: int
    rescued_as_product_counts: int
    minutes_to_outcome: list[float]


def day_outcomes(simulation: Simulation, *, started: dt.datetime) -> DayOutcomes:
    parcels = failed_parcels(depot_ids=[simulation.depot.pk], since=started, until=simulation.now)
    endings: dict[str, Counter[str]] = {ending: Counter() for ending in ENDINGS}
    rescued = product_rescued = 0
    minutes: list[float] = []
    for parcel in parcels:
        side = "with_dispatcher" if parcel.dispatcher else "without_dispatcher"
        endings[parcel.ending][side] += 1
        trail = simulation.trails.get(parcel.reference)
        if parcel.ending in RESCUED and not parcel.dispatcher:
            product_rescued += 1
            if trail is None or not trail.wrong:
                rescued += 1
        if parcel.seconds_to_outcome is not None:
            minutes.append(parcel.seconds_to_outcome / 60)
    return DayOutcomes(
        failed_parcels=len(parcels),
        endings={
            ending: {side: counts[side] for side in ("with_dispatcher", "without_dispatcher")}
            for ending, counts in endings.items()
        },
        rescued_without_dispatcher=rescued,
        rescued_as_product_counts=product_rescued,
        minutes_to_outcome=minutes,
    )


def as_figures(outcomes: DayOutcomes) -> dict[str, Any]:
    def share(n: int) -> float | None:
        return round(100.0 * n / outcomes.failed_parcels, 1) if outcomes.failed_parcels else None

    minutes = outcomes.minutes_to_outcome
    return {
        "failed_parcels": outcomes.failed_parcels,
        "endings": outcomes.endings,
        "rescued_without_dispatcher": outcomes.rescued_without_dispatcher,
        "rescued_without_dispatcher_share": share(outcomes.rescued_without_dispatcher),
        "rescued_as_the_product_counts": outcomes.rescued_as_product_counts,
        "rescued_as_the_product_counts_share": share(outcomes.rescued_as_product_counts),
        "minutes_to_outcome_median": round(statistics.median(minutes), 1) if minutes else None,
    }
