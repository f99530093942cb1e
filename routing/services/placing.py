"""Placing a recovered stop: a same-day slot, else a later run, written only on the plan version it was found on."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from dispatch import driver_words
from dispatch.models import Order, Run, Stop, User
from dispatch.services.stops import stop_leave_run, stop_status_set
from routing.models import PlanVersion
from routing.services.slots import later_run_find, reinsert_find
from routing.services.versions import (
    STALE_RETRIES,
    Proposal,
    RouteChange,
    StalePlan,
    plan_version_record,
    run_renumber,
    runs_lock,
)
from routing.state import NEW

logger = logging.getLogger(__package__)


@dataclass(frozen=True)
class Placed:
    """What the requester's ``on_placed`` learns, inside the transaction that wrote the new plan."""

    stop_id: int
    summary: str
    later_day: bool
    payload: dict[str, Any]


# Asked inside the transaction before anything is written: False (the requester moved on) writes nothing.
Guard = Callable[[], bool]


def _load_stop(stop_id: int) -> Stop:
    return Stop.objects.select_related("order__address", "order__depot", "run__depot", "run__driver").get(pk=stop_id)


def proposal_apply(
    *,
    proposal: Proposal,
    stop: Stop,
    requested_by: str,
    case_id: int | None = None,
    user: User | None = None,
    guard: Guard | None = None,
    on_placed: Callable[[Placed], None] | None = None,
) -> RouteChange:
    """Write the proposal if its run is still on the version it was found on; StalePlan otherwise.

    ``guard`` and ``on_placed`` let the requester (a case) check and answer in the same transaction as the
    plan change; ``on_placed`` also tells the driver, so no "skip" goes out for a stop that moved runs.
    """
    with transaction.atomic():
        if guard is not None and not guard():
            return RouteChange(placed=False, reason="The case no longer waits for a slot.", case_moved_on=True)
        runs = runs_lock(sorted({proposal.run_id, stop.run_id}))
        run = runs.get(proposal.run_id)
        if run is None or run.plan_version != proposal.version:
            raise StalePlan(f"run {proposal.run_id} is no longer on version {proposal.version}")
        stop = Stop.objects.select_for_update(of=("self",)).select_related("order", "run__driver").get(pk=stop.pk)
        if stop.status not in (*Stop.ACTIVE_STATUSES, Stop.Status.RESCHEDULED) or stop.run_id not in runs:
            return RouteChange(placed=False, reason=f"The stop is {stop.get_status_display().lower()} now.")
        current = {s.pk: s for s in Stop.objects.filter(run=run, status__in=(Stop.Status.PENDING, Stop.Status.ARRIVED))}
        if proposal.handover or run.pk != stop.run_id:
            # Off its run first: an order has one active stop at a time.
            stop_status_set(stop=stop, status=Stop.Status.RESCHEDULED, order_status=Order.Status.RESCHEDULED)
            # A run the parcel left before keeps its stop row (one per order and run): that row takes it back.
            placed, _ = Stop.objects.update_or_create(
                run=run,
                order=stop.order,
                defaults={
                    "sequence": Stop.objects.filter(run=run).count() + 1000,
                    "window_start": proposal.window_start,
                    "window_end": proposal.window_end,
                    "service_minutes": stop.service_minutes,
                    "status": Stop.Status.PENDING,
                },
            )
        else:
            placed = stop
            placed.window_start, placed.window_end = proposal.window_start, proposal.window_end
            placed.save(update_fields=["window_start", "window_end", "updated_at"])
            stop_status_set(stop=placed, status=Stop.Status.PENDING, order_status=Order.Status.OUT_FOR_DELIVERY)
        # Stops finished since the proposal drop out; none can have been added without a new version.
        order = [placed if stop_id == NEW else current.get(int(stop_id)) for stop_id in proposal.order]
        remaining = [s for s in order if s is not None]
        times = {str(placed.pk) if k == NEW else k: v for k, v in proposal.arrivals.items()}
        run_renumber(run, remaining, times)
        if placed.pk != stop.pk and on_placed is None:  # else the requester's answer tells the driver
            stop_leave_run(
                stop=stop,
                status=Stop.Status.RESCHEDULED,
                order_status=Order.Status.RESCHEDULED,
                text=driver_words.skip_moved(stop=stop, to=placed),
                payload={"new_stop_id": placed.pk},
            )
        summary = proposal.describe(run)
        version = plan_version_record(
            run=run,
            operation=proposal.operation,
            requested_by=requested_by,
            before=[int(s) for s in proposal.before if int(s) in current],
            after=[s.pk for s in remaining],
            added_seconds=proposal.added_seconds,
            added_metres=proposal.added_metres,
            solve_ms=proposal.solve_ms,
            summary=summary,
            stop=placed,
            case_id=case_id,
            user=user,
        )
        same_day = proposal.operation == PlanVersion.Operation.REINSERT or (
            proposal.service_date == timezone.localdate(timezone.now(), run.depot.time_zone)
        )
        if on_placed is not None:
            on_placed(
                Placed(
                    stop_id=placed.pk,
                    summary=summary,
                    later_day=not same_day,
                    payload={"run_id": run.pk, "plan_version": version.version, "operation": proposal.operation},
                )
            )
        return RouteChange(
            placed=True,
            operation=proposal.operation,
            run_id=run.pk,
            stop_id=placed.pk,
            plan_version=version.version,
            same_day=same_day,
            summary=summary,
            added_seconds=proposal.added_seconds,
            added_metres=proposal.added_metres,
        )


