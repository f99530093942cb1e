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

Its modules, each built only on the ones listed before it:

- ``versions``: an operation's answer (``RouteChange``), the proposal it found, and writing a plan version;
- ``slots``: finding a place for a stop, the same day or on a run not yet started;
- ``placing``: placing a recovered stop: a same-day slot first, else a later run;
- ``resequence``: re-ordering a run's remaining stops with the solver.

The services are re-exported here: callers use ``from routing import services``.
"""

from routing.services.placing import (
    Guard,
    Placed,
    logger,
    proposal_apply,
    stop_move_to_later_run,
    stop_reinsert,
    unplanned_day,
)
from routing.services.resequence import run_resequence
from routing.services.slots import later_run_find, reinsert_find
from routing.services.versions import STALE_RETRIES, Proposal, RouteChange, StalePlan

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
