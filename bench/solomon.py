"""Our OR-Tools VRPTW model against the Solomon benchmark, with VROOM side by side.

    .venv/bin/python bench/solomon.py ../shared/benchmarks/solomon/instances \\
        --bks ../shared/benchmarks/solomon/bks_distance.csv --time-limit 10 \\
        --instances C101,C201,R101,R201,RC101,RC201

Both solvers minimise distance only (no fixed vehicle cost), on the same scaled
integer matrices (routing/solomon.py: x1000, distances rounded, durations ceiled),
with the same time budget, one thread each. Reported distances are recomputed in
double precision from the routes, the BKS convention. Our plans are checked with
routing/feasibility.py on the integer problem and again in double precision; VROOM's
only in double precision. Compare with ``bks_distance.csv`` (distance-only BKS):
``bks.csv`` is hierarchical (fewest vehicles first) and is not what either solver
optimises here.

The last line is ``solomon: feasible N/M, mean gap X.XX % (VROOM Y.YY %)``, where
N counts our plans that serve every customer and pass both checks, and the means are
over all instances run.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import vroom  # type: ignore[import-untyped]  # noqa: E402

from routing.feasibility import plan_violations  # noqa: E402
from routing.solomon import SolomonInstance, float_distance, float_violations, read_instance, routes_of  # noqa: E402
from routing.solver import SolverSettings, solve  # noqa: E402


@dataclass(frozen=True)
class Result:
    vehicles: int
    distance: float
    feasible: bool
    seconds: float
    note: str = ""


def run_ours(
    *, instance: SolomonInstance, time_limit: float, first_solution_strategy: str, metaheuristic: str
) -> Result:
    settings = SolverSettings(
        time_limit=time_limit,
        first_solution_strategy=first_solution_strategy,
        local_search_metaheuristic=metaheuristic,
        objective="distance",
    )
    solution = solve(problem=instance.problem, settings=settings)
    routes = routes_of(solution=solution)
    problems = plan_violations(problem=instance.problem, solution=solution)
    problems += float_violations(instance=instance, routes=routes)
    if solution.dropped:
        problems.append(f"{len(solution.dropped)} dropped")
    return Result(
        vehicles=len(routes),
        distance=float_distance(instance=instance, routes=routes),
        feasible=not problems,
        seconds=solution.solve_seconds,
        note="; ".join(problems[:3]),
    )


def run_vroom(*, instance: SolomonInstance, time_limit: float, exploration_level: int) -> Result:
    problem = instance.problem
    data = vroom.Input()
    # Travel time drives the windows (ceiled, as for our model); cost is distance.
    data.set_durations_matrix(profile="car", matrix_input=problem.duration_matrix)
    data.set_costs_matrix(profile="car", matrix_input=problem.distance_matrix)
    for k, vehicle in enumerate(problem.vehicles):
        data.add_vehicle(
            vroom.Vehicle(
                k + 1,
                start=vehicle.start_location,
                end=vehicle.end_location,
                capacity=[vehicle.capacity],
                time_window=vroom.TimeWindow(vehicle.start_time, vehicle.shift_end),
            )
        )
    for stop in problem.stops:
        data.add_job(
            vroom.Job(
                int(stop.id),
                location=stop.location,
                default_service=stop.service,
                delivery=[stop.demand],
                time_windows=[vroom.TimeWindow(stop.window_start, stop.window_end)],
            )
        )
    started = time.monotonic()
    solution = data.solve(exploration_level=exploration_level, nb_threads=1, timeout=dt.timedelta(seconds=time_limit))
    seconds = time.monotonic() - started
    frame = solution.routes
    jobs = frame[frame["type"] == "job"]
    routes = [[int(i) for i in group["id"]] for _, group in jobs.groupby("vehicle_id", sort=True)]
    problems = float_violations(instance=instance, routes=routes)
    return Result(
        vehicles=len(routes),
        distance=float_distance(instance=instance, routes=routes),
        feasible=not problems,
        seconds=seconds,
        note="; ".join(problems[:3]),
    )


def read_bks(*, path: Path) -> dict[str, tuple[int, float]]:
    with path.open(newline="") as handle:
        return {row["instance"]: (int(row["vehicles"]), float(row["distance"])) for row in csv.DictReader(handle)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", nargs="?", type=Path, default=Path("../shared/benchmarks/solomon/instances"))
    parser.add_argument("--bks", type=Path, default=Path("../shared/benchmarks/solomon/bks_distance.csv"))
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per instance, per solver")
    parser.add_argument("--instances", default="", help="comma-separated names; default all in DIR")
    parser.add_argument("--first-solution", default=SolverSettings().first_solution_strategy)
    parser.add_argument(
        "--metaheuristic",
        default=SolverSettings().local_search_metaheuristic,
        help="ITERATED_LOCAL_SEARCH or an OR-Tools LocalSearchMetaheuristic name, e.g. GUIDED_LOCAL_SEARCH",
    )
    parser.add_argument("--exploration-level", type=int, default=5, help="VROOM's, 1..5")
    parser.add_argument("--no-vroom", action="store_true")
    args = parser.parse_args(argv)

    bks = read_bks(path=args.bks)
    if args.instances:
        names = [n.strip() for n in args.instances.split(",") if n.strip()]
    else:
        names = sorted(p.stem for p in args.dir.glob("*.txt"))
    header = (
        f"{'instance':<9}{'ours veh':>9}{'ours dist':>11}{'vroom veh':>10}{'vroom dist':>11}"
        f"{'bks veh':>8}{'bks dist':>10}{'gap %':>8}{'vroom %':>9}{'ours s':>8}{'vroom s':>8}  notes"
    )
    print(header, flush=True)
    gaps: list[float] = []
    vroom_gaps: list[float] = []
    feasible = 0
    for name in names:
        instance = read_instance(path=args.dir / f"{name}.txt")
        ours = run_ours(
            instance=instance,
            time_limit=args.time_limit,
            first_solution_strategy=args.first_solution,
            metaheuristic=args.metaheuristic,
        )
        theirs = (
            None
            if args.no_vroom
            else run_vroom(instance=instance, time_limit=args.time_limit, exploration_level=args.exploration_level)
        )
        bks_vehicles, bks_distance = bks[name]
        gap = 100 * (ours.distance - bks_distance) / bks_distance
        gaps.append(gap)
        feasible += ours.feasible
        notes = [] if ours.feasible else [f"OURS INFEASIBLE: {ours.note}"]
        if theirs is not None:
            vroom_gap = 100 * (theirs.distance - bks_distance) / bks_distance
            vroom_gaps.append(vroom_gap)
            if not theirs.feasible:
                notes.append(f"VROOM INFEASIBLE: {theirs.note}")
            vroom_cols = f"{theirs.vehicles:>10}{theirs.distance:>11.2f}"
            vroom_tail = f"{vroom_gap:>9.2f}"
            vroom_secs = f"{theirs.seconds:>8.1f}"
        else:
            vroom_cols, vroom_tail, vroom_secs = f"{'-':>10}{'-':>11}", f"{'-':>9}", f"{'-':>8}"
        print(
            f"{name:<9}{ours.vehicles:>9}{ours.distance:>11.2f}{vroom_cols}{bks_vehicles:>8}{bks_distance:>10.2f}"
            f"{gap:>8.2f}{vroom_tail}{ours.seconds:>8.1f}{vroom_secs}  {' | '.join(notes)}",
            flush=True,
        )
    mean_gap = statistics.fmean(gaps) if gaps else float("nan")
    mean_vroom = statistics.fmean(vroom_gaps) if vroom_gaps else float("nan")
    print(f"solomon: feasible {feasible}/{len(names)}, mean gap {mean_gap:.2f} % (VROOM {mean_vroom:.2f} %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
