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

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ortools.constraint_solver import (  # type: ignore[import-untyped]
    pywrapcp,
    routing_enums_pb2,
    routing_heuristic_parameters_pb2,
    routing_ils_pb2,
    routing_parameters_pb2,
)

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


# Not an OR-Tools metaheuristic name: our own, for OR-Tools' iterated local search.
ITERATED_LOCAL_SEARCH = "ITERATED_LOCAL_SEARCH"


@dataclass(frozen=True)
class SolverSettings:
    time_limit: float = 10.0
    # Insertion-based construction on purpose: OR-Tools' default (PATH_CHEAPEST_ARC)
    # extends one route greedily by nearest arc and, on tight windows (Solomon R101,
    # RC101), finds no first solution at all within 30 s without disjunctions, and a
    # poor one with them. Cheapest feasible insertion is what windows need.
    # Measured at 10 s on C101, C201, R101, R201, RC101, RC201 (bench/solomon.py,
    # distance-only BKS) under guided local search: LOCAL_CHEAPEST_INSERTION 1.92 %
    # mean gap, PARALLEL_CHEAPEST_INSERTION 2.51 % (stuck at +3.06 % on C101),
    # SAVINGS 3.97 % (the last with Python callbacks, before the C++ matrices).
    first_solution_strategy: str = "LOCAL_CHEAPEST_INSERTION"
    # ITERATED_LOCAL_SEARCH or an OR-Tools LocalSearchMetaheuristic name; see
    # _search_parameters for what was measured.
    local_search_metaheuristic: str = ITERATED_LOCAL_SEARCH
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


def _search_parameters(
    *, settings: SolverSettings, metaheuristic: str
) -> routing_parameters_pb2.RoutingSearchParameters:
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.Value.Value(
        settings.first_solution_strategy
    )
    params.time_limit.FromMilliseconds(max(1, int(settings.time_limit * 1000)))
    if settings.solution_limit is not None:
        params.solution_limit = settings.solution_limit
    if metaheuristic != ITERATED_LOCAL_SEARCH:
        params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.Value.Value(metaheuristic)
        return params
    # Iterated local search: ruin part of the plan, rebuild it by cheapest insertion,
    # descend to a local optimum, keep the result by simulated annealing, repeat
    # until the time limit. Guided local search instead walks one local-search
    # trajectory, and on 100-stop Solomon instances with loose windows each of its
    # moves costs thousands of rejected neighbours. Measured with bench/solomon.py,
    # mean gap to the distance-only BKS over all 44 instances at 10 s:
    #   guided local search (the earlier default)                        4.10 %
    #   this search, removed stops put back in index order, no descent   2.54 %
    #   ... in random order, no descent                                  2.66 %
    #   ... in random order, with the descent (below)                    1.80 %
    #   ... and only the vehicles worth searching with (_fleet)          1.33 %
    # From that last one: index order 1.89 %, temperatures 0.3x/0.003x 2.04 % and
    # 0.03x/0.0003x 1.55 % (below), as many spare vehicles as used 1.60 %. Single
    # instances move by several points between such variants, the means much less.
    # Earlier, on every other instance (22; guided local search 3.91 %, index order
    # without descent 2.43 %), from index order without descent: recreating by
    # PARALLEL_CHEAPEST_INSERTION 3.23 %, farthest stops first 2.47 %, adding a ruin
    # of whole nearby routes 3.34 %, 20 stops removed on average 2.25 %, the last
    # 20 % of the budget on guided local search 2.71 %, twice the budget 2.35 %, the
    # descent with all operators 2.52 % and with neighbour-limited ones
    # (ls_operator_neighbors_ratio 0.2, at least 10) 19.27 %.
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
    params.use_iterated_local_search = True
    ils = params.iterated_local_search_parameters
    ils.perturbation_strategy = routing_ils_pb2.PerturbationStrategy.RUIN_AND_RECREATE
    ruin_recreate = ils.ruin_recreate_parameters
    del ruin_recreate.ruin_strategies[:]
    # String removal (SISR, Christiaens and Vanden Berghe 2020) with the paper's
    # suggested values: strings of at most 10 stops, 10 stops removed on average,
    # from routes near a random seed stop.
    sisr = ruin_recreate.ruin_strategies.add().sisr
    sisr.max_removed_sequence_size = 10
    sisr.avg_num_removed_visits = 10
    sisr.bypass_factor = 0.01
    recreate = ruin_recreate.recreate_strategy
    recreate.heuristic = routing_enums_pb2.FirstSolutionStrategy.LOCAL_CHEAPEST_INSERTION
    # In random order: by default the removed stops go back in index order (every
    # stop has the same penalty and vehicles), the same order at every iteration.
    recreate.parameters.local_cheapest_insertion.insertion_sorting_properties.append(
        routing_heuristic_parameters_pb2.LocalCheapestInsertionParameters.SORTING_PROPERTY_RANDOM
    )
    ils.improve_perturbed_solution = True
    # Temperatures from the mean arc cost (initial 0.1x, final 0.001x, cooling with
    # the time used), so they follow the matrices' units.
    annealing = ils.reference_solution_acceptance_strategy.simulated_annealing
    annealing.automatic_temperatures = True
    return params


