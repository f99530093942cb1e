"""How each failed parcel ended, and how long it took to get there: read from the product's records as they are now.

A failed parcel is an order with a failed scan whose first failed scan (by ``received_at``, ties by id) falls
in the period, in its depot's window. It has exactly one ending (``figures.ENDINGS``), the first of these
that holds:

1. ``delivered_same_day``: a delivery scan of the order on the depot-local date of its first failed scan,
   whoever made it happen (a retry, a code, a safe place or a neighbour the recipient named, a dispatcher);
2. ``returned``: its latest case (the last opened) ended returned to sender;
3. ``cancelled``: its latest case ended cancelled;
4. ``recipient_choice``: its latest case ended in an outcome the recipient chose in their reply
   (``outcome_source`` recipient): a later slot or day they asked for (rescheduled the same day or later) or a
   pickup point. Delivered afterwards, in the window they asked for, or not yet: it is settled as they chose;
5. ``moved_unasked``: moved without the recipient asking: its latest case ended rescheduled or at a pickup
   point by automation (the playbook on silence, a driver who moved on) or by a dispatcher, or the order was
   delivered on a later day with no choice of the recipient's behind it;
6. ``open``: nothing of the above yet: its case is still open, or nothing settled it (no case, a case closed
   without an outcome, or one resolved as delivered with no delivery scan to show for it).

Each ending is split by whether a dispatcher took part: any case of the order touched by a dispatcher.

Groups: a failed parcel falls in the depot-local day and hour of its first failed scan, that scan's depot,
its reason code, and its address's area.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery

from dispatch.models import ScanEvent
from exceptions.analytics.figures import RESCUED, Ending, GroupBy, Tally
from exceptions.analytics.periods import DepotPeriod, finished_at, finished_within, group_key, local_date, within
from exceptions.models import CostModel, ExceptionCase

Outcome = ExceptionCase.Outcome
Source = ExceptionCase.OutcomeSource

# What a recipient can choose in their reply that settles the parcel without delivering it that day.
RECIPIENT_CHOICES = (Outcome.RESCHEDULED_SAME_DAY, Outcome.RESCHEDULED_LATER, Outcome.PICKUP_POINT)
# What moves a parcel without delivering it: to a later slot, another day, a pickup point.
MOVES = RECIPIENT_CHOICES


@dataclass(frozen=True)
class FailedParcel:
    """One failed parcel as its records stand: its first failed scan, its delivery, its latest case."""

    failed_at: dt.datetime
    failed_on: dt.date
    delivered_at: dt.datetime | None
    delivered_on: dt.date | None
    # The latest case's outcome and whose choice it was ("" while it has none), and when it was resolved.
    outcome: str
    source: str
    resolved_at: dt.datetime | None
    with_dispatcher: bool

    @property
    def ending(self) -> Ending:
        if self.delivered_on is not None and self.delivered_on == self.failed_on:
            return "delivered_same_day"
        if self.outcome == Outcome.RETURNED_TO_SENDER:
            return "returned"
        if self.outcome == Outcome.CANCELLED:
            return "cancelled"
        if self.outcome in RECIPIENT_CHOICES and self.source == Source.RECIPIENT:
            return "recipient_choice"
        if self.outcome in MOVES or self.delivered_at is not None:
            return "moved_unasked"
        return "open"

    @property
    def seconds_to_outcome(self) -> float | None:
        """From the first failed scan to the outcome; None for an ending that has none to time.

        Delivered the same day: to the delivery scan. Settled in the recipient's choice or moved: to
        when the latest case was resolved (the choice, or the move, was made), else to a later day's
        delivery scan. Returned, cancelled and open parcels are left out: a return or a cancellation is
        no outcome for the recipient, and an open parcel has none yet.
        """
        ending = self.ending
        if ending == "delivered_same_day":
            end = self.delivered_at
        elif ending in ("recipient_choice", "moved_unasked"):
            end = self.resolved_at or self.delivered_at
        else:
            return None
        return None if end is None else (end - self.failed_at).total_seconds()


def first_failures() -> QuerySet[ScanEvent]:
    """Each order's first failed scan (ties broken by id): one row per failed parcel."""
    earlier = ScanEvent.objects.filter(stop__order_id=OuterRef("stop__order_id"), outcome=ScanEvent.Outcome.FAILED)
    earlier = earlier.filter(
        Q(received_at__lt=OuterRef("received_at")) | Q(received_at=OuterRef("received_at"), pk__lt=OuterRef("pk"))
    )
    return ScanEvent.objects.filter(outcome=ScanEvent.Outcome.FAILED).filter(~Exists(earlier))


