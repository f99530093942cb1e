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

The services are re-exported here: callers use ``from routing import services``.
"""

from routing.services.placing import (
    STALE_RETRIES,
    Guard,
    Placed,
    Proposal,
    RouteChange,
    StalePlan,
    later_run_find,
    logger,
    proposal_apply,
    reinsert_find,
    run_resequence,
    stop_move_to_later_run,
    stop_reinsert,
    unplanned_day,
)

__all__ = [
    "STALE_RETRIES",
    "Guard",
    "Placed",
    "Proposal",
    "RouteChange",
    "StalePlan",
    "later_run_find",
    "logger",
    "proposal_apply",
    "reinsert_find",
    "run_resequence",
    "stop_move_to_later_run",
    "stop_reinsert",
    "unplanned_day",
]
