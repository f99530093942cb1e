"""Who may change what: the tenancy model, and the one check every import goes through.

- **Depot rows.** A depot owns its runs, stops, orders and drivers, and everything that hangs off them
  (scans, exception cases, messages, plan versions). A user or token limited to depots reads and writes
  only those depots' rows.
- **Shared rows.** Recipients and addresses, with each address's access codes, are shared: the same
  person or building gets parcels from several depots, and a CRM or planner names them by one external
  id (``Recipient.external_id``, ``Address.external_ref``). A shared row is used by the depots whose
  orders point at it.
- A caller with no depot limit (an admin, an unlimited integration) may create and change any row.
- A caller limited to a depot may create shared rows, and may change, or attach its orders to, an
  existing one only when no other depot uses it. Attaching is refused as well as changing: an order of
  its depot pointing at another depot's recipient would show it that recipient, and route that
  recipient's replies to its cases.

What a limited caller can still learn: that an external id it names is taken (it is told the id is used
by another depot, never which depot nor any of the row's data).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from dispatch.models import Address, Depot, Order, Recipient

BATCH: Final = 5_000
_ORDER_FIELD: Final = {Recipient: "recipient_id", Address: "address_id"}


def shared_rows_used_elsewhere(*, model: type[Recipient] | type[Address], ids: Iterable[int], depot: Depot) -> set[int]:
    """The ``ids`` of shared rows an order of a depot other than ``depot`` points at: ``depot``'s callers keep off."""
    field = _ORDER_FIELD[model]
    wanted = sorted(set(ids))
    used: set[int] = set()
    for start in range(0, len(wanted), BATCH):
        chunk = wanted[start : start + BATCH]
        used.update(
            Order.objects.filter(**{f"{field}__in": chunk})
            .exclude(depot=depot)
            .values_list(field, flat=True)
            .distinct()
        )
    return used


def used_elsewhere_message(kind: str, key: str, depot: Depot) -> str:
    return (
        f"{kind} {key!r} is used by another depot: a token limited to {depot.code} cannot change it or plan "
        "orders for it. Use an id of your own, or ask an admin."
    )
