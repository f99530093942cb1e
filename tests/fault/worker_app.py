"""The product's Celery app, as the fault suite's worker processes run it, with two hooks for the tests.

``FAULT_READY_FILE``: written once the worker consumes its queues, so a test starts when it can.

``FAULT_CLOCK_FILE``: how many seconds this worker's clock runs ahead of the machine's, read when the
worker is ready and before every task (the test process's own lead, when its clock was moved, included).
A test lets "three minutes pass" for the leases, grace periods and backoffs of the product
(``SharedClock`` in tests/fault/harness.py) instead of waiting them out; the worker's code, its broker
and its database are untouched.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import time_machine
from celery.signals import task_prerun, worker_ready

from config.celery import app

__all__ = ["app"]

_travel: Any = None


def _offset() -> float:
    path = os.environ.get("FAULT_CLOCK_FILE")
    if not path:
        return 0.0
    try:
        return float(Path(path).read_text() or 0)
    except (OSError, ValueError):
        return 0.0


def _machine_time() -> float:
    return time_machine.escape_hatch.time.time() if time_machine.escape_hatch.is_travelling() else time.time()


@task_prerun.connect
def _clock_moved(**_: Any) -> None:
    global _travel
    offset = _offset()
    if _travel is None:
        if not offset:
            return
        _travel = time_machine.travel(_machine_time() + offset, tick=True).start()
    else:
        _travel.move_to(_machine_time() + offset, tick=True)


@worker_ready.connect
def _ready(**_: Any) -> None:
    _clock_moved()
    path = os.environ.get("FAULT_READY_FILE")
    if path:
        Path(path).write_text(str(os.getpid()))