def _warm_routes(*, problem: Problem, initial_routes: Sequence[Sequence[str]]) -> list[list[str]]:
    """A checked warm start, with every vehicle's fixed prefix first on its own route."""
    if len(initial_routes) != len(problem.vehicles):
        raise ProblemError(
            f"initial routes: {len(initial_routes)} routes for {len(problem.vehicles)} vehicles (one per vehicle)"
        )
    known = {stop.id for stop in problem.stops}
    seen: set[str] = set()
    for route in initial_routes:
        for stop_id in route:
            if stop_id not in known:
                raise ProblemError(f"initial routes: {stop_id} is not a stop of the problem")
            if stop_id in seen:
                raise ProblemError(f"initial routes: stop {stop_id} appears more than once")
            seen.add(stop_id)
    fixed = {stop_id for vehicle in problem.vehicles for stop_id in vehicle.fixed_prefix}
    return [
        [*vehicle.fixed_prefix, *(stop_id for stop_id in route if stop_id not in fixed)]
        for vehicle, route in zip(problem.vehicles, initial_routes, strict=True)
    ]


@dataclass(frozen=True)
class _Model:
    manager: pywrapcp.RoutingIndexManager
    routing: pywrapcp.RoutingModel
    # Indices into problem.vehicles, in the model's vehicle order.
    vehicles: list[int]
    node_of: dict[str, int]


def _model(*, problem: Problem, settings: SolverSettings, vehicle_indices: list[int]) -> _Model:
    stops = list(problem.stops)
    vehicles = [problem.vehicles[v] for v in vehicle_indices]
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
    # Solving without them when every stop can be served changed nothing: the same
    # plan on Solomon R107, 10.3 s of CPU for 3,000 solutions against 11.1 s.
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
    return _Model(manager=manager, routing=routing, vehicles=list(vehicle_indices), node_of=node_of)


def _orders(*, model: _Model, assignment: pywrapcp.Assignment, stops: Sequence[Stop]) -> list[list[str]]:
    orders: list[list[str]] = []
    for v in range(len(model.vehicles)):
        order: list[str] = []
        index = assignment.Value(model.routing.NextVar(model.routing.Start(v)))
        while not model.routing.IsEnd(index):
            order.append(stops[model.manager.IndexToNode(index)].id)
            index = assignment.Value(model.routing.NextVar(index))
        orders.append(order)
    return orders


