"""The linear-time insertion search against a brute force that re-simulates every candidate route."""

from __future__ import annotations

import random

import pytest

from routing.feasibility import plan_violations
from routing.insertion import best_insertion
from routing.solver import Problem, Solution, Stop, Vehicle, schedule


def lateness(problem: Problem, vehicle: Vehicle, order: list[str]) -> tuple[list[int], int]:
    route = schedule(problem=problem, vehicle=vehicle, stop_ids=order)
    ends = {stop.id: stop.window_end for stop in problem.stops}
    if not order:  # a van with nothing left still drives back
        return [], vehicle.start_time + problem.duration_matrix[vehicle.start_location][vehicle.end_location]
    return [max(0, visit.arrival - ends[visit.stop_id]) for visit in route.visits], route.end_time


def distance(problem: Problem, vehicle: Vehicle, order: list[str]) -> int:
    if not order:
        return problem.distance_matrix[vehicle.start_location][vehicle.end_location]
    return schedule(problem=problem, vehicle=vehicle, stop_ids=order).distance


def brute_force(problem: Problem, vehicle: Vehicle, order: list[str], new: str) -> tuple[int, int, int] | None:
    """(added time, added distance, position) of the best insertion, by simulating each one."""
    base_late, base_back = lateness(problem, vehicle, order)
    base_distance = distance(problem, vehicle, order)
    best = None
    for position in range(len(vehicle.fixed_prefix), len(order) + 1):
        candidate = [*order[:position], new, *order[position:]]
        late, back = lateness(problem, vehicle, candidate)
        others = late[:position] + late[position + 1 :]
        if late[position] or any(a > b for a, b in zip(others, base_late, strict=True)):
            continue
        if back > max(vehicle.shift_end, base_back):
            continue
        key = (back - base_back, distance(problem, vehicle, candidate) - base_distance, position)
        if best is None or key[:2] < best[:2]:
            best = key
    return best


def random_case(rng: random.Random, size: int) -> tuple[Problem, Vehicle, list[str]]:
    points = [(rng.uniform(0, 100), rng.uniform(0, 100)) for _ in range(size + 3)]
    matrix = [[round(((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5) for b in points] for a in points]
    stops = []
    for index in range(1, size + 2):
        opens = rng.choice([0, 0, rng.randrange(0, 400)])
        closes = rng.choice([10**6, opens + rng.randrange(20, 300)])
        stops.append(Stop(id=f"s{index}", location=index, demand=1, window_start=opens, window_end=closes, service=5))
    vehicle = Vehicle(
        id="v",
        start_location=0,
        end_location=size + 2,
        start_time=0,
        shift_end=rng.choice([10**6, 600, 900]),
        capacity=size + 1,
        fixed_prefix=("s1",) if rng.random() < 0.3 else (),
    )
    problem = Problem(vehicles=[vehicle], stops=stops, duration_matrix=matrix, distance_matrix=matrix)
    return problem, vehicle, [f"s{index}" for index in range(1, size + 1)]


@pytest.mark.parametrize("seed", range(200))
def test_it_finds_what_re_simulating_every_position_finds(seed):
    rng = random.Random(seed)
    problem, vehicle, order = random_case(rng, rng.randrange(0, 9))
    new = f"s{len(order) + 1}"

    found = best_insertion(problem=problem, vehicle=vehicle, order=order, stop_id=new, load=0)
    expected = brute_force(problem, vehicle, order, new)

    if expected is None:
        assert found is None
        return
    assert found is not None
    assert (found.added_duration, found.added_distance) == expected[:2]
    late, back = lateness(problem, vehicle, list(found.order))
    assert late[found.position] == 0
    assert back - lateness(problem, vehicle, order)[1] == found.added_duration


def test_a_feasible_route_stays_feasible_for_the_independent_checker():
    rng = random.Random(7)
    checked = 0
    for _ in range(200):
        problem, vehicle, order = random_case(rng, 6)
        route = schedule(problem=problem, vehicle=vehicle, stop_ids=order)
        before = Solution(routes=[route], dropped=["s7"], status="ROUTING_SUCCESS", solve_seconds=0)
        if plan_violations(problem=problem, solution=before):
            continue
        found = best_insertion(problem=problem, vehicle=vehicle, order=order, stop_id="s7", load=0)
        if found is None:
            continue
        after = schedule(problem=problem, vehicle=vehicle, stop_ids=found.order)
        solution = Solution(routes=[after], dropped=[], status="ROUTING_SUCCESS", solve_seconds=0)
        assert plan_violations(problem=problem, solution=solution) == []
        checked += 1
    assert checked > 20


def test_a_full_van_takes_nothing():
    problem, vehicle, order = random_case(random.Random(1), 3)
    assert best_insertion(problem=problem, vehicle=vehicle, order=order, stop_id="s4", load=vehicle.capacity) is None
