"""Solomon VRPTW instances (../shared/benchmarks/solomon) as solver ``Problem``s.

Scaling: the literature's BKS (``bks.csv``, ``bks_distance.csv``) use double-precision
Euclidean arcs, not arcs truncated to one decimal, so we keep that convention and
multiply by SCALE = 1000 to reach the integers the solvers need.

- Distances (the cost) are rounded to the nearest 1/1000: a route of ~100 arcs is
  off by at most ~0.05 units, far below the gaps we measure.
- Durations (travel time = distance at speed 1) are rounded *up*. With windows,
  service times and the horizon all integers (x1000 exactly), an arrival computed
  on ceiled arcs is never earlier than the exact one, so a plan feasible on our
  integer matrices is feasible in double precision too. ``float_violations``
  re-checks that anyway, and ``float_distance`` gives the total to compare with BKS.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

from routing.solver import Problem, Solution, Stop, Vehicle

SCALE = 1000


@dataclass(frozen=True)
class Node:
    id: int
    x: int
    y: int
    demand: int
    ready: int
    due: int
    service: int


@dataclass(frozen=True)
class SolomonInstance:
    name: str
    vehicle_count: int
    capacity: int
    # nodes[0] is the depot, nodes[i] is customer i.
    nodes: list[Node]
    problem: Problem


def _euclid(a: Node, b: Node) -> float:
    return math.hypot(a.x - b.x, a.y - b.y)


def read_instance(*, path: Path) -> SolomonInstance:
    """Parse the original text format: keep lines whose first token is an integer (README)."""
    lines = path.read_text().splitlines()
    name = next(line.strip() for line in lines if line.strip())
    rows: list[list[int]] = []
    for line in lines:
        tokens = line.split()
        if tokens and tokens[0].lstrip("-").isdigit():
            rows.append([int(t) for t in tokens])
    vehicle_count, capacity = rows[0][:2]
    nodes = [Node(*row[:7]) for row in rows[1:]]
    if [n.id for n in nodes] != list(range(len(nodes))):
        raise ValueError(f"{path}: node rows are not numbered 0..{len(nodes) - 1}")

    depot = nodes[0]
    distance_matrix: list[list[int]] = []
    duration_matrix: list[list[int]] = []
    for a in nodes:
        exact = [_euclid(a, b) * SCALE for b in nodes]
        distance_matrix.append([round(d) for d in exact])
        # The epsilon keeps an exact integer (e.g. a 3-4-5 triangle) from being
        # pushed up by floating-point noise.
        duration_matrix.append([math.ceil(d - 1e-6) for d in exact])

    stops = [
        Stop(
            id=str(n.id),
            location=n.id,
            demand=n.demand,
            window_start=n.ready * SCALE,
            window_end=n.due * SCALE,
            service=n.service * SCALE,
        )
        for n in nodes[1:]
    ]
    vehicles = [
        Vehicle(
            id=f"v{k + 1}",
            start_location=0,
            end_location=0,
            start_time=depot.ready * SCALE,
            # Every route must be back by the depot's due date (the horizon).
            shift_end=depot.due * SCALE,
            capacity=capacity,
        )
        for k in range(vehicle_count)
    ]
    problem = Problem(vehicles=vehicles, stops=stops, duration_matrix=duration_matrix, distance_matrix=distance_matrix)
    return SolomonInstance(name=name, vehicle_count=vehicle_count, capacity=capacity, nodes=nodes, problem=problem)


def routes_of(*, solution: Solution) -> list[list[int]]:
    """Customer numbers of each non-empty route."""
    return [[int(v.stop_id) for v in route.visits] for route in solution.routes if route.visits]


def float_distance(*, instance: SolomonInstance, routes: list[list[int]]) -> float:
    """Total distance in double precision, the BKS convention."""
    nodes = instance.nodes
    total = 0.0
    for route in routes:
        path = [0, *route, 0]
        total += sum(_euclid(nodes[a], nodes[b]) for a, b in itertools.pairwise(path))
    return total


def float_violations(*, instance: SolomonInstance, routes: list[list[int]]) -> list[str]:
    """Windows, horizon, capacity and coverage in double precision (README: rounded arcs can mislead)."""
    nodes = instance.nodes
    violations: list[str] = []
    if len(routes) > instance.vehicle_count:
        violations.append(f"{len(routes)} routes for {instance.vehicle_count} vehicles")
    seen = sorted(c for route in routes for c in route)
    if seen != list(range(1, len(nodes))):
        violations.append("customers not served exactly once")
    for k, route in enumerate(routes):
        clock = float(nodes[0].ready)
        previous = 0
        for c in route:
            clock += _euclid(nodes[previous], nodes[c])
            if clock > nodes[c].due + 1e-9:
                violations.append(f"route {k}: customer {c} at {clock:.4f} > due {nodes[c].due}")
            clock = max(clock, float(nodes[c].ready)) + nodes[c].service
            previous = c
        back = clock + _euclid(nodes[previous], nodes[0])
        if back > nodes[0].due + 1e-9:
            violations.append(f"route {k}: back at depot at {back:.4f} > {nodes[0].due}")
        load = sum(nodes[c].demand for c in route)
        if load > instance.capacity:
            violations.append(f"route {k}: load {load} > capacity {instance.capacity}")
    return violations
