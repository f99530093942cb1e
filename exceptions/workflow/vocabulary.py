"""The operator's vocabulary: the states and the legal moves between them, phases, outcomes, limits, errors,
and what a reply asks for.

A move is legal only from the case's current state (``ALLOWED``), or, for a case that ended, as its reopening
(``REOPENS``); entering a phase stamps its time (``PHASE_STAMPS``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dispatch.models import DriverInstruction, Order
from exceptions import ports
from exceptions.models import DEFAULT_SLA_MINUTES, CaseEvent, ExceptionCase, PlaybookStep
from exceptions.ports import ReplyIntent, Understanding

State = ExceptionCase.State
Outcome = ExceptionCase.Outcome
# Whose choice an outcome is: set with every outcome decided or held (``outcome_source``).
Source = ExceptionCase.OutcomeSource
Timer = ExceptionCase.Timer
Kind = CaseEvent.Kind
Actor = CaseEvent.Actor

# Why a case escalated by its playbook's own step is a dispatcher's: it says nothing more than the state does.
PLAYBOOK_HANDOFF = "The playbook hands this case to a dispatcher."

# Until triage has run, the case is swept after this long (a lost enqueue is picked up).
TRIAGE_GRACE = dt.timedelta(seconds=60)
# Routing answers within seconds; after this the case goes to a dispatcher.
ROUTING_GRACE = dt.timedelta(minutes=10)
DEFAULT_SLA = dt.timedelta(minutes=DEFAULT_SLA_MINUTES)
DEFAULT_ESCALATION_PRIORITY = 2
# A slot search that does not say which window it was asked for answers whichever the case wants.
ANY_WINDOW: object = object()
# Directions to the door, as a recipient wrote them: enough for a paragraph, short enough for the driver's screen.
DIRECTIONS_MAX = 240
# How the recipient's directions start on the address's notes.
DIRECTIONS_NOTE = "Recipient's directions"
# Per sweep: set-based SLA and close passes take this many cases; due timers, each its own
# transaction at ~20 ms, take TIMER_BATCH so a sweep stays well inside the task's 30 s soft limit.
SWEEP_BATCH = 1000
TIMER_BATCH = 500

ALLOWED: dict[str, frozenset[str]] = {
    State.OPENED: frozenset({State.TRIAGING, State.ESCALATED, State.RESOLVED, State.CLOSED}),
    State.TRIAGING: frozenset(
        {State.AWAITING_RECIPIENT, State.RESOLVING, State.ESCALATED, State.RESOLVED, State.CLOSED}
    ),
    State.AWAITING_RECIPIENT: frozenset(
        {State.TRIAGING, State.RESOLVING, State.ESCALATED, State.RESOLVED, State.CLOSED}
    ),
    State.RESOLVING: frozenset({State.TRIAGING, State.ESCALATED, State.RESOLVED, State.CLOSED}),
    State.ESCALATED: frozenset({State.TRIAGING, State.RESOLVING, State.RESOLVED, State.CLOSED}),
    State.RESOLVED: frozenset({State.CLOSED}),
    State.CLOSED: frozenset(),
}
# A case that ended comes back only when the recipient asks for something after it (``exceptions.workflow.late``):
# it is worked again from triage, never straight into another phase.
REOPENS: dict[str, frozenset[str]] = {
    State.RESOLVED: frozenset({State.TRIAGING}),
    State.CLOSED: frozenset({State.TRIAGING}),
}
PHASE_STAMPS: dict[str, str] = {
    State.TRIAGING: "triaged_at",
    State.AWAITING_RECIPIENT: "awaiting_at",
    State.RESOLVING: "resolving_at",
    State.ESCALATED: "escalated_at",
    State.RESOLVED: "resolved_at",
    State.CLOSED: "closed_at",
}
# The phases a case can pass through more than once keep their first time; resolution is final.
FIRST_TIME_ONLY = {"triaged_at", "awaiting_at", "resolving_at", "escalated_at"}

ASK_TOPICS: dict[str, str] = {
    PlaybookStep.Action.ASK_ACCESS_CODE: ports.Topic.ACCESS_CODE,
    PlaybookStep.Action.ASK_WINDOW: ports.Topic.WINDOW,
    PlaybookStep.Action.OFFER_ALTERNATIVES: ports.Topic.ALTERNATIVES,
    PlaybookStep.Action.ASK_DIRECTIONS: ports.Topic.DIRECTIONS,
}
# Outcomes the driver carries out at the stop; the case resolves when the stop is delivered.
DRIVER_OUTCOMES: dict[str, str] = {
    Outcome.RETRY_NOW: DriverInstruction.Kind.RETRY_NOW,
    Outcome.ACCESS_CODE_PROVIDED: DriverInstruction.Kind.ACCESS_CODE,
    Outcome.SAFE_DROP: DriverInstruction.Kind.SAFE_DROP,
    Outcome.NEIGHBOUR: DriverInstruction.Kind.NEIGHBOUR,
}
RESCHEDULE_OUTCOMES = (Outcome.RESCHEDULED_SAME_DAY, Outcome.RESCHEDULED_LATER)
# A parcel in one of these does not go out again (no retry, no new slot), whatever the recipient asks after:
# how the desk says what became of it.
PARCEL_DONE: dict[str, str] = {
    Order.Status.DELIVERED: "delivered",
    Order.Status.RETURNED: "returned to the sender",
    Order.Status.CANCELLED: "cancelled",
}

# The replies that ask the desk to do something, each with the part of the reading it needs to be one ("": none).
# A request is never left unheard: after its case ended it reopens it or goes to the order's open case
# (``exceptions.workflow.late``); analytics counts the ones that were not (``exceptions.analytics.requests``).
REQUEST_NEEDS: dict[str, str] = {
    ReplyIntent.CALL_REQUEST: "",
    ReplyIntent.REFUSE: "",
    ReplyIntent.ACCESS_CODE: "code",
    ReplyIntent.RESCHEDULE: "window_start",
    ReplyIntent.SAFE_DROP: "",
    ReplyIntent.NEIGHBOR: "",
    ReplyIntent.PICKUP_POINT: "",
    ReplyIntent.AVAILABLE_NOW: "",
    ReplyIntent.DIRECTIONS: "detail",
}


def is_request(understood: Understanding) -> bool:
    """Whether the reply asks the desk to do something (``REQUEST_NEEDS``): a call, a code, a time, a place..."""
    needs = REQUEST_NEEDS.get(understood.intent)
    return needs is not None and (not needs or bool(getattr(understood, needs)))


class Heard:
    """What became of a reply, as its timeline line records it (``payload["heard"]``).

    Every value but ``FILED`` means the desk acted on it, or a person will.
    """

    # A case open when the reply came took it: acted on, or left to the dispatcher who owns the case.
    OPEN = "open"
    # The case had ended; the reply reopened it and was acted on as if it were open.
    REOPENED = "reopened"
    # The case had ended; another case of the order was open and took the reply.
    PASSED_ON = "passed_on"
    # The parcel was delivered or returned; the code in the reply is in the vault for the next visit.
    VAULT = "vault"
    # The parcel is already going back to the sender: a refusal after that asks for nothing more.
    HONOURED = "honoured"
    # The case had ended and the reply asked for nothing (thanks, unclear, help): on the timeline only.
    FILED = "filed"


class WorkflowError(Exception):
    """A move the workflow does not allow from the case's current state."""


class CaseConflict(WorkflowError):
    """The case changed after the dispatcher looked at it."""


@dataclass(frozen=True)
class SweepResult:
    fired: int
    breached: int
    closed: int
