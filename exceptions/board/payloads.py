"""What the board receives: every shape sent to a dispatcher's browser, over REST and the websocket alike.

A case is one ``case_row`` wherever it comes from: the snapshot builds it from
``.values(*CASE_ROW_VALUES)``, the workflow from the case it has just saved
(``case_row_of``), so a row from an event and the same row from a snapshot are
equal. Only JSON values go in (times as ISO 8601 in UTC), and never a phone
number or an access code.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, TypedDict

from dispatch.masking import MASK
from exceptions.models import ExceptionCase
from exceptions.workflow.vocabulary import PLAYBOOK_HANDOFF

# Lookups for ``.values()``; ``case_row_of`` fills the same keys from a loaded case.
CASE_ROW_VALUES = (
    "id",
    "version",
    "state",
    "priority",
    "reason_code__code",
    "reason_code__label",
    "depot_id",
    "stop__run__driver_id",
    "stop__run__driver__user__username",
    "stop__run__driver__user__first_name",
    "stop__run__driver__user__last_name",
    "order__reference",
    "order__recipient__name",
    "requires_approval",
    "pending_outcome",
    "outcome",
    "escalation_reason",
    "assigned_to__username",
    "assigned_to__first_name",
    "assigned_to__last_name",
    "opened_at",
    "sla_due_at",
    "sla_breached_at",
    "next_action",
    "next_action_due_at",
    "order__address__latitude",
    "order__address__longitude",
    "scan__photo",
    "order__declared_value",
    "order__signature_required",
    "order__window_end",
)


class CaseRow(TypedDict):
    id: int
    version: int
    state: str
    state_label: str
    priority: int
    reason_code: str
    reason_label: str
    depot_id: int
    driver_id: int
    driver_name: str
    order_reference: str
    recipient_name: str
    requires_approval: bool
    pending_outcome: str
    outcome: str
    escalation_reason: str
    escalation_note: str  # the escalation reason when it says more than the state (not the playbook's hand-off)
    facts: list[str]  # what a dispatcher decides from at a glance: "photo", "$79", "signature", "window missed"
    assigned_to: str | None
    assigned_to_name: str | None  # the name they go by (full name, else username)
    opened_at: str | None
    sla_due_at: str | None
    sla_breached: bool
    next_action: str
    next_action_due_at: str | None
    last_summary: str
    lat: float
    lng: float
    needs_human: bool


def iso(value: dt.datetime | None) -> str | None:
    """A time as the API writes it (DRF's style): UTC, ISO 8601, with a Z."""
    if value is None:
        return None
    if value.tzinfo is not dt.UTC:  # the database's times are UTC already: 5,000 rows skip the conversion
        value = value.astimezone(dt.UTC)
    return value.isoformat().replace("+00:00", "Z")


def person_name(username: str, first_name: str, last_name: str) -> str:
    """``User.__str__`` without loading the user: the full name, else the username."""
    return f"{first_name} {last_name}".strip() or username


STATE_LABELS: dict[str, str] = {str(value): str(label) for value, label in ExceptionCase.State.choices}


def case_row(values: Mapping[str, Any]) -> CaseRow:
    """One case on the board, from the ``CASE_ROW_VALUES`` of a case (plus its ``last_summary``)."""
    state = values["state"]
    return {
        "id": values["id"],
        "version": values["version"],
        "state": state,
        "state_label": STATE_LABELS.get(state, state),
        "priority": values["priority"],
        "reason_code": values["reason_code__code"],
        "reason_label": values["reason_code__label"],
        "depot_id": values["depot_id"],
        "driver_id": values["stop__run__driver_id"],
        "driver_name": person_name(
            values["stop__run__driver__user__username"],
            values["stop__run__driver__user__first_name"],
            values["stop__run__driver__user__last_name"],
        ),
        "order_reference": values["order__reference"],
        "recipient_name": values["order__recipient__name"],
        "requires_approval": values["requires_approval"],
        "pending_outcome": values["pending_outcome"],
        "outcome": values["outcome"],
        "escalation_reason": values["escalation_reason"],
        "escalation_note": "" if values["escalation_reason"] == PLAYBOOK_HANDOFF else values["escalation_reason"],
        "facts": _facts(values),
        "assigned_to": values["assigned_to__username"],
        "assigned_to_name": person_name(
            values["assigned_to__username"] or "",
            values.get("assigned_to__first_name") or "",
            values.get("assigned_to__last_name") or "",
        )
        if values["assigned_to__username"]
        else None,
        "opened_at": iso(values["opened_at"]),
        "sla_due_at": iso(values["sla_due_at"]),
        "sla_breached": values["sla_breached_at"] is not None,
        "next_action": values["next_action"],
        "next_action_due_at": iso(values["next_action_due_at"]),
        "last_summary": values.get("last_summary") or "",
        "lat": values["order__address__latitude"],
        "lng": values["order__address__longitude"],
        "needs_human": state == ExceptionCase.State.ESCALATED or bool(values["requires_approval"]),
    }


def _facts(values: Mapping[str, Any]) -> list[str]:
    facts = []
    if values.get("scan__photo"):
        facts.append("photo")
    if values.get("order__declared_value"):
        facts.append(f"${values['order__declared_value']:,.0f}")
    if values.get("order__signature_required"):
        facts.append("signature")
    window_end, opened = values.get("order__window_end"), values.get("opened_at")
    if window_end is not None and opened is not None and opened > window_end:
        facts.append("window missed")
    return facts


def case_row_of(case: ExceptionCase, *, last_summary: str = "") -> CaseRow:
    """The row of a case loaded with its stop's driver and user, order, recipient, address and reason.

    The workflow's locked cases come with all of them (``select_related``), so this runs no query.
    """
    driver_user = case.stop.run.driver.user
    address = case.order.address
    assignee = case.assigned_to
    return case_row(
        {
            "id": case.pk,
            "version": case.version,
            "state": case.state,
            "priority": case.priority,
            "reason_code__code": case.reason_code.code,
            "reason_code__label": case.reason_code.label,
            "depot_id": case.depot_id,
            "stop__run__driver_id": case.stop.run.driver_id,
            "stop__run__driver__user__username": driver_user.username,
            "stop__run__driver__user__first_name": driver_user.first_name,
            "stop__run__driver__user__last_name": driver_user.last_name,
            "order__reference": case.order.reference,
            "order__recipient__name": case.order.recipient.name,
            "requires_approval": case.requires_approval,
            "pending_outcome": case.pending_outcome,
            "outcome": case.outcome,
            "escalation_reason": case.escalation_reason,
            "assigned_to__username": assignee.username if assignee is not None else None,
            "assigned_to__first_name": assignee.first_name if assignee is not None else "",
            "assigned_to__last_name": assignee.last_name if assignee is not None else "",
            "opened_at": case.opened_at,
            "sla_due_at": case.sla_due_at,
            "sla_breached_at": case.sla_breached_at,
            "next_action": case.next_action,
            "next_action_due_at": case.next_action_due_at,
            "order__address__latitude": address.latitude,
            "order__address__longitude": address.longitude,
            "scan__photo": case.scan.photo.name if case.scan_id else "",
            "order__declared_value": case.order.declared_value,
            "order__signature_required": case.order.signature_required,
            "order__window_end": case.order.window_end,
            "last_summary": last_summary,
        }
    )


# --- Masking: what a dispatcher reads of the conversation ----------------------------------------------------------

# Three or more digits, possibly spaced or dashed ("4821", "48 21", "4-8-2-1", a phone number), with a
# leading # or * and a trailing # as keypads spell codes; and letter-digit tokens with two digits or more
# ("A12B4"). A short unit number ("3B", "12") stays readable.
_DIGIT_RUN = re.compile(r"[#*]?\d(?:[ \-.]?\d){2,}#?")
_CODE_TOKEN = re.compile(r"\b(?=[A-Za-z0-9]*[A-Za-z])(?=(?:[A-Za-z]*\d){2})[A-Za-z0-9]{4,}\b")


def text_masked(text: str, *, keep: tuple[str, ...] = ()) -> str:
    """The text with anything that could be an access code or a phone number replaced by ••••.

    ``keep`` are words shown as they are (the order's own reference).
    """
    held: dict[str, str] = {}
    for number, word in enumerate(word for word in keep if word):
        placeholder = f"\x00{number}\x00"
        held[placeholder] = word
        text = text.replace(word, placeholder)
    text = _DIGIT_RUN.sub(MASK, text)
    text = _CODE_TOKEN.sub(MASK, text)
    for placeholder, word in held.items():
        text = text.replace(placeholder, word)
    return text


# --- The case panel -------------------------------------------------------------------------------------------------


class TimelineItem(TypedDict):
    at: str | None
    kind: str
    actor: str
    summary: str
    user: str | None


class ConversationItem(TypedDict):
    id: int
    at: str | None
    direction: str
    body: str
    # queued, held (quiet hours: until ``held_until``), sending, sent, delivered, failed, undelivered, unknown,
    # received (a reply). Nothing is "sent" before the provider took it.
    status: str
    held_until: str | None
    reading: str | None  # a reply: what the desk understood from it, in English whatever the language it came in


class OrderPanel(TypedDict):
    reference: str
    value: str
    parcels: int
    signature_required: bool
    safe_drop_allowed: bool
    neighbour_allowed: bool
    window_start: str | None
    window_end: str | None
    address: str


class RecipientPanel(TypedDict):
    name: str
    phone_masked: str
    language: str
    preferred_channel: str
    opted_out: bool


class Assignee(TypedDict):
    """Someone the case can be assigned to: an active dispatcher of its depot."""

    id: int
    username: str
    name: str


# --- The evidence beside a case (exceptions.board.evidence) ---------------------------------------------------------


class ScanEvidence(TypedDict):
    at: str | None
    reason_code: str
    note: str
    photo: bool
    distance_m: int | None  # from the scan's fix to the address
    accuracy_m: int | None
    far: bool  # further than the depot's warning distance, beyond the fix's accuracy
    warning_m: int


class DriverNow(TypedDict):
    distance_m: int
    fix_at: str | None
    drive_minutes: int | None


class Attempts(TypedDict):
    address: int
    building: int
    days: int


class Vault(TypedDict):
    codes: int
    verified: int
    failing: int
    flagged: int
    last_worked_at: str | None
    last_failed_at: str | None


class Evidence(TypedDict):
    scan: ScanEvidence
    driver: DriverNow | None
    attempts: Attempts
    vault: Vault


class Approval(TypedDict):
    """An outcome held for a dispatcher's click, with what it rests on."""

    outcome: str
    what: str  # the held outcome in words: the window in the depot's time, the place, the neighbour
    held_because: str
    reply: str | None  # the recipient's last words, masked like the conversation
    reading: str | None  # what the desk understood from them, and why
    sure: bool | None
    slot: str | None  # for a window: "open" (routing has room then) or "full"; None otherwise


class WaitingParcel(TypedDict):
    """A parcel rescheduled to a day whose runs are not planned yet: it goes into that day's plan."""

    case_id: int
    depot_id: int
    order_reference: str
    recipient_name: str
    address: str
    reason_label: str
    planned_day: str
    window_start: str | None
    window_end: str | None
    since: str | None


class WaitingParcels(TypedDict):
    parcels: list[WaitingParcel]
    total: int
    limit: int


class RouteStop(TypedDict):
    """A stop still to do on a driver's run, where it is on the map."""

    stop_id: int
    sequence: int
    order_reference: str
    lat: float
    lng: float
    planned_arrival: str | None
    status: str


class DriverRoute(TypedDict):
    """What a driver has left today, in order: the board draws it from the driver's last position."""

    driver_id: int
    driver_name: str
    run_id: int | None
    lat: float | None
    lng: float | None
    stops: list[RouteStop]


class SearchResult(TypedDict):
    cases: list[CaseRow]
    limit: int


class CaseDetail(TypedDict):
    case: CaseRow
    timeline: list[TimelineItem]
    conversation: list[ConversationItem]
    evidence: Evidence
    approval: Approval | None
    order: OrderPanel
    recipient: RecipientPanel
    actions: list[str]
    assignees: list[Assignee]


def timeline_item(values: Mapping[str, Any]) -> TimelineItem:
    """One timeline line from ``.values("at", "kind", "actor", "summary", "actor_user__username",
    "actor_user__first_name", "actor_user__last_name")``: the person by the name they go by everywhere."""
    return {
        "at": iso(values["at"]),
        "kind": values["kind"],
        "actor": values["actor"],
        "summary": values["summary"],
        "user": person_name(
            values["actor_user__username"],
            values["actor_user__first_name"] or "",
            values["actor_user__last_name"] or "",
        )
        if values["actor_user__username"]
        else None,
    }


def conversation_item(values: Mapping[str, Any], *, now: dt.datetime, keep: tuple[str, ...] = ()) -> ConversationItem:
    """One message from ``.values("id", "created_at", "direction", "body", "status", "release_at")``.

    A text we sent shows exactly as it went, but for the access code it carried, which its row keeps masked; a
    reply is masked wherever it could hold a code or a phone number. A queued text held for quiet hours says
    until when."""
    release = values.get("release_at")
    held = values["status"] == "queued" and release is not None and release > now
    outbound = values["direction"] == "outbound"
    return {
        "id": values["id"],
        "at": iso(values["created_at"]),
        "direction": values["direction"],
        "body": values["body"] if outbound else text_masked(values["body"], keep=keep),
        "status": "held" if held else values["status"],
        "held_until": iso(release) if held else None,
        "reading": values.get("reading"),
    }


# --- The websocket's messages (exceptions.board.consumers) ----------------------------------------------------------


def hello_message(seq: Mapping[int, int]) -> dict[str, Any]:
    """The greeting: each depot's last event number when the socket joined its groups."""
    return {"type": "hello", "seq": {str(depot_id): number for depot_id, number in seq.items()}}


def case_message(*, depot_id: int, seq: int, row: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "case", "depot_id": depot_id, "seq": seq, "case": row}


def run_message(*, depot_id: int, seq: int, run: Mapping[str, Any]) -> dict[str, Any]:
    """A re-planned run (routing's ``run.updated``): its id, plan version and what changed it."""
    return {
        "type": "run",
        "depot_id": depot_id,
        "seq": seq,
        "run": {key: run.get(key) for key in ("run_id", "plan_version", "operation")},
    }