def stop_reinsert(
    *,
    stop_id: int,
    window_start: dt.datetime | None,
    window_end: dt.datetime | None,
    requested_by: str,
    case_id: int | None = None,
    user: User | None = None,
    guard: Guard | None = None,
    on_placed: Callable[[Placed], None] | None = None,
    allow_later_run: bool = True,
    now: dt.datetime | None = None,
) -> RouteChange:
    """Place a recovered stop: the best same-day slot, else (when allowed) a later run.

    With ``allow_later_run`` False, no same-day slot returns ``placed=False``
    with the reason and the later-run ``alternative``, and writes nothing.
    """

    def find(stop: Stop, moment: dt.datetime) -> Proposal | RouteChange:
        proposal, reason = reinsert_find(stop=stop, window_start=window_start, window_end=window_end, now=moment)
        if proposal is not None:
            return proposal
        later, later_reason = later_run_find(stop=stop, window_start=window_start, window_end=window_end, now=moment)
        if not allow_later_run or later is None:
            why = f"No same-day slot: {reason}." + (f" No later run either: {later_reason}." if not later else "")
            return RouteChange(placed=False, reason=why, alternative=later)
        return later

    apply = partial(
        proposal_apply, requested_by=requested_by, case_id=case_id, user=user, guard=guard, on_placed=on_placed
    )
    return _place(stop_id=stop_id, find=find, apply=apply, now=now, doing="placing")


def stop_move_to_later_run(
    *,
    stop_id: int,
    window_start: dt.datetime | None,
    window_end: dt.datetime | None,
    requested_by: str,
    case_id: int | None = None,
    user: User | None = None,
    guard: Guard | None = None,
    on_placed: Callable[[Placed], None] | None = None,
    now: dt.datetime | None = None,
) -> RouteChange:
    """Move the stop to a run not yet started (later today, else the next service day): never dropped."""

    def find(stop: Stop, moment: dt.datetime) -> Proposal | RouteChange:
        proposal, reason = later_run_find(stop=stop, window_start=window_start, window_end=window_end, now=moment)
        return proposal if proposal is not None else RouteChange(placed=False, reason=f"No later run: {reason}.")

    apply = partial(
        proposal_apply, requested_by=requested_by, case_id=case_id, user=user, guard=guard, on_placed=on_placed
    )
    return _place(stop_id=stop_id, find=find, apply=apply, now=now, doing="moving")


def _place(
    *,
    stop_id: int,
    find: Callable[[Stop, dt.datetime], Proposal | RouteChange],
    apply: Callable[..., RouteChange],
    now: dt.datetime | None,
    doing: str,
) -> RouteChange:
    """Find a place for the stop and write it; when the plan changed in between, find again (a few times)."""
    reason = ""
    for _ in range(STALE_RETRIES):
        stop = _load_stop(stop_id)
        found = find(stop, now or timezone.now())
        if isinstance(found, RouteChange):
            return found
        try:
            return apply(proposal=found, stop=stop)
        except StalePlan as exc:
            logger.info("routing: plan changed while %s stop %s (%s); trying again", doing, stop_id, exc)
            reason = str(exc)
    return RouteChange(placed=False, reason=f"The plan kept changing while {doing} the stop: {reason}.")


def unplanned_day(*, stop_id: int, window_start: dt.datetime | None, now: dt.datetime | None = None) -> dt.date | None:
    """The later day the stop should go out on when no run of its depot is planned for it yet, else None.

    The day asked for when it is after today, otherwise the next day. A day that has runs but no room
    is not unplanned: that needs a dispatcher.
    """
    now = now or timezone.now()
    stop = _load_stop(stop_id)
    zone = stop.run.depot.time_zone
    today = timezone.localdate(now, zone)
    wanted = timezone.localdate(window_start, zone) if window_start else None
    day = wanted if wanted and wanted > today else today + dt.timedelta(days=1)
    planned = Run.objects.filter(depot_id=stop.run.depot_id, service_date=day).exclude(status=Run.Status.CANCELLED)
    return None if planned.exists() else day
