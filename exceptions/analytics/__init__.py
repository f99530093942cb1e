"""Analytics: the measures the desk is judged by, over a period, and the API that serves them.

Its modules, each built only on the ones listed before it:

- ``figures``: what is measured: the groups, the shape of each figure, a group's tally;
- ``periods``: each depot's share of a period, and the SQL that groups rows by depot-local day or hour,
  depot, reason code or area;
- ``costs``: what a failed attempt costs, from each depot's cost model;
- ``endings``: how each failed parcel ended and how long it took, in one pass over the period's failed parcels;
- ``value``: the failed attempts averted, valued, against what the texts cost;
- ``measures``: the measures, each one bulk SQL aggregate, in totals and groups;
- ``export``: the metrics as CSV;
- ``api``: the metrics' REST API, in JSON or CSV;
- ``admin``: the cost model, in admin.

The names the rest of the product uses are re-exported here.
"""

from exceptions.analytics.costs import haversine_km
from exceptions.analytics.figures import GROUP_BY, GroupBy, MetricsSummary, Prevention, useful_reply
from exceptions.analytics.measures import depot_list_for_metrics, metrics_summary

__all__ = [
    "GROUP_BY",
    "GroupBy",
    "MetricsSummary",
    "Prevention",
    "depot_list_for_metrics",
    "haversine_km",
    "metrics_summary",
    "useful_reply",
]
