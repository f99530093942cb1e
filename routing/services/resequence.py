"""Re-sequencing a run: the solver orders its remaining stops, kept only if the new order is better."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from dispatch.models import Run, Stop, User
from routing import solver
from routing.models import PlanVersion
from routing.selectors import routing_settings
from routing.services.versions import (
    STALE_RETRIES,
    RouteChange,
    StalePlan,
    plan_version_record,
    run_renumber,
    runs_lock,
    travel_provider,
)
from routing.state import RunState, arrivals, run_problem, runs_state


def _quality(problem: solver.Problem, vehicle: solver.Vehicle, order: Sequence[str]) -> tuple[int, int, int]:
    """(late stops, minutes late in total, return time): what a better order must improve, in that order."""
    route = solver.schedule(problem=problem, vehicle=vehicle, stop_ids=order)
    ends = {stop.id: stop.window_end for stop in problem.stops}
    late = [visit.arrival - ends[visit.stop_id] for visit in route.visits if visit.arrival > ends[visit.stop_id]]
    return (len(late), sum(late), route.end_time)


def run_resequence(
    *,
    run_id: int,
    requested_by: str,
    user: User | None = None,
    user_id: int | None = None,
    time_limit: float | None = None,
    now: dt.datetime | None = None,
) -> RouteChange:
    """Re-order the run's remaining stops with the solver, starting from the current order.

    The new order is kept only if it is better: fewer late stops, then less
    lateness, then an earlier return. Stops the driver has arrived at stay first.
    """
    if user is None and user_id is not None:
        user = User.objects.filter(pk=user_id).first()
    reason = ""
    for _ in range(STALE_RETRIES):
        started = time.monotonic()
        moment = now or timezone.now()
        settings = routing_settings()
        run = Run.objects.select_related("depot").get(pk=run_id)
        if run.status in (Run.Status.COMPLETED, Run.Status.CANCELLED):
            return RouteChange(placed=False, reason=f"The run is {run.get_status_display().lower()}.")
        states = runs_state(runs=Run.objects.filter(pk=run_id), now=moment)
        state = states[0]
        if len(state.stops) - len(state.fixed) < 2:
            return RouteChange(placed=False, reason="Fewer than two stops left to order.", run_id=run_id)
        candidate = run_problem(state=state, origin=moment, provider=travel_provider(settings, run.depot))
        solution = solver.solve(
            problem=candidate.problem,
            settings=solver.SolverSettings(
                time_limit=time_limit or settings.resequence_time_limit_s,
                first_solution_strategy=settings.first_solution_strategy,
                local_search_metaheuristic=settings.metaheuristic,
                objective="time",
            ),
        )
        current = state.order
        proposed = tuple(visit.stop_id for visit in solution.routes[0].visits) if solution.routes else ()
        if solution.dropped or not proposed:
            return RouteChange(placed=False, reason="No order serves every stop in its window.", run_id=run_id)
        before_quality = _quality(candidate.problem, candidate.vehicle, current)
        after_quality = _quality(candidate.problem, candidate.vehicle, proposed)
        if after_quality >= before_quality:
            return RouteChange(placed=False, reason="The current order is already the best found.", run_id=run_id)
        times, route = arrivals(candidate=candidate, order=proposed, origin=moment)
        old_route = solver.schedule(problem=candidate.problem, vehicle=candidate.vehicle, stop_ids=current)
        try:
            return _apply_resequence(
                state=state,
                proposed=proposed,
                times=times,
                added_seconds=route.end_time - old_route.end_time,
                added_metres=route.distance - old_route.distance,
                solve_ms=round((time.monotonic() - started) * 1000),
                requested_by=requested_by,
                user=user,
            )
        except StalePlan as exc:
            reason = str(exc)
    return RouteChange(placed=False, reason=f"The plan kept changing: {reason}.", run_id=run_id)


def _apply_resequence(
    *,
    state: RunState,
    proposed: tuple[str, ...],
    times: dict[str, dt.datetime],
    added_seconds: int,
    added_metres: int,
    solve_ms: int,
    requested_by: str,
    user: User | None,
) -> RouteChange:
    with transaction.atomic():
        run = runs_lock([state.run.pk])[state.run.pk]
        if run.plan_version != state.version:
            raise StalePlan(f"run {run.pk} is no longer on version {state.version}")
        current = {s.pk: s for s in Stop.objects.filter(run=run, status__in=(Stop.Status.PENDING, Stop.Status.ARRIVED))}
        remaining = [current[int(stop_id)] for stop_id in proposed if int(stop_id) in current]
        run_renumber(run, remaining, times)
        summary = f"{len(remaining)} stops re-ordered, {added_seconds / 60:+.0f} min, {added_metres / 1000:+.1f} km"
        version = plan_version_record(
            run=run,
            operation=PlanVersion.Operation.RESEQUENCE,
            requested_by=requested_by,
            before=[int(s) for s in state.order if int(s) in current],
            after=[s.pk for s in remaining],
            added_seconds=added_seconds,
            added_metres=added_metres,
            solve_ms=solve_ms,
            summary=summary,
            user=user,
        )
        return RouteChange(
            placed=True,
            operation=PlanVersion.Operation.RESEQUENCE,
            run_id=run.pk,
            plan_version=version.version,
            summary=summary,
            added_seconds=added_seconds,
            added_metres=added_metres,
        )
