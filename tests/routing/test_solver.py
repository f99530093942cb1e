"""The VRPTW solver core: small hand-checked cases, each plan re-checked by the independent checker."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from routing.feasibility import plan_violations
from routing.solver import Problem, ProblemError, Route, Solution, SolverSettings, Stop, Vehicle, Visit, solve

# Short budgets: these models have a handful of nodes, the first solution plus a
# little local search is already optimal. A solution limit would stop GLS early but
# not deterministically at the optimum, so a small time limit it is.
FAST = SolverSettings(time_limit=0.5)
SOLOMON = Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "solomon"
# The shared benchmarks sit beside the repository; CI always has them, so there a missing folder fails.
needs_solomon = pytest.mark.skipif(
    not SOLOMON.is_dir() and not os.environ.get("CI"), reason=f"Solomon benchmark folder {SOLOMON} is not mounted"
)


def line(*, points: list[int]) -> tuple[list[list[int]], list[list[int]]]:
    """Locations on a straight road: 10 s and 100 m per unit, so every figure can be checked by hand."""
    durations = [[10 * abs(a - b) for b in points] for a in points]
    distances = [[100 * abs(a - b) for b in points] for a in points]
    return durations, distances


def van(
    vid: str = "van-1",
    *,
    capacity: int = 100,
    shift_end: int = 10_000,
    start_time: int = 0,
    start: int = 0,
    fixed: tuple[str, ...] = (),
) -> Vehicle:
    return Vehicle(
        id=vid,
        start_location=start,
        end_location=0,
        start_time=start_time,
        shift_end=shift_end,
        capacity=capacity,
        fixed_prefix=fixed,
    )


def stop(sid: str, location: int, *, demand: int = 1, window: tuple[int, int] = (0, 10_000), service: int = 5) -> Stop:
    return Stop(id=sid, location=location, demand=demand, window_start=window[0], window_end=window[1], service=service)


def solved(
    problem: Problem, settings: SolverSettings = FAST, *, initial_routes: list[list[str]] | None = None
) -> Solution:
    solution = solve(problem=problem, settings=settings, initial_routes=initial_routes)
    assert solution.feasible_found, solution.status
    assert plan_violations(problem=problem, solution=solution) == []
    return solution


def order(solution: Solution, vehicle_id: str = "van-1") -> list[str]:
    route = next(r for r in solution.routes if r.vehicle_id == vehicle_id)
    return [v.stop_id for v in route.visits]


def test_it_inserts_a_stop_between_its_neighbours():
    # A square round the depot at (0, 0): "nw" (0, 10), "ne" (10, 10), "se" (10, 0).
    # "mid" at (5, 10) lies on the top edge, so the shortest tour (400 m) puts it
    # between "nw" and "ne"; anywhere else costs a detour.
    points = [(0, 0), (0, 10), (10, 10), (10, 0), (5, 10)]
    distances = [[round(10 * math.dist(a, b)) for b in points] for a in points]
    durations = [[d // 10 for d in row] for row in distances]
    problem = Problem(
        vehicles=[van()],
        stops=[stop("nw", 1), stop("ne", 2), stop("se", 3), stop("mid", 4)],
        duration_matrix=durations,
        distance_matrix=distances,
    )

    solution = solved(problem)

    assert order(solution) in (["nw", "mid", "ne", "se"], ["se", "ne", "mid", "nw"])
    assert solution.total_distance == 400
    assert solution.dropped == []


def test_it_reports_arrival_waiting_and_service_times():
    durations, distances = line(points=[0, 1, 3])
    problem = Problem(
        vehicles=[van(start_time=100)],
        # The windows pin the order (far first would reach "near" after 160).
        stops=[stop("near", 1, window=(150, 160), service=5), stop("far", 2, window=(170, 10_000), service=5)],
        duration_matrix=durations,
        distance_matrix=distances,
    )

    solution = solved(problem)

    route = solution.routes[0]
    # Leaves at 100, reaches "near" at 110, waits until 150, serves 5 s, 20 s on to "far".
    assert route.visits[0] == Visit(stop_id="near", arrival=110, service_start=150, departure=155)
    assert route.visits[1] == Visit(stop_id="far", arrival=175, service_start=175, departure=180)
    assert route.end_time == 210
    assert route.duration == 110


def test_it_lets_a_window_force_the_far_stop_first():
    # Without windows, "near" then "far" and "far" then "near" cost the same; the
    # windows leave only far-first: "far" closes at 35 (reached at 30 directly,
    # not before 125 via "near", which opens at 100).
    durations, distances = line(points=[0, 1, 3])
    problem = Problem(
        vehicles=[van()],
        stops=[stop("near", 1, window=(100, 200)), stop("far", 2, window=(0, 35))],
        duration_matrix=durations,
        distance_matrix=distances,
    )

    solution = solved(problem)

    assert order(solution) == ["far", "near"]
    assert solution.routes[0].visits[1].service_start == 100


def test_it_drops_a_stop_the_shift_cannot_reach_and_says_so():
    # "far" is 50 s out and 50 s back: 105 s with service, beyond an 80 s shift.
    durations, distances = line(points=[0, 1, 5])
    problem = Problem(
        vehicles=[van(shift_end=80)],
        stops=[stop("near", 1), stop("far", 2)],
        duration_matrix=durations,
        distance_matrix=distances,
    )

    solution = solved(problem)

    assert solution.dropped == ["far"]
    assert order(solution) == ["near"]
    assert solution.routes[0].end_time <= 80


def test_it_respects_capacity_by_using_a_second_vehicle():
    # All three fit on one road and one van would be shortest, but 6 + 6 + 4 > 10.
    durations, distances = line(points=[0, 1, 2, 3])
    problem = Problem(
        vehicles=[van("van-1", capacity=10), van("van-2", capacity=10), van("van-3", capacity=10)],
        stops=[stop("a", 1, demand=6), stop("b", 2, demand=6), stop("c", 3, demand=4)],
        duration_matrix=durations,
        distance_matrix=distances,
    )

    solution = solved(problem)

    demands = {"a": 6, "b": 6, "c": 4}
    loads = [sum(demands[v.stop_id] for v in r.visits) for r in solution.routes]
    assert max(loads) <= 10
    assert solution.vehicles_used == 2
    assert solution.dropped == []


def test_it_keeps_a_fixed_prefix_in_the_order_already_driven():
    # The driver already did "c" then "a" (the wrong way round); the solver must
    # keep that and only place "b".
    durations, distances = line(points=[0, 1, 2, 3])
    problem = Problem(
        vehicles=[van(fixed=("c", "a"))],
        stops=[stop("a", 1), stop("b", 2), stop("c", 3)],
        duration_matrix=durations,
        distance_matrix=distances,
    )

    solution = solved(problem)

    assert order(solution)[:2] == ["c", "a"]
    assert sorted(order(solution)) == ["a", "b", "c"]


def test_it_keeps_a_fixed_prefix_on_the_right_vehicle():
    durations, distances = line(points=[0, 1, 2, 3])
    problem = Problem(
        vehicles=[van("van-1"), van("van-2", fixed=("a",))],
        stops=[stop("a", 1), stop("b", 2), stop("c", 3)],
        duration_matrix=durations,
        distance_matrix=distances,
    )

    solution = solved(problem)

    assert order(solution, "van-2")[0] == "a"
    assert "a" not in order(solution, "van-1")


def test_it_starts_a_vehicle_already_on_the_road_where_and_when_it_is():
    # Van is at road position 3 at t=500, heading back to the depot at 0.
    durations, distances = line(points=[0, 1, 3])
    problem = Problem(
        vehicles=[van(start=2, start_time=500)],
        stops=[stop("near", 1, window=(0, 600))],
        duration_matrix=durations,
        distance_matrix=distances,
    )

    solution = solved(problem)

    assert solution.routes[0].visits[0].arrival == 520
    assert solution.total_distance == 300


def test_it_minimises_vehicles_when_given_a_fixed_cost():
    # Two stops on opposite sides of the depot: two vans and one van both drive
    # 400 m, so only the fixed cost decides.
    durations = [[0, 10, 10], [10, 0, 20], [10, 20, 0]]
    distances = [[0, 100, 100], [100, 0, 200], [100, 200, 0]]
    problem = Problem(
        vehicles=[van("van-1"), van("van-2")],
        stops=[stop("east", 1), stop("west", 2)],
        duration_matrix=durations,
        distance_matrix=distances,
    )

    solution = solved(problem, SolverSettings(time_limit=0.5, vehicle_fixed_cost=10_000))

    assert solution.vehicles_used == 1


def test_it_optimises_time_when_asked():
    durations, distances = line(points=[0, 1, 3, 2])
    problem = Problem(
        vehicles=[van()],
        stops=[stop("near", 1), stop("far", 2), stop("mid", 3)],
        duration_matrix=durations,
        distance_matrix=distances,
    )

    solution = solved(problem, SolverSettings(time_limit=0.5, objective="time"))

    assert solution.total_duration == 60 + 15


def test_it_refuses_a_fixed_prefix_with_an_unknown_stop():
    durations, distances = line(points=[0, 1])
    problem = Problem(
        vehicles=[van(fixed=("ghost",))],
        stops=[stop("a", 1)],
        duration_matrix=durations,
        distance_matrix=distances,
    )

    with pytest.raises(ProblemError, match="ghost"):
        solve(problem=problem, settings=FAST)


def test_it_has_a_checker_that_catches_a_broken_plan():
    durations, distances = line(points=[0, 1, 2, 3])
    problem = Problem(
        vehicles=[van("van-1", capacity=5, shift_end=60, fixed=("c",)), van("van-2")],
        stops=[stop("a", 1, demand=3, window=(0, 5)), stop("b", 2, demand=3), stop("c", 3), stop("d", 3)],
        duration_matrix=durations,
        distance_matrix=distances,
    )
    # van-1: "c" is not first, "a" is reached at 10 (window ends 5), load too big
    # (3 + 3 + 1 = 7), back at 75 after 60. "b" twice, "d" neither served nor dropped.
    bad_visits = [Visit(stop_id=s, arrival=0, service_start=0, departure=0) for s in ("a", "b", "c")]
    solution = Solution(
        routes=[
            Route(vehicle_id="van-1", visits=bad_visits, distance=0, duration=0, end_time=0),
            Route(
                vehicle_id="van-2",
                visits=[Visit(stop_id="b", arrival=0, service_start=0, departure=0)],
                distance=0,
                duration=0,
                end_time=0,
            ),
        ],
        dropped=[],
        status="hand-made",
        solve_seconds=0.0,
    )

    violations = plan_violations(problem=problem, solution=solution)

    text = "\n".join(violations)
    assert "fixed prefix ['c'] not kept" in text
    assert "stop a reached at 10, after its window end 5" in text
    assert "load 7 exceeds capacity 5" in text
    assert "after its shift end 60" in text
    assert "stop b served 2 times" in text
    assert "stop d neither served nor reported dropped" in text


def test_it_has_a_checker_that_accepts_a_hand_checked_plan():
    durations, distances = line(points=[0, 1, 2])
    problem = Problem(
        vehicles=[van(shift_end=45)],
        stops=[stop("a", 1, window=(0, 10)), stop("b", 2, window=(20, 30))],
        duration_matrix=durations,
        distance_matrix=distances,
    )
    # 0 -> a at 10, serve to 15, b at 25, serve to 30, back at 50 > 45: one violation only.
    visits = [Visit(stop_id=s, arrival=0, service_start=0, departure=0) for s in ("a", "b")]
    solution = Solution(
        routes=[Route(vehicle_id="van-1", visits=visits, distance=0, duration=0, end_time=0)],
        dropped=[],
        status="hand-made",
        solve_seconds=0.0,
    )

    assert plan_violations(problem=problem, solution=solution) == ["vehicle van-1: back at 50, after its shift end 45"]


@pytest.mark.skipif(
    not SOLOMON.is_dir() and not os.environ.get("CI"), reason=f"Solomon benchmark folder {SOLOMON} is not mounted"
)
def test_it_solves_solomon_r101_feasibly_in_a_short_budget():
    from routing.solomon import float_distance, float_violations, read_instance, routes_of

    instance = read_instance(path=SOLOMON / "instances" / "R101.txt")
    assert instance.vehicle_count == 25
    assert instance.capacity == 200
    assert len(instance.problem.stops) == 100

    solution = solved(instance.problem, SolverSettings(time_limit=2.0))

    routes = routes_of(solution=solution)
    assert solution.dropped == []
    assert float_violations(instance=instance, routes=routes) == []
    # Distance-only BKS is 1642.88; 2 s should land within 5 %.
    assert float_distance(instance=instance, routes=routes) < 1642.88 * 1.05


def test_it_starts_from_a_warm_start():
    # One solution allowed: the search returns the plan it started from, even
    # though "d" first is a detour (1000 m against 800 m).
    durations, distances = line(points=[0, 1, 2, 3, 4])
    problem = Problem(
        vehicles=[van()],
        stops=[stop("a", 1), stop("b", 2), stop("c", 3), stop("d", 4)],
        duration_matrix=durations,
        distance_matrix=distances,
    )

    solution = solved(problem, SolverSettings(time_limit=0.5, solution_limit=1), initial_routes=[["d", "b", "c", "a"]])

    assert order(solution) == ["d", "b", "c", "a"]
    assert solution.total_distance == 1000


def test_it_improves_a_warm_start_and_never_returns_worse():
    durations, distances = line(points=[0, 1, 2, 3, 4])
    problem = Problem(
        vehicles=[van()],
        stops=[stop("a", 1), stop("b", 2), stop("c", 3), stop("d", 4)],
        duration_matrix=durations,
        distance_matrix=distances,
    )

    improved = solved(problem, initial_routes=[["d", "b", "c", "a"]])
    kept = solved(problem, initial_routes=[["a", "b", "c", "d"]])

    assert improved.total_distance == 800
    assert kept.total_distance == 800


def test_it_inserts_the_stops_a_warm_start_leaves_out():
    durations, distances = line(points=[0, 1, 2, 3])
    problem = Problem(
        vehicles=[van("van-1"), van("van-2")],
        stops=[stop("a", 1), stop("b", 2), stop("c", 3)],
        duration_matrix=durations,
        distance_matrix=distances,
    )

    solution = solved(problem, initial_routes=[["c", "a"], []])

    assert solution.dropped == []
    assert solution.total_distance == 600


def test_it_falls_back_to_its_own_first_solution_when_the_warm_start_breaks_a_window():
    # "near" then "far" reaches "far" at 35 (10 s, 5 s of service, 20 s), after
    # its window closes at 32; "far" first reaches it at 30.
    durations, distances = line(points=[0, 1, 3])
    problem = Problem(
        vehicles=[van()],
        stops=[stop("near", 1, window=(0, 200)), stop("far", 2, window=(0, 32))],
        duration_matrix=durations,
        distance_matrix=distances,
    )

    solution = solved(problem, initial_routes=[["near", "far"]])

    assert order(solution) == ["far", "near"]
    assert solution.dropped == []


def test_it_keeps_fixed_prefixes_first_whatever_the_warm_start_says():
    # The warm start has "a" on the wrong van and "c" after "b"; the fixed prefixes
    # win, and with one solution allowed the rest keeps the warm start's order.
    durations, distances = line(points=[0, 1, 2, 3, 4])
    problem = Problem(
        vehicles=[van("van-1", fixed=("c",)), van("van-2", fixed=("a",))],
        stops=[stop("a", 1), stop("b", 2), stop("c", 3), stop("d", 4)],
        duration_matrix=durations,
        distance_matrix=distances,
    )

    one = solved(problem, SolverSettings(time_limit=0.5, solution_limit=1), initial_routes=[["a", "b", "d", "c"], []])
    searched = solved(problem, initial_routes=[["a", "b", "d", "c"], []])

    assert order(one, "van-1") == ["c", "b", "d"]
    assert order(one, "van-2") == ["a"]
    assert order(searched, "van-1")[0] == "c"
    assert order(searched, "van-2")[0] == "a"
    assert searched.total_distance <= one.total_distance


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ([["a"]], "1 routes for 2 vehicles"),
        ([["a", "ghost"], []], "ghost is not a stop"),
        ([["a"], ["a"]], "stop a appears more than once"),
    ],
)
def test_it_refuses_a_malformed_warm_start(routes: list[list[str]], message: str):
    durations, distances = line(points=[0, 1])
    problem = Problem(
        vehicles=[van("van-1"), van("van-2")],
        stops=[stop("a", 1)],
        duration_matrix=durations,
        distance_matrix=distances,
    )

    with pytest.raises(ProblemError, match=message):
        solve(problem=problem, settings=FAST, initial_routes=routes)


def test_it_returns_empty_routes_when_there_is_nothing_to_serve():
    durations, distances = line(points=[0, 1])
    problem = Problem(vehicles=[van()], stops=[], duration_matrix=durations, distance_matrix=distances)

    solution = solved(problem)

    assert solution.routes[0].visits == []
    assert solution.vehicles_used == 0


@pytest.mark.skipif(
    not SOLOMON.is_dir() and not os.environ.get("CI"), reason=f"Solomon benchmark folder {SOLOMON} is not mounted"
)
def test_it_never_returns_worse_than_a_solomon_warm_start():
    from routing.solomon import read_instance

    instance = read_instance(path=SOLOMON / "instances" / "RC101.txt")
    first = solved(instance.problem, SolverSettings(time_limit=1.0))
    warm = [[v.stop_id for v in route.visits] for route in first.routes]

    again = solved(instance.problem, SolverSettings(time_limit=1.0), initial_routes=warm)

    assert again.dropped == []
    assert again.total_distance <= first.total_distance


def test_it_reports_every_vehicle_in_order_when_most_are_idle():
    # Eight identical vans and one with a stop already driven, two stops per van:
    # the search needs two of the identical vans and keeps only a few spares of the
    # rest, but every van comes back, in the problem's order.
    durations, distances = line(points=[0, 1, 2, 3])
    vans = [van(f"van-{k}", capacity=2) for k in range(1, 9)] + [van("van-9", capacity=2, fixed=("c",))]
    problem = Problem(
        vehicles=vans,
        stops=[stop("a", 1), stop("b", 2), stop("c", 3), stop("d", 3), stop("e", 1), stop("f", 2)],
        duration_matrix=durations,
        distance_matrix=distances,
    )

    solution = solved(problem)

    assert [r.vehicle_id for r in solution.routes] == [v.id for v in vans]
    assert order(solution, "van-9")[0] == "c"
    assert solution.vehicles_used == 3
    assert solution.dropped == []