def parcels(scans: QuerySet[ScanEvent], **extra: Any) -> Iterator[tuple[FailedParcel, dict[str, Any]]]:
    """The failed parcels of these first failed scans, each with the ``extra`` values asked for; one query."""
    order = OuterRef("stop__order_id")
    delivered = (
        ScanEvent.objects.filter(
            stop__order_id=order, outcome=ScanEvent.Outcome.DELIVERED, received_at__gte=OuterRef("received_at")
        )
        .order_by("received_at", "pk")
        .values("received_at")[:1]
    )
    latest = ExceptionCase.objects.filter(order_id=order).order_by("-opened_at", "-pk")
    depot = "stop__run__depot"
    rows = (
        scans.annotate(delivered_at=Subquery(delivered))
        .order_by()
        .values(
            "received_at",
            "delivered_at",
            failed_on=local_date(F("received_at"), depot=depot),
            delivered_on=local_date(F("delivered_at"), depot=depot),
            case_outcome=Subquery(latest.values("outcome")[:1]),
            case_source=Subquery(latest.values("outcome_source")[:1]),
            case_resolved_at=Subquery(latest.values("resolved_at")[:1]),
            with_dispatcher=Exists(ExceptionCase.objects.filter(order_id=order, touched_by_dispatcher=True)),
            **extra,
        )
    )
    for row in rows:
        parcel = FailedParcel(
            failed_at=row["received_at"],
            failed_on=row["failed_on"],
            delivered_at=row["delivered_at"],
            delivered_on=row["delivered_on"],
            outcome=row["case_outcome"] or "",
            source=row["case_source"] or "",
            resolved_at=row["case_resolved_at"],
            with_dispatcher=row["with_dispatcher"],
        )
        yield parcel, dict(row)


def parcel_endings(
    periods: Sequence[DepotPeriod],
    group_by: GroupBy | None,
    into: defaultdict[Any, Tally],
    *,
    prices: Mapping[int, CostModel],
) -> None:
    """Failed parcels of the period by ending, the time each took to its outcome, and what the rescues saved.

    A parcel rescued with no dispatcher (``figures.RESCUED``) is taken to save one more failed attempt,
    valued at its depot's ``failed_delivery_cost`` (see ``exceptions.analytics.value``). One query.
    """
    key = group_key(
        group_by, at="received_at", depot="stop__run__depot", reason="reason_code", address="stop__order__address"
    )
    scans = first_failures().filter(within(periods, at="received_at", depot="stop__run__depot_id"))
    extra: dict[str, Any] = {"depot": F("stop__run__depot_id")}
    if key is not None:
        extra["key"] = key
    for parcel, row in parcels(scans, **extra):
        tally, ending = into[row.get("key")], parcel.ending
        tally.count("endings", (ending, parcel.with_dispatcher))
        seconds = parcel.seconds_to_outcome
        if seconds is not None:
            tally.outcome_seconds.append(seconds)
        if ending in RESCUED and not parcel.with_dispatcher:
            model = prices[row["depot"]]
            tally.count("averted", model.currency)
            tally.count("averted_value", model.currency, model.failed_delivery_cost)


def untouched_endings(periods: Sequence[DepotPeriod], group_by: GroupBy | None, into: defaultdict[Any, Tally]) -> None:
    """Cases finished in the period that no dispatcher touched, by how their parcel ended. Two queries.

    A case falls in its group as the no-touch share counts it (when it finished, its depot, reason code and
    area); its parcel's ending is the order's, whenever the order first failed.
    """
    cases = ExceptionCase.objects.filter(finished_within(periods), touched_by_dispatcher=False)
    key = group_key(group_by, at=finished_at(), depot="depot", reason="reason_code", address="order__address")
    rows = list(cases.order_by().values("order_id", **({} if key is None else {"key": key})))
    scans = first_failures().filter(stop__order_id__in=cases.values("order_id"))
    endings = {row["order"]: parcel.ending for parcel, row in parcels(scans, order=F("stop__order_id"))}
    for row in rows:
        into[row.get("key")].count("untouched_endings", endings.get(row["order_id"], "open"))
