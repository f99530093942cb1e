"""How each failed parcel of the simulated day ended, judged by the world as well as the product.

The product's own figures say how each failed parcel ended by its records (``exceptions.analytics.endings``, the
one definition of the endings, used here as it is). The world knows more: whether what the product settled on was
what the recipient asked for. A parcel is **rescued without a dispatcher** when it was delivered that day or
settled in the recipient's own stated choice, no dispatcher acted on any of its cases, and no wrong action was
taken on it (a drop they did not choose is not a rescue, though the parcel was left).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import F

from exceptions.analytics.endings import first_failures, parcels
from exceptions.analytics.figures import ENDINGS, RESCUED

if TYPE_CHECKING:
    from demo.simulation.engine import Simulation

SIDES = ("with_dispatcher", "without_dispatcher")


@dataclass(frozen=True)
class DayOutcomes:
    failed_parcels: int
    endings: dict[str, dict[str, int]]  # ending -> {"with_dispatcher": n, "without_dispatcher": n}
    rescued_without_dispatcher: int
    rescued_as_product_counts: int
    minutes_to_outcome: list[float]


def day_outcomes(simulation: Simulation, *, started: dt.datetime) -> DayOutcomes:
    """Each parcel that failed since ``started`` at the simulated depot, ended as the product's metrics end it."""
    scans = first_failures().filter(stop__run__depot_id=simulation.depot.pk, received_at__gte=started)
    endings: dict[str, Counter[str]] = {ending: Counter() for ending in ENDINGS}
    rescued = product_rescued = 0
    minutes: list[float] = []
    count = 0
    for parcel, row in parcels(scans, reference=F("stop__order__reference")):
        count += 1
        side = "with_dispatcher" if parcel.with_dispatcher else "without_dispatcher"
        endings[parcel.ending][side] += 1
        trail = simulation.trails.get(row["reference"])
        if parcel.ending in RESCUED and not parcel.with_dispatcher:
            product_rescued += 1
            if trail is None or not trail.wrong:
                rescued += 1
        if parcel.seconds_to_outcome is not None:
            minutes.append(parcel.seconds_to_outcome / 60)
    return DayOutcomes(
        failed_parcels=count,
        endings={ending: {side: counts[side] for side in SIDES} for ending, counts in endings.items()},
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
