"""Finding a place for a stop: the best same-day slot, or a run not yet started; nothing is written here."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from dispatch.models import Depot, Run, Stop
from routing.insertion import Insertion, best_insertion
from routing.models import PlanVersion
from routing.selectors import routing_settings
from routing.services.versions import Proposal, travel_provider
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
from routing.travel import TravelTimeError, TravelTimes


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
        provider=travel_provider(settings, stop.run.depot),
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
    provider = travel_provider(settings, stop.run.depot)
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


def windows_open(
    *, stop: Stop, windows: Sequence[tuple[dt.datetime, dt.datetime]], now: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Of ``windows``, those routing can serve: today's, when a run on the road can still take the stop inside the
    window without making another stop late (the search a reply's window gets); a later day's, always (a run
    planned that day, or that day's plan, takes it). What a recipient is offered to choose from."""
    zone = stop.run.depot.time_zone
    today = timezone.localdate(now, zone)
    offered = [window for window in windows if timezone.localdate(window[0], zone) > today]
    todays = [window for window in windows if timezone.localdate(window[0], zone) == today and window[1] > now]
    if not todays:
        return sorted(offered)
    states = runs_state(runs=_same_day_runs(stop, now), now=now, exclude_stop_id=stop.pk)
    if not states:
        return sorted(offered)
    settings = routing_settings()
    provider = travel_provider(settings, stop.run.depot)
    for start, end in todays:
        found = _best(
            states=states,
            stop=stop,
            origin=now,
            provider=provider,
            window_start=max(start, now),
            window_end=end,
            handover_seconds=settings.handover_minutes * 60,
        )
        if found is not None:
            offered.append((start, end))
    return sorted(offered)


def drive_seconds(
    *, depot: Depot, origin: tuple[float, float], destination: tuple[float, float], at: dt.datetime
) -> int | None:
    """A drive from ``origin`` to ``destination`` leaving at ``at``, at the depot's travel times; None when the
    travel-time service does not answer."""
    try:
        table = travel_provider(routing_settings(), depot).table([origin], [destination], depart_at=at)
    except TravelTimeError:
        return None
    return int(table.seconds[0][0])


def stop_eta(*, stop: Stop, now: dt.datetime) -> dt.datetime | None:
    """When the driver should reach the stop now: the run's remaining stops, in order, from the van's last GPS fix
    (or the last stop finished, or the depot before the run starts), at the depot's travel times. None when the
    stop is no longer on the run's way."""
    states = runs_state(runs=Run.objects.filter(pk=stop.run_id), now=now)
    if not states or str(stop.pk) not in states[0].order:
        return None
    state = states[0]
    candidate = run_problem(state=state, origin=now, provider=travel_provider(routing_settings(), stop.run.depot))
    times, _ = arrivals(candidate=candidate, order=state.order, origin=now)
    return times.get(str(stop.pk))
