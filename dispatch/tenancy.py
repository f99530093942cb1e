"""Who may change what: the tenancy model.

- **Everything operational belongs to one depot.** A depot owns its drivers, runs, stops and orders, its
  recipients and addresses (with each address's access codes), and everything that hangs off them: scans,
  exception cases, conversations and messages, plan versions.
- **External ids are names within a depot.** ``Recipient.external_id``, ``Address.external_ref``,
  ``Order.reference`` and ``Run.external_ref`` are unique per depot, and every import matches them only among
  its depot's rows. Two depots may use the same id for different people or buildings; a person who gets
  parcels from two depots is two recipients. So an import can neither change another depot's row nor learn
  whether an id is used elsewhere: a name another depot uses is, to this depot, simply new.
- **Orders stay home.** An order's recipient and address belong to its depot (``Order.clean``, and imports
  only ever attach their own depot's rows).
- **Shared configuration is an admin's.** Reason codes, playbooks, rules, message templates and the settings
  rows apply to every depot and are changed only by admins.
- **Who is limited.** A user with depots, or an integration token bound to a depot, reads and writes only
  those depots' rows: the API and board through ``dispatch.selectors.user_depots``, admin through
  ``dispatch.admin.scoping`` (lists, pages and the choices of every depot-owned foreign key). A caller with no
  limit (an admin, an unlimited integration) names the depot it writes to: a plan's ``depot``, a recipient
  import's ``?depot=``.
- **A phone number is one person to the carrier.** STOP from a number opts out every recipient with that
  number, whichever depot: the carrier blocks our sender for that number, not for one depot.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from dispatch.models import Depot


def within_depots(queryset: QuerySet[Any], depots: QuerySet[Depot]) -> QuerySet[Any]:
    """``queryset`` limited to rows of ``depots``, for a model that is a depot or has a ``depot``; else as is."""
    model = queryset.model
    if model is Depot:
        return queryset.filter(pk__in=depots.values("pk"))
    if any(field.name == "depot" and field.is_relation for field in model._meta.get_fields()):
        return queryset.filter(depot__in=depots.values("pk"))
    return queryset
