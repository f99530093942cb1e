"""What a failed attempt costs: the formula, the distance it prices, and the rates of each depot's cost model.

Also the rates the metrics value with: what a text segment costs and what a failed delivery costs in full
(``CostModel.sms_segment_cost``, ``CostModel.failed_delivery_cost``), priced per depot in ``exceptions.analytics``.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Case, DecimalField, F, Q, Value, When
from django.db.models.expressions import Combinable
from django.db.models.functions import ASin, Cast, Coalesce, Cos, Least, Power, Radians, Sin, Sqrt

from dispatch.geo import EARTH_RADIUS_M
from exceptions.models import CostModel, ExceptionCase

# A failed attempt costs a re-visit only when the parcel goes back out to the same address on
# another run. Returned to sender goes back to the depot and the shipper (a return, not a
# re-visit); a pickup point is served by the pickup network's own runs; retry now, access code,
# safe drop, neighbour and delivered on retry finish on the visit already paid for.
REVISIT_OUTCOMES = (ExceptionCase.Outcome.RESCHEDULED_SAME_DAY, ExceptionCase.Outcome.RESCHEDULED_LATER)


def failed_attempt_cost(
    *,
    service_minutes: Combinable,
    revisit: Combinable,
    round_trip_km: Combinable,
    driver_minute_cost: Combinable,
    redelivery_cost: Combinable,
    distance_cost_per_km: Combinable,
) -> Combinable:
    """What one failed scan cost, in its depot's currency, as a SQL expression over the scan's row.

        cost = service_minutes * driver_minute_cost
             + revisit * (redelivery_cost + distance_cost_per_km * round_trip_km)

    * ``service_minutes``: the stop's planned minutes at the door, lost to the failure;
    * ``revisit``: 1 when the scan opened a case whose outcome sends the parcel to the address
      again (``REVISIT_OUTCOMES``), else 0. Counted on the case's opening scan only: more failed
      scans on the same open case cost their minutes but share its one re-visit. A case still open
      has no outcome yet, so its re-visit is added when it is resolved;
    * ``round_trip_km``: depot → address → depot in straight lines (twice the haversine distance),
      the cheapest the re-visit can be;
    * the rates come from the depot's CostModel row, else the default row (depot empty), as they
      are now: an admin's change reprices past days too.
    """
    return service_minutes * driver_minute_cost + revisit * (redelivery_cost + distance_cost_per_km * round_trip_km)


def haversine_km(lat1: Combinable, lng1: Combinable, lat2: Combinable, lng2: Combinable) -> Combinable:
    """Great-circle km between two points, in SQL; the same formula as ``dispatch.geo.haversine_m``."""
    a = Power(Sin(Radians(lat2 - lat1) / 2), 2) + Cos(Radians(lat1)) * Cos(Radians(lat2)) * Power(
        Sin(Radians(lng2 - lng1) / 2), 2
    )
    # Rounding can push a above 1 for antipodal points, and asin(>1) is an error, not a number.
    return 2 * (EARTH_RADIUS_M / 1000) * ASin(Least(Value(1.0), Sqrt(a)))


def depot_cost_models(depot_ids: Iterable[int]) -> tuple[CostModel, dict[int, CostModel]]:
    ids = list(depot_ids)
    rows = list(CostModel.objects.filter(Q(depot__isnull=True) | Q(depot_id__in=ids)))
    # Admin cannot delete the default row, but a database can lack it: the field defaults stand in.
    default = next((row for row in rows if row.depot_id is None), None) or CostModel()
    own = {row.depot_id: row for row in rows if row.depot_id is not None}
    return default, {depot_id: own.get(depot_id, default) for depot_id in ids}


def depot_rate(default: CostModel, name: str, *, depot: str = "stop__run__depot") -> Combinable:
    """A field of the row's depot's cost model, else of the default one, in SQL."""
    # A depot's own row sets every field, so coalescing field by field picks whole rows.
    return Coalesce(F(f"{depot}__cost_model__{name}"), Value(getattr(default, name)), output_field=DecimalField())


def depot_currency(default: CostModel, *, depot: str = "stop__run__depot") -> Combinable:
    """The currency the row's depot is priced in, in SQL."""
    return Coalesce(F(f"{depot}__cost_model__currency"), Value(default.currency))


def cost_of_failed_scan(default: CostModel) -> Combinable:
    depot = "stop__run__depot__"

    def rate(name: str) -> Combinable:
        return depot_rate(default, name)

    round_trip_km = 2 * haversine_km(
        F(f"{depot}latitude"),
        F(f"{depot}longitude"),
        F("stop__order__address__latitude"),
        F("stop__order__address__longitude"),
    )
    return failed_attempt_cost(
        service_minutes=F("stop__service_minutes"),
        revisit=Case(When(case__outcome__in=REVISIT_OUTCOMES, then=Value(1)), default=Value(0)),
        # Money is numeric; a float distance would make the whole sum a float.
        round_trip_km=Cast(round_trip_km, DecimalField(max_digits=12, decimal_places=6)),
        driver_minute_cost=rate("driver_minute_cost"),
        redelivery_cost=rate("redelivery_cost"),
        distance_cost_per_km=rate("distance_cost_per_km"),
    )
