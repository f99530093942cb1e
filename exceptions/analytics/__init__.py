"""Analytics: the measures the desk is judged by, over a period, and the API that serves them.

- ``measures``: the measures, each one bulk SQL aggregate, in totals and groups;
- ``api``: the metrics' REST API, in JSON or CSV;
- ``admin``: the cost model that prices failed attempts, in admin.

The names the rest of the product uses are re-exported here.
"""

from exceptions.analytics.measures import (
    GROUP_BY,
    GroupBy,
    MetricsSummary,
    Prevention,
    depot_list_for_metrics,
    haversine_km,
    metrics_summary,
    useful_reply,
)

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
