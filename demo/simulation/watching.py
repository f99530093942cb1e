"""What the simulated people see of the product after each event, and what they do about it next.

A text that went out gets the recipient's reply (or silence), a driver with new instructions reads
the feed, a free dispatcher takes the next case that needs a human. Each reaction is scheduled on the
simulation's clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q

from demo.simulation import behaviour, opening, recipients
from dispatch.models import DriverInstruction, Stop
from exceptions.models import ExceptionCase
from outreach.models import Message

if TYPE_CHECKING:
    from demo.simulation.engine import Simulation


def product_seen(simulation: Simulation) -> None:
    """What the product did since the last event: texts sent, instructions pushed, cases escalated."""
    texts_seen(simulation)
    instructions_seen(simulation)
    escalations_seen(simulation)


def texts_seen(simulation: Simulation) -> None:
    """Each text that went out reaches its recipient (``demo.simulation.recipients``), who answers it or not."""
    sent = list(
        Message.objects.filter(
            Q(conversation__case__isnull=False) | Q(conversation__stop__isnull=False),
            pk__gt=simulation.message_cursor,
            direction=Message.Direction.OUTBOUND,
            status__in=(Message.Status.SENT, Message.Status.DELIVERED),
        )
        .order_by("pk")
        .values(
            "pk",
            "template_key",
            "body",
            "conversation__case_id",
            "conversation__case__stop_id",
            "conversation__stop_id",
        )
    )
    for message in sent:
        simulation.message_cursor = max(simulation.message_cursor, message["pk"])
        case_id = message["conversation__case_id"]
        stop_id = message["conversation__case__stop_id"] or message["conversation__stop_id"]
        stop = Stop.objects.select_related("order__address", "order__recipient").get(pk=stop_id)
        # Made here if need be: the opening scene's scripted failure met no trail on the way.
        trail = recipients.trail_for(simulation, stop)
        if simulation.opening and stop.order.reference == simulation.opening and case_id is not None:
            simulation.opening = None  # the scene's recipient answers the first question as scripted
            said = opening.opening_reply(simulation)
            simulation._schedule(
                simulation._later(opening.REPLY_SECONDS), "reply", (case_id, stop.order.reference, said)
            )
            continue
        # The text as the phone shows it: the recipient reads its link, if it has one.
        recipients.text_received(simulation, trail, key=message["template_key"], case_id=case_id, body=message["body"])


def instructions_seen(simulation: Simulation) -> None:
    """Drivers with new instructions read their feed."""
    cursors = {state.driver_id: int(state.cursor) for state in simulation.drivers.values()}
    waiting = {
        driver_id
        for driver_id, seq in DriverInstruction.objects.filter(driver_id__in=cursors)
        .values_list("driver_id", "seq")
        .order_by()
        if seq > cursors[driver_id]
    }
    for driver_id in waiting:
        simulation._instructions_read(simulation.drivers[driver_id])


def escalations_seen(simulation: Simulation) -> None:
    """A free dispatcher takes the next case that needs a human."""
    if not simulation.free_dispatchers:
        return
    waiting = [
        case
        for case in ExceptionCase.objects.filter(depot=simulation.depot, state__in=ExceptionCase.OPEN_STATES)
        .exclude(pk__in=simulation.in_hand)
        .order_by("priority", "sla_due_at", "pk")
        .only("pk", "state", "requires_approval", "pending_outcome")
        if needs_human(case)
    ]
    for case in waiting:
        if not simulation.free_dispatchers:
            break
        index = simulation.free_dispatchers.pop(0)
        simulation.in_hand.add(case.pk)
        seconds = behaviour.handling_seconds(simulation.rng, simulation.options.handling_minutes)
        simulation._schedule(simulation._later(seconds), "dispatcher_done", (index, case.pk))


def needs_human(case: ExceptionCase) -> bool:
    return case.state == ExceptionCase.State.ESCALATED or bool(case.requires_approval and case.pending_outcome)
