"""What the desk needs from outreach and routing, and how it finds them.

The desk (a case's workflow, the texts ahead of the driver, the board) asks
these two ports to act; the answers come back through the desk's door
(``exceptions.inbox``), which the adapters call. Each is called inside the
desk's transaction: an implementation records what it must and sends or
solves only after commit, never inside.

Which implementation runs is a setting (``EXCEPTIONS_OUTREACH``,
``EXCEPTIONS_ROUTING``: dotted paths to a class). Until a real channel or
solver is configured, the defaults here hand the case to a dispatcher rather
than pretend something was sent or planned.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

# What a reply means, as outreach reads it: the desk acts on these.
from outreach.understanding.meaning import ReplyIntent, Understanding, place_words

__all__ = ["ReplyIntent", "Understanding", "place_words"]

if TYPE_CHECKING:
    from dispatch.models import Depot, Recipient, Stop
    from exceptions.analytics.figures import GroupBy
    from exceptions.analytics.periods import DepotPeriod
    from exceptions.models import ExceptionCase


class Topic:
    """What a message to the recipient asks for."""

    ACCESS_CODE = "access_code"
    WINDOW = "window"
    ALTERNATIVES = "alternatives"
    DIRECTIONS = "directions"
    # A drop the sender forbids was offered: when will someone be in to take it?
    IN_PERSON = "in_person"


@dataclass(frozen=True)
class AskResult:
    reachable: bool
    channel: str = ""
    # Set when the message waits (quiet hours): the reply clock starts then.
    deferred_until: dt.datetime | None = None
    reason: str = ""


@dataclass(frozen=True)
class TextsSent:
    """Texts sent at one depot, in one group of a period (``key``, as ``exceptions.analytics`` groups)."""

    depot_id: int
    key: str | None
    texts: int
    segments: int


@dataclass(frozen=True)
class RoutingRequest:
    accepted: bool
    reason: str = ""


class Outreach(Protocol):
    def ask(self, *, case: ExceptionCase, topic: str, reprompt: bool) -> AskResult:
        """Queue a question to the recipient about the case; say whether anyone can be reached."""

    def notify_outcome(self, *, case: ExceptionCase) -> None:
        """Tell the recipient what will happen to their parcel (the case's outcome is set)."""

    def confirm(self, *, case: ExceptionCase, reading: Understanding) -> AskResult:
        """Ask the recipient once whether an unsure reading is right before the desk acts on it."""

    def read_back(self, *, case: ExceptionCase, heard: Understanding, final: bool) -> None:
        """Tell the recipient what the desk understood and acts on; ``final``: the case ended with it, and this
        one text is also the outcome's notice."""

    def read_back_ahead(self, *, stop: Stop, heard: Understanding, what: str, now: dt.datetime) -> None:
        """Tell a stop's recipient what their answer ahead of the driver changed: ``what`` is ``ahead`` (the driver
        has it for the visit), ``moved`` (the visit moved to the window heard) or ``full`` (it could not move)."""

    def send_now(self, *, case: ExceptionCase, message_id: int) -> bool:
        """Send at once a message of the case that the recipient's quiet hours hold; False when none is held."""

    def can_call(self, *, recipient: Recipient) -> bool:
        """Whether the board can connect a call to this recipient (a phone line is set up, a number on file)."""

    def call(self, *, case: ExceptionCase, caller_phone: str, user_id: int, caller: str = "dispatcher") -> AskResult:
        """Ring ``caller_phone`` (a ``caller``'s: dispatcher or driver) and bridge the case's recipient, both shown
        the company's number; how it ends comes back to the desk (``inbox.case_call_ended``)."""

    def call_ahead(self, *, stop: Stop, caller_phone: str, user_id: int, caller: str = "driver") -> AskResult:
        """The same for a stop with no open case (a driver calling ahead of the visit)."""

    def can_reach(self, *, recipient: Recipient) -> bool:
        """Whether a message would reach this recipient now, on any channel (the board offers "Message" then)."""

    def say(self, *, case: ExceptionCase, text: str) -> AskResult:
        """Send a dispatcher's own words to the case's recipient, once per case version."""

    def ask_ahead(self, *, stop: Stop, asks: list[str], now: dt.datetime) -> AskResult:
        """Text the recipient of a stop ahead of the driver, once per stop ever, asking for ``asks``
        (``StopRisk.Missing`` values) in their words; unreachable says why not."""

    def notify_ahead(self, *, stop: Stop, kind: str, asks: list[str], stops_away: int, now: dt.datetime) -> AskResult:
        """Tell the stop's recipient before the driver comes (``StopNotice.Kind``: out for delivery, arriving,
        delayed), with the link to their page; ``asks``, a risky stop's question, goes in the same text."""

    def conversation(self, *, case_id: int) -> list[dict[str, object]]:
        """The case's messages, oldest first: ``created_at``, ``direction``, ``body``, ``status``."""

    def texts_sent(self, *, periods: Sequence[DepotPeriod], group_by: GroupBy | None) -> list[TextsSent]:
        """Outbound texts that went out in each depot's window, with their segments, by depot and group.

        About a case or ahead of the driver; grouped by the depot-local day or hour they went out, the
        depot, or the parcel's area (a text has no reason code: ``reason_code`` is not asked for).
        """


class Routing(Protocol):
    def reinsert(
        self, *, case: ExceptionCase, window_start: dt.datetime | None, window_end: dt.datetime | None
    ) -> RoutingRequest:
        """Ask for a new slot for the case's stop within the window (None: the earliest feasible)."""

    def stop_window(self, *, stop_id: int, window_start: dt.datetime, window_end: dt.datetime | None) -> None:
        """Move a stop with no case into the window its recipient gave ahead of the driver, if there is room."""

    def windows_open(
        self, *, stop: Stop, windows: Sequence[tuple[dt.datetime, dt.datetime]], now: dt.datetime
    ) -> list[tuple[dt.datetime, dt.datetime]]:
        """Of ``windows``, those a new slot could be found in (what a recipient is offered to choose from)."""

    def stop_eta(self, *, stop: Stop, now: dt.datetime) -> dt.datetime | None:
        """When the driver should reach the stop, from where the van is now; None when it is not on its way."""

    def drive_seconds(
        self, *, depot: Depot, origin: tuple[float, float], destination: tuple[float, float], at: dt.datetime
    ) -> int | None:
        """How long a drive from ``origin`` to ``destination`` (lat, lng) takes leaving at ``at``, by the depot's
        travel times; None when they cannot say."""


class NoOutreach:
    """No channel configured: nobody can be asked, so the case goes to a dispatcher."""

    def ask(self, *, case: ExceptionCase, topic: str, reprompt: bool) -> AskResult:
        return AskResult(reachable=False, reason="No outreach channel is set up.")

    def notify_outcome(self, *, case: ExceptionCase) -> None:
        return None

    def confirm(self, *, case: ExceptionCase, reading: Understanding) -> AskResult:
        return AskResult(reachable=False, reason="No outreach channel is set up.")

    def read_back(self, *, case: ExceptionCase, heard: Understanding, final: bool) -> None:
        return None

    def read_back_ahead(self, *, stop: Stop, heard: Understanding, what: str, now: dt.datetime) -> None:
        return None

    def send_now(self, *, case: ExceptionCase, message_id: int) -> bool:
        return False

    def can_call(self, *, recipient: Recipient) -> bool:
        return False

    def call(self, *, case: ExceptionCase, caller_phone: str, user_id: int, caller: str = "dispatcher") -> AskResult:
        return AskResult(reachable=False, reason="No phone line is set up.")

    def call_ahead(self, *, stop: Stop, caller_phone: str, user_id: int, caller: str = "driver") -> AskResult:
        return AskResult(reachable=False, reason="No phone line is set up.")

    def can_reach(self, *, recipient: Recipient) -> bool:
        return False

    def say(self, *, case: ExceptionCase, text: str) -> AskResult:
        return AskResult(reachable=False, reason="No outreach channel is set up.")

    def ask_ahead(self, *, stop: Stop, asks: list[str], now: dt.datetime) -> AskResult:
        return AskResult(reachable=False, reason="No outreach channel is set up.")

    def notify_ahead(self, *, stop: Stop, kind: str, asks: list[str], stops_away: int, now: dt.datetime) -> AskResult:
        return AskResult(reachable=False, reason="No outreach channel is set up.")

    def conversation(self, *, case_id: int) -> list[dict[str, object]]:
        return []

    def texts_sent(self, *, periods: Sequence[DepotPeriod], group_by: GroupBy | None) -> list[TextsSent]:
        return []


class NoRouting:
    """No solver configured: a dispatcher picks the new slot."""

    def reinsert(
        self, *, case: ExceptionCase, window_start: dt.datetime | None, window_end: dt.datetime | None
    ) -> RoutingRequest:
        return RoutingRequest(accepted=False, reason="Automatic re-routing is not set up.")

    def stop_window(self, *, stop_id: int, window_start: dt.datetime, window_end: dt.datetime | None) -> None:
        return None

    def windows_open(
        self, *, stop: Stop, windows: Sequence[tuple[dt.datetime, dt.datetime]], now: dt.datetime
    ) -> list[tuple[dt.datetime, dt.datetime]]:
        return []

    def stop_eta(self, *, stop: Stop, now: dt.datetime) -> dt.datetime | None:
        return stop.planned_arrival

    def drive_seconds(
        self, *, depot: Depot, origin: tuple[float, float], destination: tuple[float, float], at: dt.datetime
    ) -> int | None:
        return None


@functools.cache
def outreach() -> Outreach:
    adapter: Outreach = import_string(settings.EXCEPTIONS_OUTREACH)()
    return adapter


@functools.cache
def routing() -> Routing:
    adapter: Routing = import_string(settings.EXCEPTIONS_ROUTING)()
    return adapter


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: object) -> None:
    if setting in {"EXCEPTIONS_OUTREACH", "EXCEPTIONS_ROUTING"}:
        outreach.cache_clear()
        routing.cache_clear()
