"""What every routing operation shares: its answer, the proposal it found, and writing a new plan version.

A plan version is written in one short transaction that locks the runs it changes: the run's ``plan_version``
bumped, a ``PlanVersion`` recorded, the stops renumbered with their planned arrivals, and the driver, the board
and the desk told after commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone

from dispatch import driver_words, realtime
from dispatch.models import Depot, DriverInstruction, Run, Stop, User
from dispatch.services.instructions import instruction_push
from routing import ports
from routing.models import PlanVersion, RoutingSettings
from routing.state import NEW
from routing.travel import TravelTimes, travel_times

STALE_RETRIES = 3


class StalePlan(Exception):
    """A run's plan changed between reading and writing."""


@dataclass(frozen=True)
class RouteChange:
    """What an operation did. ``placed`` False means nothing was written; ``reason`` says why."""

    placed: bool
    operation: str = ""
    reason: str = ""
    run_id: int | None = None
    stop_id: int | None = None
    plan_version: int | None = None
    same_day: bool = True
    summary: str = ""
    added_seconds: int = 0
    added_metres: int = 0
    # When no same-day slot exists and moving was not allowed: the later run that would take it.
    alternative: Proposal | None = None
    # The case that asked was resolved or escalated meanwhile: nothing to answer.
    case_moved_on: bool = False


@dataclass(frozen=True)
class Proposal:
    """A place for the stop found on a plan version; applied only if that version is still current."""

    operation: str
    run_id: int
    version: int
    order: tuple[str, ...]
    before: tuple[str, ...]
    arrivals: dict[str, dt.datetime]
    added_seconds: int
    added_metres: int
    service_date: dt.date
    handover: bool
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    solve_ms: int

    def describe(self, run: Run) -> str:
        zone = run.depot.time_zone
        position = self.order.index(NEW) + 1
        eta = self.arrivals.get(NEW)
        when = f" ETA {timezone.localtime(eta, zone):%H:%M}" if eta else ""
        day = f" on {self.service_date:%a %d %b}" if self.operation == PlanVersion.Operation.MOVE_TO_LATER_RUN else ""
        handover = " (handover)" if self.handover else ""
        return (
            f"{run.driver}'s run{day}, stop {position} of {len(self.order)}{when}{handover}, "
            f"+{round(self.added_seconds / 60)} min, +{self.added_metres / 1000:.1f} km"
        )


def travel_provider(settings: RoutingSettings, depot: Depot) -> TravelTimes:
    return travel_times(settings=settings, time_zone=depot.time_zone)


# --- Writing a plan ------------------------------------------------------------------------------------------------


def runs_lock(run_ids: Sequence[int]) -> dict[int, Run]:
    runs = Run.objects.select_for_update(of=("self",)).select_related("depot", "driver__user").filter(pk__in=run_ids)
    return {run.pk: run for run in runs.order_by("pk")}


def run_renumber(run: Run, order: Sequence[Stop], times: dict[str, dt.datetime]) -> None:
    """The run's finished stops keep their relative order first; the remaining follow in the new order."""
    placed = {stop.pk for stop in order}
    finished = [stop for stop in Stop.objects.filter(run=run).order_by("sequence") if stop.pk not in placed]
    stops = [*finished, *order]
    for number, stop in enumerate(stops, start=1):
        stop.sequence = number
        stop.planned_arrival = times.get(str(stop.pk), stop.planned_arrival)
    Stop.objects.bulk_update(stops, ["sequence", "planned_arrival"])


def plan_version_record(
    *,
    run: Run,
    operation: str,
    requested_by: str,
    before: Sequence[int],
    after: Sequence[int],
    added_seconds: int,
    added_metres: int,
    solve_ms: int,
    summary: str,
    stop: Stop | None = None,
    case_id: int | None = None,
    user: User | None = None,
) -> PlanVersion:
    run.plan_version += 1
    run.save(update_fields=["plan_version"])
    version = PlanVersion.objects.create(
        run=run,
        version=run.plan_version,
        operation=operation,
        requested_by=requested_by[:120],
        user=user,
        case_id=case_id,
        stop=stop,
        before=list(before),
        after=list(after),
        added_seconds=added_seconds,
        added_metres=added_metres,
        solve_ms=solve_ms,
        summary=summary[:300],
    )
    _route_updated(run=run, version=version)
    return version


def _route_updated(*, run: Run, version: PlanVersion) -> None:
    stops = {
        stop.pk: stop
        for stop in Stop.objects.filter(pk__in=version.after)
        .select_related("order")
        .only("pk", "sequence", "planned_arrival", "order__reference")
    }
    sequence = []
    for stop_id in version.after:
        stop = stops.get(stop_id)
        if stop is not None:
            eta = stop.planned_arrival
            sequence.append(
                {
                    "stop_id": stop_id,
                    "sequence": stop.sequence,
                    "order": stop.order.reference,
                    "planned_arrival": eta.isoformat() if eta else None,
                }
            )
    instruction_push(
        driver=run.driver,
        kind=DriverInstruction.Kind.ROUTE_UPDATED,
        text=driver_words.route_changed(stop=version.stop, order=list(version.after)),
        stop=version.stop,
        payload={
            "run_id": run.pk,
            "plan_version": version.version,
            "stops_left": len(sequence),
            "sequence": sequence,
        },
    )
    realtime.board_send_on_commit(
        run.depot_id,
        "run.updated",
        {"run_id": run.pk, "plan_version": version.version, "operation": version.operation},
    )
    # The run's arrivals moved: so did the risk of its stops.
    ports.desk().runs_changed(run_ids=[run.pk])