def _fleet(*, problem: Problem, settings: SolverSettings) -> list[int]:
    """The vehicles worth searching with: idle interchangeable ones beyond a few spares add only cost.

    Vehicles with the same start, end, shift and capacity and no fixed prefix are
    interchangeable. The first solution shows how many of each such class a plan
    uses; the search keeps those plus half as many spares (at least two), so it can
    still open routes. Every route and insertion the search tries is tried on each
    idle vehicle in turn: on Solomon R107 (25 vehicles, first solution on 13), 4,000
    solutions took 51 s of CPU with all 25 and 34 s with 14. Over the 44 instances
    at 10 s it took the mean gap from 1.80 % to 1.33 % (1.60 % with as many spares
    as used vehicles). When the first solution drops a stop, every vehicle stays.
    """
    classes: dict[tuple[int, int, int, int, int], list[int]] = {}
    for v, vehicle in enumerate(problem.vehicles):
        if not vehicle.fixed_prefix:
            key = (
                vehicle.start_location,
                vehicle.end_location,
                vehicle.start_time,
                vehicle.shift_end,
                vehicle.capacity,
            )
            classes.setdefault(key, []).append(v)
    everyone = list(range(len(problem.vehicles)))
    if not problem.stops or all(len(members) < 3 for members in classes.values()):
        return everyone
    model = _model(problem=problem, settings=settings, vehicle_indices=everyone)
    probe = SolverSettings(
        time_limit=settings.time_limit,
        first_solution_strategy=settings.first_solution_strategy,
        objective=settings.objective,
        vehicle_fixed_cost=settings.vehicle_fixed_cost,
        solution_limit=1,
    )
    assignment = model.routing.SolveWithParameters(_search_parameters(settings=probe, metaheuristic="GREEDY_DESCENT"))
    if assignment is None:
        return everyone
    orders = _orders(model=model, assignment=assignment, stops=problem.stops)
    if sum(len(order) for order in orders) < len(problem.stops):
        return everyone
    dropped: set[int] = set()
    for members in classes.values():
        used = sum(1 for v in members if orders[v])
        spares = max(2, used // 2)
        dropped.update([v for v in members if not orders[v]][spares:])
    return [v for v in everyone if v not in dropped]


def solve(
    *, problem: Problem, settings: SolverSettings, initial_routes: Sequence[Sequence[str]] | None = None
) -> Solution:
    """Plan the stops on the vehicles.

    ``initial_routes`` (one list of stop ids per vehicle, in ``problem.vehicles``
    order) is a warm start: the search starts from that plan and the result is never
    worse than it by the objective. Stops it leaves out are inserted by the search;
    fixed prefixes are put first on their vehicles whatever it says. A warm start
    that breaks a window, a shift or a capacity is ignored: the search then starts
    from its usual first solution. Unknown or repeated stop ids raise ProblemError.
    """
    _validate(problem=problem)
    started = time.monotonic()
    stops = list(problem.stops)
    if not problem.vehicles:
        return Solution(
            routes=[], dropped=[s.id for s in stops], status="NO_VEHICLES", solve_seconds=0.0, vehicles_used=0
        )
    warm_routes = None if initial_routes is None else _warm_routes(problem=problem, initial_routes=initial_routes)

    metaheuristic = settings.local_search_metaheuristic
    if metaheuristic == ITERATED_LOCAL_SEARCH and not stops:
        # OR-Tools' iterated local search has nothing to do without stops.
        metaheuristic = "GREEDY_DESCENT"
    if warm_routes is None:
        vehicle_indices = _fleet(problem=problem, settings=settings)
    else:
        vehicle_indices = list(range(len(problem.vehicles)))
    # The budget is for the whole solve, the fleet probe included.
    left = dataclasses.replace(settings, time_limit=max(0.01, settings.time_limit - (time.monotonic() - started)))
    model = _model(problem=problem, settings=settings, vehicle_indices=vehicle_indices)
    routing = model.routing
    params = _search_parameters(settings=left, metaheuristic=metaheuristic)
    # Some parameters (the local-search operators) are fixed when the model closes;
    # reading a warm start would otherwise close it with the defaults.
    routing.CloseModelWithParameters(params)

    warm = None
    if warm_routes is not None:
        indices = [[model.manager.NodeToIndex(model.node_of[stop_id]) for stop_id in route] for route in warm_routes]
        warm = routing.ReadAssignmentFromRoutes(indices, True)
    if warm is not None:
        # OR-Tools' iterated local search always builds its own first solution, so
        # a warm start is improved by guided local search whatever the settings.
        if metaheuristic == ITERATED_LOCAL_SEARCH:
            params = _search_parameters(settings=left, metaheuristic="GUIDED_LOCAL_SEARCH")
        assignment = routing.SolveFromAssignmentWithParameters(warm, params)
        status = routing_enums_pb2.RoutingSearchStatus.Value.Name(routing.status())
        if assignment is None or assignment.ObjectiveValue() > warm.ObjectiveValue():
            assignment, status = warm, "ROUTING_SUCCESS"
    elif metaheuristic == ITERATED_LOCAL_SEARCH:
        assignment = routing.SolveWithIteratedLocalSearch(params)
        # The iterated search leaves the model's status at "not solved".
        status = "ROUTING_SUCCESS"
        if assignment is None:
            # No first solution: the plain search also tries the all-dropped plan.
            rest = dataclasses.replace(
                settings, time_limit=max(0.1, settings.time_limit - (time.monotonic() - started))
            )
            assignment = routing.SolveWithParameters(
                _search_parameters(settings=rest, metaheuristic="GUIDED_LOCAL_SEARCH")
            )
            status = routing_enums_pb2.RoutingSearchStatus.Value.Name(routing.status())
    else:
        assignment = routing.SolveWithParameters(params)
        status = routing_enums_pb2.RoutingSearchStatus.Value.Name(routing.status())
    if assignment is None:
        return Solution(
            routes=[],
            dropped=[s.id for s in stops],
            status=status,
            solve_seconds=time.monotonic() - started,
        )

    orders: list[list[str]] = [[] for _ in problem.vehicles]
    for v, order in zip(model.vehicles, _orders(model=model, assignment=assignment, stops=stops), strict=True):
        orders[v] = order
    routes = [
        schedule(problem=problem, vehicle=vehicle, stop_ids=order)
        for vehicle, order in zip(problem.vehicles, orders, strict=True)
    ]
    served = {stop_id for order in orders for stop_id in order}
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
