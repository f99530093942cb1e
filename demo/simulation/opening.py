"""The live demo's opening scene: one scripted case, so the board has work in its first minute.

The first simulated driver finds nobody home at their first stop, and the recipient answers the
question with "back at" a time two hours on, which routing fits into today's runs. It goes through
the product's own interfaces (the driver API, the signed Twilio webhook) like every simulated case;
only its two draws are set instead of drawn. Everything after it is the seeded day. A simulated day
that measures figures has no opening scene.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from demo.simulation import truth
from demo.simulation.speech import Meaning, Said
from dispatch.models import Recipient, Stop

if TYPE_CHECKING:
    from demo.simulation.engine import Simulation

START_SECONDS = 20.0  # people's seconds after the start: a couple of real seconds in the demo
REPLY_SECONDS = 90.0
FAILURE = truth.Failure("RECIPIENT_ABSENT", "Knocked and rang, no answer.")


def opening_schedule(simulation: Simulation) -> None:
    """Play the scene with the first driver, shortly after the start."""
    if simulation.drivers:
        first = next(iter(simulation.drivers))
        simulation._schedule(simulation._later(START_SECONDS), "opening", first)


def opening_play(simulation: Simulation, driver_id: int) -> str | None:
    """The driver at their first stop, nobody home: the failed scan. Returns the order's reference."""
    state = simulation.drivers[driver_id]
    # The first of the run's stops whose recipient takes texts in English: the scene is that conversation.
    stop = (
        Stop.objects.filter(
            run_id=state.run_id,
            status=Stop.Status.PENDING,
            order__recipient__opted_out=False,
            order__recipient__preferred_channel=Recipient.Channel.SMS,
            order__recipient__language=Recipient.ENGLISH,
        )
        .select_related("order__address")
        .order_by("sequence")
        .first()
    )
    if stop is None:
        return None
    address = stop.order.address
    state.position = (address.latitude, address.longitude)
    simulation._ping(state)
    simulation._scan(state, stop, FAILURE)
    return stop.order.reference


def opening_reply(simulation: Simulation) -> Said:
    """The recipient's answer to the first question: back at the hour two hours on, local time."""
    local = simulation.now.astimezone(simulation.zone) + dt.timedelta(hours=2)
    back = local.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1) if local.minute else local
    hour = back.hour % 12 or 12
    suffix = "am" if back.hour < 12 else "pm"
    return Said(f"Not home right now, I'll be back at {hour}{suffix}", Meaning("RESCHEDULE", window=(back, None)))
