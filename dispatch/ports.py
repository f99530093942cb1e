"""What the domain tells the desk and the solver, and how it finds them.

A driver's failed scan opens a case, a delivery may settle one, an imported day is scored for texts ahead of
the driver, and an admin may ask for runs to be re-sequenced. The desk (``exceptions``) and the solver
(``routing``) do that work, and they sit above the domain: so the domain names here what it needs, and the
implementations are settings (``DISPATCH_DESK``, ``DISPATCH_ROUTING``: dotted paths to a class), the way the
desk finds outreach and routing (``exceptions.ports``).

Each is called inside the caller's transaction: an implementation records what it must and leaves side
effects for after commit.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from dispatch.models import Depot, ScanEvent, Stop


class Desk(Protocol):
    def scan_failed(self, *, scan: ScanEvent, first_failure: bool) -> int | None:
        """A driver could not deliver: open (or join) the stop's case, and say which."""

    def scan_delivered(self, *, scan: ScanEvent) -> None:
        """A stop that failed before was delivered: a case waiting for it is settled."""

    def day_planned(self, *, depot: Depot, service_date: dt.date) -> None:
        """A depot's day was imported: its stops are scored for texts ahead of the driver."""

    def call_recipient(self, *, stop: Stop, caller_phone: str, user_id: int) -> str:
        """Ring ``caller_phone`` (a driver's) and bridge the stop's recipient through the company's line; "" when
        the call is being placed, else why not."""

    def can_call(self, *, stop: Stop) -> bool:
        """Whether the stop's recipient can be called through the company's line (a line is set up, a number on
        file): the driver app offers a call only then, never the number."""


class Routing(Protocol):
    def runs_resequence(self, *, run_ids: list[int], requested_by: str, user_id: int | None) -> bool:
        """Re-sequence the remaining stops of the runs; False when nothing can (no solver)."""


class NoDesk:
    """No desk: a failed scan is recorded and nothing follows."""

    def scan_failed(self, *, scan: ScanEvent, first_failure: bool) -> int | None:
        return None

    def scan_delivered(self, *, scan: ScanEvent) -> None:
        return None

    def day_planned(self, *, depot: Depot, service_date: dt.date) -> None:
        return None

    def call_recipient(self, *, stop: Stop, caller_phone: str, user_id: int) -> str:
        return "No phone line is set up."

    def can_call(self, *, stop: Stop) -> bool:
        return False


class NoRouting:
    """No solver: runs keep their order."""

    def runs_resequence(self, *, run_ids: list[int], requested_by: str, user_id: int | None) -> bool:
        return False


@functools.cache
def desk() -> Desk:
    implementation: Desk = import_string(settings.DISPATCH_DESK)()
    return implementation


@functools.cache
def routing() -> Routing:
    implementation: Routing = import_string(settings.DISPATCH_ROUTING)()
    return implementation


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: object) -> None:
    if setting in {"DISPATCH_DESK", "DISPATCH_ROUTING"}:
        desk.cache_clear()
        routing.cache_clear()
