"""Requests nobody answered: what recipients asked the desk for in a period, and the desk did not act on.

A request is a reply understood as asking the desk to do something (``REQUEST_NEEDS``: a call, a refusal,
a code, a time to come, a place to leave it, "I'm here", directions). The workflow writes one timeline line
for each reply it understood (``CaseEvent.Kind.UNDERSTANDING``, the reading in its payload, a code masked)
and says on it what became of the reply (``payload["heard"]``, ``exceptions.workflow.vocabulary.Heard``):
taken by an open case, passed to the order's open case, the case reopened, the code kept in the vault, a
refusal already honoured, or only filed. A request was left unanswered when its line says it was only
filed; on lines written before the workflow said so, when it came after its case had ended (their summary
reads "Late reply (...)"): those were filed and never acted on.

A reply falls in the period by when it arrived (the line's ``at``), within its case's depot's local dates,
as every measure does (``exceptions.analytics.periods``). One query counts them, on the index of replies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db.models import Q

from dispatch.models import Depot
from exceptions.analytics.periods import DepotPeriod, depot_periods, within
from exceptions.models import CaseEvent
from exceptions.workflow.vocabulary import REQUEST_NEEDS, Heard

# How the workflow's line for a reply after the case ended began, before it said what became of the reply.
LATE_REPLY = "Late reply ("


def request_understood() -> Q:
    """Timeline lines of a reply understood as a request: the intent, with the part of the reading it needs."""
    bare = [intent for intent, needs in REQUEST_NEEDS.items() if not needs]
    condition = Q(payload__intent__in=bare)
    for intent, needs in REQUEST_NEEDS.items():
        if needs:
            given = ~Q(payload__contains={needs: None}) & ~Q(payload__contains={needs: ""})
            condition |= Q(payload__intent=intent, payload__has_key=needs) & given
    return Q(kind=CaseEvent.Kind.UNDERSTANDING) & condition


def not_acted_on() -> Q:
    """Timeline lines of a reply the desk only filed: said so, or a late reply from before it said anything."""
    return Q(payload__heard=Heard.FILED) | (~Q(payload__has_key="heard") & Q(summary__startswith=LATE_REPLY))


def unanswered_requests(*, depot_ids: Sequence[int], date_from: dt.date, date_to: dt.date) -> int:
    """Requests received at the depots over [date_from, date_to] (their local dates) that nobody acted on."""
    if date_to < date_from:
        raise ValueError("date_to is before date_from")
    periods = depot_periods(depots=Depot.objects.filter(pk__in=depot_ids), date_from=date_from, date_to=date_to)
    return requests_unanswered(periods)


def requests_unanswered(periods: Sequence[DepotPeriod]) -> int:
    """Requests received in the depots' periods that nobody acted on; one query."""
    if not periods:
        return 0
    return (
        CaseEvent.objects.filter(within(periods, at="at", depot="case__depot_id"))
        .filter(request_understood() & not_acted_on())
        .count()
    )
