"""Cheapest feasible insertion of one stop into routes that are already being driven.

Pure, like ``routing/solver.py``: plain data in and out. A recovered stop goes
where it adds the least time to the day, and nothing else moves: the other
stops keep their order, so a driver sees one new stop rather than a reshuffled
route. The solver is for re-sequencing a whole run when someone asks for it.

Real routes run late. A route that is already behind is not made infeasible by
this module's arithmetic: an insertion is accepted when no stop becomes later
than it already was, the new stop is served inside its window, the vehicle is
not back later than it would have been or after its shift, and the load fits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from routing.solver import Problem, Vehicle


@dataclass(frozen=True)
class Insertion:
    vehicle_id: str
    # The new stop goes after this many of the route's stops (0: first).
    position: int
    order: tuple[str, ...]
    added_duration: int
    added_distance: int
    cost: int


def best_insertion(
    *,
    problem: Problem,
    vehicle: Vehicle,
    order: Sequence[str],
    stop_id: str,
    load: int,
    penalty: int = 0,
) -> Insertion | None:
    """The best place for ``stop_id`` in the vehicle's ``order``, or None when it fits nowhere.

    ``order`` is the route's remaining stops (its ``fixed_prefix`` first: the new
    stop never goes before them); ``load`` is what the vehicle carries for them.
    ``penalty`` is added to the cost of using this vehicle at all (a parcel that
    must change vans). Cost is added time first, then added distance.

    Linear in the route's length: one forward pass for the current schedule,
    one backward pass for how much delay each stop can absorb (its own slack
    to the window's end, plus the waiting before later stops), then each
    position is checked in constant time. A delay of d at a stop reaches the
    next one reduced by the waiting there: max(0, d - wait).
    """
    stops = {stop.id: stop for stop in problem.stops}
    new = stops[stop_id]
    if load + new.demand > vehicle.capacity:
        return None
    durations, distances = problem.duration_matrix, problem.distance_matrix
    route = [stops[i] for i in order]
    count = len(route)
    # Forward: arrival and departure at each stop; index count is the return to the end location.
    locations = [vehicle.start_location] + [stop.location for stop in route]
    departure = [vehicle.start_time]
    arrival: list[int] = []
    wait: list[int] = []
    for index, stop in enumerate(route):
        reach = departure[index] + durations[locations[index]][stop.location]
        arrival.append(reach)
        wait.append(max(0, stop.window_start - reach))
        departure.append(max(reach, stop.window_start) + stop.service)
    back = departure[count] + durations[locations[count]][vehicle.end_location]
    arrival.append(back)
    wait.append(0)
    # Backward: the most delay arriving at each stop (or back at the end) can take. A stop already late
    # may not get later; the return may not pass the shift end, or the current return if later still.
    absorb = [0] * (count + 1)
    absorb[count] = max(vehicle.shift_end, back) - back
    for index in range(count - 1, -1, -1):
        own = max(route[index].window_end, arrival[index]) - arrival[index]
        absorb[index] = min(own, wait[index] + absorb[index + 1])
    # Waiting from each stop to the end: what a delay must exceed to move the return.
    waiting_after = [0] * (count + 1)
    for index in range(count - 1, -1, -1):
        waiting_after[index] = wait[index] + waiting_after[index + 1]

    best: Insertion | None = None
    for position in range(len(vehicle.fixed_prefix), count + 1):
        before = locations[position]
        after = route[position].location if position < count else vehicle.end_location
        reach = departure[position] + durations[before][new.location]
        if reach > new.window_end:
            continue
        leave = max(reach, new.window_start) + new.service
        delay = max(0, leave + durations[new.location][after] - arrival[position])
        if delay > absorb[position]:
            continue
        added_duration = max(0, delay - waiting_after[position])
        added_distance = distances[before][new.location] + distances[new.location][after] - distances[before][after]
        cost = added_duration + penalty
        if best is None or (cost, added_distance) < (best.cost, best.added_distance):
            best = Insertion(
                vehicle_id=vehicle.id,
                position=position,
                order=(*order[:position], stop_id, *order[position:]),
                added_duration=added_duration,
                added_distance=added_distance,
                cost=cost,
            )
    return best
