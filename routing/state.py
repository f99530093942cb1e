"""A depot's runs as the solver sees them: where each van is now, what it still has to do, and when.

Reads only. Loading a day is three queries whatever its size (runs, their
remaining stops, each run's last finished stop); travel times come from the
provider, cached per run plan version.

Times become integer seconds from an origin (the moment of the request), the
unit ``routing/solver.py`` and ``routing/insertion.py`` work in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from dispatch.models import Driver, Run, Stop
from routing import solver
from routing.travel import Matrix, Point, RunPoints, TravelTimes, matrices_cached

REMAINING = (Stop.Status.PENDING, Stop.Status.ARRIVED)
FINISHED = (Stop.Status.DELIVERED, Stop.Status.FAILED, Stop.Status.SKIPPED)
OPEN_WINDOW = 10**7  # seconds: a stop without a window closes long after any shift
NEW = "new"


@dataclass(frozen=True)
class StopRow:
    """What the solver needs of a stop, read as plain values: a day is thousands of them."""

    pk: int
    run_id: int
    status: str
    point: Point
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    service_minutes: int
    parcels: int


@dataclass
class RunState:
    run: Run
    version: int
    stops: list[StopRow]
    start: Point
    start_at: dt.datetime
    depot: Point
    load: int
    fixed: tuple[str, ...] = ()
    matrix: Matrix | None = field(default=None, repr=False)

    @property
    def points(self) -> list[Point]:
        return [self.start, *(stop.point for stop in self.stops), self.depot]

    @property
    def order(self) -> tuple[str, ...]:
        return tuple(str(stop.pk) for stop in self.stops)

    def request(self) -> RunPoints:
        return RunPoints(run_id=self.run.pk, plan_version=self.version, points=self.points, depart_at=self.start_at)


def matrices_load(*, states: Sequence[RunState], provider: TravelTimes) -> None:
    """Give every run its travel-time matrix in one pass (one cache round trip for a remote provider)."""
    missing = [state for state in states if state.matrix is None]
    matrices = matrices_cached(requests=[state.request() for state in missing], provider=provider)
    for state, matrix in zip(missing, matrices, strict=True):
        state.matrix = matrix


def stop_point(stop: Stop) -> Point:
    address = stop.order.address
    return (address.latitude, address.longitude)


def depot_point(run: Run) -> Point:
    return (run.depot.latitude, run.depot.longitude)


STOP_FIELDS = (
    "pk", "run_id", "status", "order__address__latitude", "order__address__longitude", "window_start",
    "window_end", "order__window_start", "order__window_end", "service_minutes", "order__parcel_count",
)  # fmt: skip


def _row(values: tuple[Any, ...]) -> StopRow:
    pk, run_id, status, lat, lng, start, end, order_start, order_end, service, parcels = values
    return StopRow(
        pk=pk,
        run_id=run_id,
        status=status,
        point=(lat, lng),
        window_start=start or order_start,
        window_end=end or order_end,
        service_minutes=service,
        parcels=parcels,
    )


def _driver_start(driver: Driver, last_finished: tuple[Point, dt.datetime] | None) -> tuple[Point, dt.datetime] | None:
    """Where the van is: the last GPS fix, or the last stop finished if that is more recent."""
    fix: tuple[Point, dt.datetime] | None = None
    if driver.last_latitude is not None and driver.last_longitude is not None and driver.last_seen_at:
        fix = ((driver.last_latitude, driver.last_longitude), driver.last_seen_at)
    if last_finished is not None and (fix is None or last_finished[1] > fix[1]):
        return last_finished
    return fix


def runs_state(*, runs: QuerySet[Run], now: dt.datetime, exclude_stop_id: int | None = None) -> list[RunState]:
    """Each run's remaining work, in its current order, from where the van is now."""
    run_list = list(runs.select_related("depot", "driver").order_by("shift_start", "pk"))
    if not run_list:
        return []
    ids = [run.pk for run in run_list]
    remaining: dict[int, list[StopRow]] = {run_id: [] for run_id in ids}
    loads: dict[int, int] = dict.fromkeys(ids, 0)
    active = Stop.objects.filter(run_id__in=ids, status__in=Stop.ACTIVE_STATUSES).order_by("run_id", "sequence")
    if exclude_stop_id is not None:
        active = active.exclude(pk=exclude_stop_id)
    for values in active.values_list(*STOP_FIELDS):
        row = _row(values)
        loads[row.run_id] += row.parcels
        if row.status in REMAINING:
            remaining[row.run_id].append(row)
    last_finished: dict[int, tuple[Point, dt.datetime]] = {
        run_id: ((lat, lng), at)
        for run_id, lat, lng, at in Stop.objects.filter(run_id__in=ids, status__in=FINISHED)
        .order_by("run_id", "-updated_at")
        .distinct("run_id")
        .values_list("run_id", "order__address__latitude", "order__address__longitude", "updated_at")
    }
    states: list[RunState] = []
    for run in run_list:
        start = depot_point(run)
        if run.status == Run.Status.IN_PROGRESS or run.pk in last_finished:
            position = _driver_start(run.driver, last_finished.get(run.pk))
            if position is not None:
                start = position[0]
        # A stop the driver has arrived at comes first, whatever its number.
        stops = sorted(remaining[run.pk], key=lambda stop: stop.status != Stop.Status.ARRIVED)
        states.append(
            RunState(
                run=run,
                version=run.plan_version,
                stops=stops,
                start=start,
                start_at=max(now, run.shift_start),
                depot=depot_point(run),
                load=loads[run.pk],
                fixed=tuple(str(stop.pk) for stop in stops if stop.status == Stop.Status.ARRIVED),
            )
        )
    return states


