"""Re-routing operations: re-insert a recovered stop, move it to a later run, re-sequence a run.

Each operation reads the day (``routing/state.py``), solves without holding any
lock (the CPU-heavy part), then writes in one short transaction that locks the
runs it changes and checks their plan versions. A plan that changed meanwhile
(a scan, another re-insertion) is never overwritten: the operation starts
again on the current version, up to ``STALE_RETRIES`` times.

Every change bumps the run's ``plan_version``, records a ``PlanVersion`` (who
asked, the order before and after, added minutes and metres), renumbers the
run's stops, refreshes their planned arrivals and sends the driver a "route
updated" instruction with the new sequence, after commit. When a case asked,
the case is locked first and confirmed in the same transaction, so the plan
and the case timeline never disagree.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from dispatch import realtime
from dispatch.models import Depot, DriverInstruction, Order, Run, Stop, User
from dispatch.services.instructions import instruction_push
from dispatch.services.stops import stop_leave_run, stop_status_set
from routing import ports, solver
from routing.insertion import Insertion, best_insertion
from routing.models import PlanVersion, RoutingSettings
from routing.selectors import routing_settings
from routing.state import (
    NEW,
    OPEN_WINDOW,
    Candidate,
    RunState,
    arrivals,
    matrices_load,
    run_problem,
    runs_state,
    seconds,
    stop_point,
)
from routing.travel import TravelTimes, travel_times

logger = logging.getLogger(__package__)

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
class Placed:
    """What the requester's ``on_placed`` learns, inside the transaction that wrote the new plan."""

    stop_id: int
    summary: str
    later_day: bool
    payload: dict[str, Any]


# Asked inside the transaction before anything is written: False (the requester moved on) writes nothing.
Guard = Callable[[], bool]


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


# --- Finding a place ---------------------------------------------------------------------------------------------


def _provider(settings: RoutingSettings, depot: Depot) -> TravelTimes:
    return travel_times(settings=settings, time_zone=depot.time_zone)


def _extra(
    stop: Stop, origin: dt.datetime, window_start: dt.datetime | None, window_end: dt.datetime | None
) -> tuple[tuple[float, float], int, int, int, int]:
    return (
        stop_point(stop),
        max(0, seconds(window_start, origin, 0)),
        seconds(window_end, origin, OPEN_WINDOW),
        stop.service_minutes * 60,
        stop.order.parcel_count,
    )


def _best(
    *,
    states: Sequence[RunState],
    stop: Stop,
    origin: dt.datetime,
    provider: TravelTimes,
    window_start: dt.datetime | None,
    window_end: dt.datetime | None,
    handover_seconds: int,
) -> tuple[Candidate, Insertion] | None:
    extra = _extra(stop, origin, window_start, window_end)
    matrices_load(states=states, provider=provider)
    best: tuple[Candidate, Insertion] | None = None
    for state in states:
        candidate = run_problem(state=state, origin=origin, provider=provider, extra=extra)
        penalty = 0 if state.run.pk == stop.run_id else handover_seconds
        insertion = best_insertion(
            problem=candidate.problem,
            vehicle=candidate.vehicle,
            order=state.order,
            stop_id=NEW,
            load=state.load,
            penalty=penalty,
        )
        if insertion is None:
            continue
        if best is None or (insertion.cost, insertion.added_distance) < (best[1].cost, best[1].added_distance):
            best = (candidate, insertion)
    return best


def _proposal(
    *,
    operation: str,
    found: tuple[Candidate, Insertion],
    stop: Stop,
    origin: dt.datetime,
    window_start: dt.datetime | None,
    window_end: dt.datetime | None,
    started: float,
) -> Proposal:
    candidate, insertion = found
    times, _ = arrivals(candidate=candidate, order=insertion.order, origin=origin)
    state = candidate.state
    return Proposal(
        operation=operation,
        run_id=state.run.pk,
        version=state.version,
        order=insertion.order,
        before=state.order,
        arrivals=times,
        added_seconds=insertion.added_duration,
        added_metres=insertion.added_distance,
        service_date=state.run.service_date,
        handover=state.run.pk != stop.run_id,
        window_start=window_start,
        window_end=window_end,
        solve_ms=round((time.monotonic() - started) * 1000),
    )


def _load_stop(stop_id: int) -> Stop:
    return Stop.objects.select_related("order__address", "order__depot", "run__depot", "run__driver").get(pk=stop_id)


def _same_day_runs(stop: Stop, now: dt.datetime) -> QuerySet[Run]:
    return Run.objects.filter(
        depot_id=stop.run.depot_id,
        service_date=timezone.localdate(now, stop.run.depot.time_zone),
        status=Run.Status.IN_PROGRESS,
        shift_end__gt=now,
    ) | Run.objects.filter(pk=stop.run_id, shift_end__gt=now).exclude(
        status__in=(Run.Status.COMPLETED, Run.Status.CANCELLED)
    )


