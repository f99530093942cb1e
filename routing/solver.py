"""A pure VRPTW solver core on OR-Tools routing: plain data in, plain data out.

No Django here on purpose: the same code serves the dispatch desk (re-planning a
day whose routes are partly driven) and ``bench/solomon.py`` (measuring the model
against the literature), and both must be testable without a database.

Units are whatever the matrices use, as long as they agree: times and durations in
one unit (seconds for the desk, scaled Solomon units for the benchmark), distances
in another (metres, or scaled Solomon units). All values are integers because the
routing library works on int64.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ortools.constraint_solver import pywrapcp, routing_enums_pb2  # type: ignore[import-untyped]

Objective = Literal["distance", "time"]


@dataclass(frozen=True)
class Vehicle:
    id: str
    start_location: int
    end_location: int
    start_time: int
    shift_end: int
    capacity: int
    # Stops already driven or committed, in the order they must stay at the start of
    # the route; the solver may only append to them.
    fixed_prefix: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stop:
    id: str
    location: int
    demand: int
    window_start: int
    window_end: int
    service: int


@dataclass(frozen=True)
class Problem:
    vehicles: Sequence[Vehicle]
    stops: Sequence[Stop]
    duration_matrix: Sequence[Sequence[int]]
    distance_matrix: Sequence[Sequence[int]]


@dataclass(frozen=True)
class SolverSettings:
    time_limit: float = 10.0
    # Insertion-based construction on purpose: OR-Tools' default (PATH_CHEAPEST_ARC)
    # extends one route greedily by nearest arc and, on tight windows (Solomon R101,
    # RC101), finds no first solution at all within 30 s without disjunctions, and a
    # poor one with them. Cheapest feasible insertion is what windows need, and
    # GUIDED_LOCAL_SEARCH then escapes the local optima greedy descent stops in.
    # Measured at 10 s on C101, C201, R101, R201, RC101, RC201 (bench/solomon.py,
    # distance-only BKS): LOCAL_CHEAPEST_INSERTION 1.92 % mean gap,
    # PARALLEL_CHEAPEST_INSERTION 2.51 % (stuck at +3.06 % on C101), SAVINGS 3.97 %
    # (the last with Python callbacks, before the C++ matrices).
    first_solution_strategy: str = "LOCAL_CHEAPEST_INSERTION"
    local_search_metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    objective: Objective = "distance"
    # Added once per used vehicle; large values make the solver minimise the fleet
    # first, 0 minimises distance (or time) only.
    vehicle_fixed_cost: int = 0
    solution_limit: int | None = None


@dataclass(frozen=True)
class Visit:
    stop_id: str
    # Arrival at the stop; service may start later (waiting for the window).
    arrival: int
    service_start: int
    departure: int


@dataclass(frozen=True)
class Route:
    vehicle_id: str
    visits: list[Visit]
    distance: int
    # From the vehicle's start time to its return at the end location (driving,
    # waiting and service); 0 for an unused vehicle.
    duration: int
    end_time: int


@dataclass(frozen=True)
class Solution:
    routes: list[Route]
    dropped: list[str]
    status: str
    solve_seconds: float
    total_distance: int = 0
    total_duration: int = 0
    vehicles_used: int = 0

    @property
    def feasible_found(self) -> bool:
        return self.status in {
            "ROUTING_SUCCESS",
            "ROUTING_OPTIMAL",
            "ROUTING_PARTIAL_SUCCESS_LOCAL_OPTIMUM_NOT_REACHED",
        }


class ProblemError(ValueError):
    """The problem is malformed (bad index, unknown fixed stop), not merely infeasible."""


def _validate(*, problem: Problem) -> None:
    size = len(problem.duration_matrix)
    if len(problem.distance_matrix) != size or any(len(row) != size for row in problem.duration_matrix):
        raise ProblemError("duration and distance matrices must be square and of the same size")
    if any(len(row) != size for row in problem.distance_matrix):
        raise ProblemError("distance matrix must be square")
    ids = [stop.id for stop in problem.stops]
    if len(set(ids)) != len(ids):
        raise ProblemError("stop ids must be unique")
    for stop in problem.stops:
        if not 0 <= stop.location < size:
            raise ProblemError(f"stop {stop.id}: location {stop.location} outside the matrix")
    seen: set[str] = set()
    known = set(ids)
    for vehicle in problem.vehicles:
        for loc in (vehicle.start_location, vehicle.end_location):
            if not 0 <= loc < size:
                raise ProblemError(f"vehicle {vehicle.id}: location {loc} outside the matrix")
        for stop_id in vehicle.fixed_prefix:
            if stop_id not in known:
                raise ProblemError(f"vehicle {vehicle.id}: fixed stop {stop_id} is not a stop of the problem")
            if stop_id in seen:
                raise ProblemError(f"fixed stop {stop_id} appears in more than one fixed prefix")
            seen.add(stop_id)


def schedule(*, problem: Problem, vehicle: Vehicle, stop_ids: Sequence[str]) -> Route:
    """The earliest schedule of a given stop order: arrive, wait for the window, serve, drive on.

    Used to report routes, so the times we show are the ones a driver would see,
    not whatever slack values the solver's last assignment happened to hold.
    """
    stops = {stop.id: stop for stop in problem.stops}
    clock = vehicle.start_time
    location = vehicle.start_location
    distance = 0
    visits: list[Visit] = []
    for stop_id in stop_ids:
        stop = stops[stop_id]
        arrival = clock + problem.duration_matrix[location][stop.location]
        distance += problem.distance_matrix[location][stop.location]
        service_start = max(arrival, stop.window_start)
        clock = service_start + stop.service
        visits.append(Visit(stop_id=stop_id, arrival=arrival, service_start=service_start, departure=clock))
        location = stop.location
    if not visits:
        return Route(vehicle_id=vehicle.id, visits=[], distance=0, duration=0, end_time=vehicle.start_time)
    end_time = clock + problem.duration_matrix[location][vehicle.end_location]
    distance += problem.distance_matrix[location][vehicle.end_location]
    return Route(
        vehicle_id=vehicle.id,
        visits=visits,
        distance=distance,
        duration=end_time - vehicle.start_time,
        end_time=end_time,
    )


def solve(*, problem: Problem, settings: SolverSettings) -> Solution:
    _validate(problem=problem)
    started = time.monotonic()
    stops = list(problem.stops)
    vehicles = list(problem.vehicles)
    if not vehicles:
        return Solution(
            routes=[], dropped=[s.id for s in stops], status="NO_VEHICLES", solve_seconds=0.0, vehicles_used=0
        )

    # Routing nodes: 0..n-1 are the stops, then one start and one end node per vehicle.
    # Giving each vehicle its own start/end node (rather than sharing location
    # indices) lets two stops share a location and lets vehicles start mid-route.
    node_location = [s.location for s in stops]
    start_nodes: list[int] = []
    end_nodes: list[int] = []
    for vehicle in vehicles:
        start_nodes.append(len(node_location))
        node_location.append(vehicle.start_location)
        end_nodes.append(len(node_location))
        node_location.append(vehicle.end_location)
    node_service = [s.service for s in stops] + [0] * (2 * len(vehicles))
    node_demand = [s.demand for s in stops] + [0] * (2 * len(vehicles))

    manager = pywrapcp.RoutingIndexManager(len(node_location), len(vehicles), start_nodes, end_nodes)
    routing = pywrapcp.RoutingModel(manager)

    # Node-indexed matrices registered in C++ rather than Python callbacks: the
    # local search calls them millions of times, and crossing into Python for each
    # call cut the number of moves explored in a 10 s budget several-fold.
    durations = problem.duration_matrix
    distances = problem.distance_matrix
    drive = [[durations[a][b] for b in node_location] for a in node_location]
    time_matrix = [
        [node_service[i] + drive[i][j] for j in range(len(node_location))] for i in range(len(node_location))
    ]
    distance_matrix = [[distances[a][b] for b in node_location] for a in node_location]

    time_cb = routing.RegisterTransitMatrix(time_matrix)
    cost_cb = routing.RegisterTransitMatrix(distance_matrix if settings.objective == "distance" else drive)
    routing.SetArcCostEvaluatorOfAllVehicles(cost_cb)
    if settings.vehicle_fixed_cost:
        routing.SetFixedCostOfAllVehicles(settings.vehicle_fixed_cost)

    horizon = max(
        [v.shift_end for v in vehicles] + [s.window_end + s.service for s in stops] + [0],
    )
    # Slack is waiting time; a vehicle may wait as long as the horizon allows.
    routing.AddDimension(time_cb, horizon, horizon, False, "Time")
    time_dim = routing.GetDimensionOrDie("Time")
    for node, stop in enumerate(stops):
        time_dim.CumulVar(manager.NodeToIndex(node)).SetRange(stop.window_start, stop.window_end)
    for v, vehicle in enumerate(vehicles):
        time_dim.CumulVar(routing.Start(v)).SetRange(vehicle.start_time, vehicle.start_time)
        time_dim.CumulVar(routing.End(v)).SetRange(vehicle.start_time, vehicle.shift_end)
        # Ask the finaliser for the earliest return rather than any feasible one.
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.End(v)))

    demand_cb = routing.RegisterUnaryTransitVector(node_demand)
    routing.AddDimensionWithVehicleCapacity(demand_cb, 0, [v.capacity for v in vehicles], True, "Capacity")

    # A stop that cannot be served (window closed, shift too short, no room) is
    # dropped and reported instead of making the whole model infeasible. The penalty
    # exceeds the cost of any complete plan, so dropping is never a way to save
    # distance: every arc at most once, plus every vehicle's fixed cost.
    cost_matrix = distances if settings.objective == "distance" else durations
    max_arc = max((max(row) for row in cost_matrix), default=0)
    penalty = (max_arc + 1) * (len(node_location) + 1) + settings.vehicle_fixed_cost * (len(vehicles) + 1)
    for node in range(len(stops)):
        routing.AddDisjunction([manager.NodeToIndex(node)], penalty)

    # Fixed prefixes: hard Next constraints from the vehicle's start through the
    # stops already driven. Hard constraints (rather than a preassignment hint) keep
    # local search from ever moving them.
    node_of = {stop.id: node for node, stop in enumerate(stops)}
    solver = routing.solver()
    for v, vehicle in enumerate(vehicles):
        previous = routing.Start(v)
        for stop_id in vehicle.fixed_prefix:
            index = manager.NodeToIndex(node_of[stop_id])
            solver.Add(routing.NextVar(previous) == index)
            previous = index

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.Value.Value(
        settings.first_solution_strategy
    )
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.Value.Value(
        settings.local_search_metaheuristic
    )
    params.time_limit.FromMilliseconds(max(1, int(settings.time_limit * 1000)))
    if settings.solution_limit is not None:
        params.solution_limit = settings.solution_limit

    assignment = routing.SolveWithParameters(params)
    status = routing_enums_pb2.RoutingSearchStatus.Value.Name(routing.status())
    if assignment is None:
        return Solution(
            routes=[],
            dropped=[s.id for s in stops],
            status=status,
            solve_seconds=time.monotonic() - started,
        )

    routes: list[Route] = []
    served: set[str] = set()
    for v, vehicle in enumerate(vehicles):
        order: list[str] = []
        index = assignment.Value(routing.NextVar(routing.Start(v)))
        while not routing.IsEnd(index):
            order.append(stops[manager.IndexToNode(index)].id)
            index = assignment.Value(routing.NextVar(index))
        served.update(order)
        routes.append(schedule(problem=problem, vehicle=vehicle, stop_ids=order))
    dropped = [s.id for s in stops if s.id not in served]
    return Solution(
        routes=routes,
        dropped=dropped,
        status=status,
        solve_seconds=time.monotonic() - started,
        total_distance=sum(r.distance for r in routes),
        total_duration=sum(r.duration for r in routes),
        vehicles_used=sum(1 for r in routes if r.visits),
    )