def seconds(moment: dt.datetime | None, origin: dt.datetime, default: int) -> int:
    if moment is None:
        return default
    return int((moment - origin).total_seconds())


def solver_stop(stop: StopRow, location: int, origin: dt.datetime) -> solver.Stop:
    return solver.Stop(
        id=str(stop.pk),
        location=location,
        demand=stop.parcels,
        window_start=max(0, seconds(stop.window_start, origin, 0)),
        window_end=seconds(stop.window_end, origin, OPEN_WINDOW),
        service=stop.service_minutes * 60,
    )


@dataclass(frozen=True)
class Candidate:
    """A run's problem with one extra stop (``NEW``) that may go anywhere after the fixed stops."""

    state: RunState
    problem: solver.Problem
    vehicle: solver.Vehicle


def run_problem(
    *,
    state: RunState,
    origin: dt.datetime,
    provider: TravelTimes,
    extra: tuple[Point, int, int, int, int] | None = None,
) -> Candidate:
    """The run as a one-vehicle problem; ``extra`` adds the stop to place: (point, window start, window end,
    service, demand), times already in seconds from ``origin``."""
    if state.matrix is None:
        matrices_load(states=[state], provider=provider)
    base = state.matrix
    if base is None:
        raise ValueError("no travel-time matrix for the run")
    seconds_matrix = [list(row) for row in base.seconds]
    metres_matrix = [list(row) for row in base.metres]
    stops = [solver_stop(stop, index + 1, origin) for index, stop in enumerate(state.stops)]
    size = len(seconds_matrix)
    if extra is not None:
        point, window_start, window_end, service, demand = extra
        points = state.points
        out = provider.table([point], points, depart_at=state.start_at)
        back = provider.table(points, [point], depart_at=state.start_at)
        for row in range(size):
            seconds_matrix[row].append(back.seconds[row][0])
            metres_matrix[row].append(back.metres[row][0])
        seconds_matrix.append([*out.seconds[0], 0])
        metres_matrix.append([*out.metres[0], 0])
        stops.append(
            solver.Stop(
                id=NEW,
                location=size,
                demand=demand,
                window_start=window_start,
                window_end=window_end,
                service=service,
            )
        )
    run = state.run
    vehicle = solver.Vehicle(
        id=str(run.pk),
        start_location=0,
        end_location=size - 1,
        start_time=max(0, seconds(state.start_at, origin, 0)),
        shift_end=seconds(run.shift_end, origin, OPEN_WINDOW),
        capacity=run.driver.vehicle_capacity,
        fixed_prefix=state.fixed,
    )
    problem = solver.Problem(
        vehicles=[vehicle], stops=stops, duration_matrix=seconds_matrix, distance_matrix=metres_matrix
    )
    return Candidate(state=state, problem=problem, vehicle=vehicle)


def arrivals(
    *, candidate: Candidate, order: Sequence[str], origin: dt.datetime
) -> tuple[dict[str, dt.datetime], solver.Route]:
    """Planned arrival of each stop in ``order``, as times: when it is served (an early van waits for the window)."""
    route = solver.schedule(problem=candidate.problem, vehicle=candidate.vehicle, stop_ids=order)
    return (
        {visit.stop_id: origin + dt.timedelta(seconds=visit.service_start) for visit in route.visits},
        route,
    )


def local(moment: dt.datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%H:%M}"
