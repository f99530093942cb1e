"""What the desk is worth in money: the failed attempts it averted, valued, against what its texts cost.

Per currency of the depots' cost models, each depot priced by its own (``CostModel``, else the default):

* ``sms_segments``, ``sms_cost``: the outbound texts that went out in the period (about a case or ahead of the
  driver), in billed segments (``outreach.segments``), at the depot's ``sms_segment_cost``;
* ``failed_attempts_averted``: exceptions prevented ahead of the driver (``_prevention`` in
  ``exceptions.analytics.measures``) plus failed parcels rescued without a dispatcher (delivered the same day
  or settled in the recipient's own choice: ``exceptions.analytics.endings``). The assumption: each rescue
  saves one further failed attempt, the one the parcel would have had on its next visit;
* ``value_averted``: each averted attempt at its depot's ``failed_delivery_cost``;
* ``net``: value averted less the texts' cost; ``net_per_1000_parcels``: net per 1,000 parcels attempted in
  the period (orders whose first attempt fell in it, as first-attempt success counts them).

The texts are counted by the depot-local day or hour they went out, by depot and by area; not by reason code
(a text ahead of the driver has none), so value is left out of reason-code groups and counted in the totals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from exceptions import ports
from exceptions.analytics.figures import GroupBy, Tally
from exceptions.analytics.periods import DepotPeriod
from exceptions.models import CostModel


def texts_sent(
    periods: Sequence[DepotPeriod],
    group_by: GroupBy | None,
    into: defaultdict[Any, Tally],
    *,
    unsplit: Tally,
    prices: Mapping[int, CostModel],
) -> None:
    """Outbound texts' segments and cost, through outreach's port; in ``unsplit`` when grouped by reason code."""
    split = group_by != "reason_code"
    for sent in ports.outreach().texts_sent(periods=periods, group_by=group_by if split else None):
        tally = into[sent.key] if split else unsplit
        model = prices[sent.depot_id]
        tally.count("sms_segments", model.currency, sent.segments)
        tally.count("sms_cost", model.currency, sent.segments * model.sms_segment_cost)
