"""An independent check of a plan against its problem: no OR-Tools, only the matrices.

Kept deliberately separate from ``routing/solver.py`` (it does not reuse its
``schedule``): a checker that shares the solver's code would share its bugs.
"""

from __future__ import annotations

from collections import Counter

from routing.solver import Problem, Solution


def plan_violations(*, problem: Problem, solution: Solution) -> list[str]:
    """Every way the solution breaks the problem's rules, as readable lines; [] means feasible."""
    violations: list[str] = []
    stops = {stop.id: stop for stop in problem.stops}
    vehicles = {vehicle.id: vehicle for vehicle in problem.vehicles}
    durations = problem.duration_matrix

    route_vehicle_ids = Counter(route.vehicle_id for route in solution.routes)
    for vehicle_id, count in route_vehicle_ids.items():
        if vehicle_id not in vehicles:
            violations.append(f"route for unknown vehicle {vehicle_id}")
        elif count > 1:
            violations.append(f"vehicle {vehicle_id} has {count} routes")

    visits = Counter(visit.stop_id for route in solution.routes for visit in route.visits)
    dropped = Counter(solution.dropped)
    for stop_id in stops:
        served = visits.get(stop_id, 0)
        if served > 1:
            violations.append(f"stop {stop_id} served {served} times")
        if served and dropped.get(stop_id):
            violations.append(f"stop {stop_id} both served and reported dropped")
        if not served and not dropped.get(stop_id):
            violations.append(f"stop {stop_id} neither served nor reported dropped")
        if dropped.get(stop_id, 0) > 1:
            violations.append(f"stop {stop_id} reported dropped {dropped[stop_id]} times")
    for stop_id in (visits | dropped).keys() - stops.keys():
        violations.append(f"unknown stop {stop_id} in the plan")

    routes_by_vehicle = {route.vehicle_id: route for route in solution.routes}
    for vehicle in problem.vehicles:
        route = routes_by_vehicle.get(vehicle.id)
        order = [visit.stop_id for visit in route.visits] if route else []
        if vehicle.fixed_prefix and tuple(order[: len(vehicle.fixed_prefix)]) != vehicle.fixed_prefix:
            violations.append(
                f"vehicle {vehicle.id}: fixed prefix {list(vehicle.fixed_prefix)} not kept, route starts {order}"
            )
        known = [stop_id for stop_id in order if stop_id in stops]
        if not known:
            continue
        clock = vehicle.start_time
        location = vehicle.start_location
        load = 0
        for stop_id in known:
            stop = stops[stop_id]
            clock += durations[location][stop.location]
            # Early is fine (the driver waits); late is not.
            if clock > stop.window_end:
                violations.append(
                    f"vehicle {vehicle.id}: stop {stop_id} reached at {clock}, after its window end {stop.window_end}"
                )
            clock = max(clock, stop.window_start) + stop.service
            load += stop.demand
            location = stop.location
        back = clock + durations[location][vehicle.end_location]
        if back > vehicle.shift_end:
            violations.append(f"vehicle {vehicle.id}: back at {back}, after its shift end {vehicle.shift_end}")
        if load > vehicle.capacity:
            violations.append(f"vehicle {vehicle.id}: load {load} exceeds capacity {vehicle.capacity}")
    return violations
