"""What the simulated people see of the product after each event, and what they do about it next.

A text that went out gets the recipient's reply (or silence), a driver with new instructions reads
the feed, a free dispatcher takes the next case that needs a human. Each reaction is scheduled on the
simulation's clock.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from django.db.models import Q

from demo.simulation import behaviour, opening
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
    """Each text that went out: the recipient answers it (or not), later."""
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
            "conversation__case_id",
            "conversation__recipient__phone",
            "conversation__case__reason_code__code",
            "conversation__case__order__reference",
            "conversation__stop_id",
            "conversation__stop__order__reference",
            "conversation__stop__prearrival__asked",
        )
    )
    for message in sent:
        simulation.message_cursor = max(simulation.message_cursor, message["pk"])
        phone = str(message["conversation__recipient__phone"])
        case_id = message["conversation__case_id"]
        if case_id is None:  # asked ahead of the driver
            reference = message["conversation__stop__order__reference"]
            draw = random.Random(f"{simulation.options.seed}:ahead:{reference}")  # noqa: S311
            stop = Stop.objects.select_related("order__address").get(pk=message["conversation__stop_id"])
            ahead = behaviour.prearrival_reply(
                draw,
                simulation.corpus,
                missing=message["conversation__stop__prearrival__asked"] or [],
                out=simulation._out_when_due(stop),
            )
            if ahead is None:
                simulation.tally.silent_prompts += 1
                continue
            simulation.tally.prearrival_replies += 1
            simulation.tally.replies_by_intent[ahead.intent] += 1
            simulation._schedule(simulation._later(ahead.delay_seconds), "reply", (0, phone, ahead.text))
            continue
        simulation.prompts[case_id] += 1
        reference = message["conversation__case__order__reference"]
        draw = random.Random(f"{simulation.options.seed}:reply:{reference}:{simulation.prompts[case_id]}")  # noqa: S311
        reply = (
            opening.opening_reply(simulation)
            if reference == simulation.opening and simulation.prompts[case_id] == 1
            else behaviour.recipient_reply(
                draw,
                simulation.corpus,
                reason_code=message["conversation__case__reason_code__code"],
                prompt_number=simulation.prompts[case_id],
                answered_before=simulation.answered[case_id],
            )
        )
        if reply is None:
            simulation.tally.silent_prompts += 1
            continue
        simulation.answered[case_id] += 1
        simulation.tally.replies_by_intent[reply.intent] += 1
        simulation._schedule(simulation._later(reply.delay_seconds), "reply", (case_id, phone, reply.text))


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