def reinsert_find(
    *, stop: Stop, window_start: dt.datetime | None, window_end: dt.datetime | None, now: dt.datetime
) -> tuple[Proposal | None, str]:
    """The best same-day place: the driver who carries the parcel, or another one on the road if that
    saves more than the handover costs. None and a reason when nothing fits."""
    started = time.monotonic()
    settings = routing_settings()
    zone = stop.run.depot.time_zone
    if window_end is not None and window_end <= now:
        return None, "the window asked for has already passed"
    if window_start is not None and timezone.localdate(window_start, zone) != timezone.localdate(now, zone):
        return None, f"the window asked for is on {timezone.localtime(window_start, zone):%a %d %b}"
    states = runs_state(runs=_same_day_runs(stop, now), now=now, exclude_stop_id=stop.pk)
    if not states:
        return None, "no run is still on the road today"
    found = _best(
        states=states,
        stop=stop,
        origin=now,
        provider=_provider(settings, stop.run.depot),
        window_start=window_start or now,
        window_end=window_end,
        handover_seconds=settings.handover_minutes * 60,
    )
    if found is None:
        what = "in the window asked for" if window_start or window_end else "before the shifts end"
        return None, f"no run on the road today can take it {what} without making other stops late"
    return _proposal(
        operation=PlanVersion.Operation.REINSERT,
        found=found,
        stop=stop,
        origin=now,
        window_start=window_start,
        window_end=window_end,
        started=started,
    ), ""


def _on_day(moment: dt.datetime | None, day: dt.date, zone: Any) -> dt.datetime | None:
    """The same local time of day on another date (a window asked for today, carried to the run's day)."""
    if moment is None:
        return None
    local = timezone.localtime(moment, zone)
    return dt.datetime.combine(day, local.time(), tzinfo=zone)


def later_run_find(
    *, stop: Stop, window_start: dt.datetime | None, window_end: dt.datetime | None, now: dt.datetime
) -> tuple[Proposal | None, str]:
    """A run not yet started: later today first, else the next service days', nearest day first.

    A window on a given date only fits runs of that date. A window asked for
    today carries over to another day by its time of day ("after 5").
    """
    started = time.monotonic()
    settings = routing_settings()
    zone = stop.run.depot.time_zone
    today = timezone.localdate(now, zone)
    wanted_day = timezone.localdate(window_start, zone) if window_start else None
    fixed_day = wanted_day if wanted_day and wanted_day > today else None
    last_day = today + dt.timedelta(days=settings.later_run_days)
    runs = Run.objects.filter(
        depot_id=stop.run.depot_id,
        status=Run.Status.PLANNED,
        shift_start__gt=now,
        service_date__gte=today,
        service_date__lte=last_day,
    ).exclude(pk=stop.run_id)
    if fixed_day:
        runs = runs.filter(service_date=fixed_day)
    days = sorted(set(runs.values_list("service_date", flat=True)))
    if not days:
        where = f"on {fixed_day:%a %d %b}" if fixed_day else f"in the next {settings.later_run_days} days"
        return None, f"no run is planned {where}"
    provider = _provider(settings, stop.run.depot)
    for day in days:
        start = window_start if day == wanted_day else _on_day(window_start, day, zone)
        end = window_end if day == wanted_day else _on_day(window_end, day, zone)
        if start and end and end <= start:
            end = None
        states = runs_state(runs=runs.filter(service_date=day), now=now, exclude_stop_id=stop.pk)
        found = _best(
            states=states,
            stop=stop,
            origin=now,
            provider=provider,
            window_start=start,
            window_end=end,
            handover_seconds=0,
        )
        if found is not None:
            return _proposal(
                operation=PlanVersion.Operation.MOVE_TO_LATER_RUN,
                found=found,
                stop=stop,
                origin=now,
                window_start=start,
                window_end=end,
                started=started,
            ), ""
    return None, f"no planned run up to {days[-1]:%a %d %b} has room in the window"


# --- Writing a plan ------------------------------------------------------------------------------------------------


def _locked_runs(run_ids: Sequence[int]) -> dict[int, Run]:
    runs = Run.objects.select_for_update(of=("self",)).select_related("depot", "driver__user").filter(pk__in=run_ids)
    return {run.pk: run for run in runs.order_by("pk")}


def _renumber(run: Run, order: Sequence[Stop], times: dict[str, dt.datetime]) -> None:
    """The run's finished stops keep their relative order first; the remaining follow in the new order."""
    placed = {stop.pk for stop in order}
    finished = [stop for stop in Stop.objects.filter(run=run).order_by("sequence") if stop.pk not in placed]
    stops = [*finished, *order]
    for number, stop in enumerate(stops, start=1):
        stop.sequence = number
        stop.planned_arrival = times.get(str(stop.pk), stop.planned_arrival)
    Stop.objects.bulk_update(stops, ["sequence", "planned_arrival"])


def _version_record(
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
        text=f"Route updated: {version.summary}"[:300],
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


def proposal_apply(
    *,
    proposal: Proposal,
    stop: Stop,
    requested_by: str,
    case_id: int | None = None,
    user: User | None = None,
    guard: Guard | None = None,
    on_placed: Callable[[Placed], None] | None = None,
) -> RouteChange:
    """Write the proposal if its run is still on the version it was found on; StalePlan otherwise.

    ``guard`` and ``on_placed`` let the requester (a case) check and answer in the same transaction as the
    plan change; ``on_placed`` also tells the driver, so no "skip" goes out for a stop that moved runs.
    """
    with transaction.atomic():
        if guard is not None and not guard():
            return RouteChange(placed=False, reason="The case no longer waits for a slot.", case_moved_on=True)
        runs = _locked_runs(sorted({proposal.run_id, stop.run_id}))
        run = runs.get(proposal.run_id)
        if run is None or run.plan_version != proposal.version:
            raise StalePlan(f"run {proposal.run_id} is no longer on version {proposal.version}")
        stop = Stop.objects.select_for_update(of=("self",)).select_related("order", "run__driver").get(pk=stop.pk)
        if stop.status not in (*Stop.ACTIVE_STATUSES, Stop.Status.RESCHEDULED) or stop.run_id not in runs:
            return RouteChange(placed=False, reason=f"The stop is {stop.get_status_display().lower()} now.")
        current = {s.pk: s for s in Stop.objects.filter(run=run, status__in=(Stop.Status.PENDING, Stop.Status.ARRIVED))}
        if proposal.handover or run.pk != stop.run_id:
            # Off its run first: an order has one active stop at a time.
            stop_status_set(stop=stop, status=Stop.Status.RESCHEDULED, order_status=Order.Status.RESCHEDULED)
            # A run the parcel left before keeps its stop row (one per order and run): that row takes it back.
            placed, _ = Stop.objects.update_or_create(
                run=run,
                order=stop.order,
                defaults={
                    "sequence": Stop.objects.filter(run=run).count() + 1000,
                    "window_start": proposal.window_start,
                    "window_end": proposal.window_end,
                    "service_minutes": stop.service_minutes,
                    "status": Stop.Status.PENDING,
                },
            )
            if on_placed is None:  # else the requester's answer tells the driver
                stop_leave_run(
                    stop=stop,
                    status=Stop.Status.RESCHEDULED,
                    order_status=Order.Status.RESCHEDULED,
                    text="Skip this stop: it moved to another run.",
                    payload={"new_stop_id": placed.pk},
                )
        else:
            placed = stop
            placed.window_start, placed.window_end = proposal.window_start, proposal.window_end
            placed.save(update_fields=["window_start", "window_end", "updated_at"])
            stop_status_set(stop=placed, status=Stop.Status.PENDING, order_status=Order.Status.OUT_FOR_DELIVERY)
        # Stops finished since the proposal drop out; none can have been added without a new version.
        order = [placed if stop_id == NEW else current.get(int(stop_id)) for stop_id in proposal.order]
        remaining = [s for s in order if s is not None]
        times = {str(placed.pk) if k == NEW else k: v for k, v in proposal.arrivals.items()}
        _renumber(run, remaining, times)
        summary = proposal.describe(run)
        version = _version_record(
            run=run,
            operation=proposal.operation,
            requested_by=requested_by,
            before=[int(s) for s in proposal.before if int(s) in current],
            after=[s.pk for s in remaining],
            added_seconds=proposal.added_seconds,
            added_metres=proposal.added_metres,
            solve_ms=proposal.solve_ms,
            summary=summary,
            stop=placed,
            case_id=case_id,
            user=user,
        )
        same_day = proposal.operation == PlanVersion.Operation.REINSERT or (
            proposal.service_date == timezone.localdate(timezone.now(), run.depot.time_zone)
        )
        if on_placed is not None:
            on_placed(
                Placed(
                    stop_id=placed.pk,
                    summary=summary,
                    later_day=not same_day,
                    payload={"run_id": run.pk, "plan_version": version.version, "operation": proposal.operation},
                )
            )
        return RouteChange(
            placed=True,
            operation=proposal.operation,
            run_id=run.pk,
            stop_id=placed.pk,
            plan_version=version.version,
            same_day=same_day,
            summary=summary,
            added_seconds=proposal.added_seconds,
            added_metres=proposal.added_metres,
        )


def stop_reinsert(
    *,
    stop_id: int,
    window_start: dt.datetime | None,
    window_end: dt.datetime | None,
    requested_by: str,
    case_id: int | None = None,
    user: User | None = None,
    guard: Guard | None = None,
    on_placed: Callable[[Placed], None] | None = None,
    allow_later_run: bool = True,
    now: dt.datetime | None = None,
) -> RouteChange:
    """Place a recovered stop: the best same-day slot, else (when allowed) a later run.

    With ``allow_later_run`` False, no same-day slot returns ``placed=False``
    with the reason and the later-run ``alternative``, and writes nothing.
    """
    reason = ""
    for _ in range(STALE_RETRIES):
        moment = now or timezone.now()
        stop = _load_stop(stop_id)
        proposal, reason = reinsert_find(stop=stop, window_start=window_start, window_end=window_end, now=moment)
        if proposal is None:
            later, later_reason = later_run_find(
                stop=stop, window_start=window_start, window_end=window_end, now=moment
            )
            if not allow_later_run or later is None:
                why = f"No same-day slot: {reason}." + (f" No later run either: {later_reason}." if not later else "")
                return RouteChange(placed=False, reason=why, alternative=later)
            proposal = later
        try:
            return proposal_apply(
                proposal=proposal,
                stop=stop,
                requested_by=requested_by,
                case_id=case_id,
                user=user,
                guard=guard,
                on_placed=on_placed,
            )
        except StalePlan as exc:
            logger.info("routing: plan changed while placing stop %s (%s); trying again", stop_id, exc)
            reason = str(exc)
    return RouteChange(placed=False, reason=f"The plan kept changing while placing the stop: {reason}.")


def stop_move_to_later_run(
    *,
    stop_id: int,
    window_start: dt.datetime | None,
    window_end: dt.datetime | None,
    requested_by: str,
    case_id: int | None = None,
    user: User | None = None,
    guard: Guard | None = None,
    on_placed: Callable[[Placed], None] | None = None,
    now: dt.datetime | None = None,
) -> RouteChange:
    """Move the stop to a run not yet started (later today, else the next service day): never dropped."""
    reason = ""
    for _ in range(STALE_RETRIES):
        moment = now or timezone.now()
        stop = _load_stop(stop_id)
        proposal, reason = later_run_find(stop=stop, window_start=window_start, window_end=window_end, now=moment)
        if proposal is None:
            return RouteChange(placed=False, reason=f"No later run: {reason}.")
        try:
            return proposal_apply(
                proposal=proposal,
                stop=stop,
                requested_by=requested_by,
                case_id=case_id,
                user=user,
                guard=guard,
                on_placed=on_placed,
            )
        except StalePlan as exc:
            reason = str(exc)
    return RouteChange(placed=False, reason=f"The plan kept changing while moving the stop: {reason}.")


def unplanned_day(*, stop_id: int, window_start: dt.datetime | None, now: dt.datetime | None = None) -> dt.date | None:
    """The later day the stop should go out on when no run of its depot is planned for it yet, else None.

    The day asked for when it is after today, otherwise the next day. A day that has runs but no room
    is not unplanned: that needs a dispatcher.
    """
    now = now or timezone.now()
    stop = _load_stop(stop_id)
    zone = stop.run.depot.time_zone
    today = timezone.localdate(now, zone)
    wanted = timezone.localdate(window_start, zone) if window_start else None
    day = wanted if wanted and wanted > today else today + dt.timedelta(days=1)
    planned = Run.objects.filter(depot_id=stop.run.depot_id, service_date=day).exclude(status=Run.Status.CANCELLED)
    return None if planned.exists() else day


# --- Re-sequencing ---------------------------------------------------------------------------------------------------


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
        candidate = run_problem(state=state, origin=moment, provider=_provider(settings, run.depot))
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
        run = _locked_runs([state.run.pk])[state.run.pk]
        if run.plan_version != state.version:
            raise StalePlan(f"run {run.pk} is no longer on version {state.version}")
        current = {s.pk: s for s in Stop.objects.filter(run=run, status__in=(Stop.Status.PENDING, Stop.Status.ARRIVED))}
        remaining = [current[int(stop_id)] for stop_id in proposed if int(stop_id) in current]
        _renumber(run, remaining, times)
        summary = f"{len(remaining)} stops re-ordered, {added_seconds / 60:+.0f} min, {added_metres / 1000:+.1f} km"
        version = _version_record(
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
