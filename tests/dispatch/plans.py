"""A depot's day as the route planner sends it to ``POST /api/v1/plans``, and what the plan import tests read back.

The day is ``DAY``, at the Chicago depot (``chi-west``); ``the_day`` gives Dave's run three stops and
Erin's two. ``at`` is a local time on that day, as the planner writes it.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db import connection
from rest_framework.test import APIClient

from dispatch.models import AccessCredential, Address, Order, Recipient, Run, Stop
from tests.factories import local

URL = "/api/v1/plans"


DAY = dt.date(2030, 3, 4)  # far from today: nothing else plans this day


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> str:
    return local(hour, minute, day).isoformat()


def a_stop(
    reference: str,
    sequence: int,
    *,
    customer: str | None = None,
    phone: str = "+13125550142",
    window: tuple[int, int] = (9, 12),
    codes: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    customer = customer or f"C-{reference}"
    order: dict[str, Any] = {
        "reference": reference,
        "window_start": at(window[0]),
        "window_end": at(window[1]),
        "declared_value": "45.00",
        "recipient": {"external_id": customer, "name": f"Customer {customer}", "phone": phone},
        "address": {
            "external_ref": f"A-{customer}",
            "line1": "1450 N Milwaukee Ave",
            "city": "Chicago",
            "postal_code": "60622",
            "latitude": 41.9081,
            "longitude": -87.6755,
        },
    }
    if codes is not None:
        order["access_codes"] = codes
    return {"sequence": sequence, "planned_arrival": at(8, 30 + sequence), "order": order}


def a_run(reference: str, driver: str, stops: list[dict[str, Any]], start: int = 8) -> dict[str, Any]:
    return {"external_ref": reference, "driver": driver, "shift_start": at(start), "shift_end": at(17), "stops": stops}


def a_plan(*runs: dict[str, Any], depot: str = "chi-west") -> dict[str, Any]:
    return {"depot": depot, "service_date": DAY.isoformat(), "runs": list(runs)}


def the_day(dave, erin) -> dict[str, Any]:
    """Dave's run with three stops, Erin's with two."""
    return a_plan(
        a_run(
            "R-DAVE",
            dave.user.username,
            [
                a_stop("LM-1", 1, phone="(312) 555-0142", codes=[{"kind": "gate", "code": "4821#"}]),
                a_stop("LM-2", 2),
                a_stop("LM-3", 3),
            ],
        ),
        a_run("R-ERIN", erin.user.username, [a_stop("LM-4", 1), a_stop("LM-5", 2, customer="C-LM-1")]),
    )


def send(client: APIClient, document: Any, **params: str) -> Any:
    query = "?" + "&".join(f"{key}={value}" for key, value in params.items()) if params else ""
    return client.post(URL + query, json.dumps(document), content_type="application/json")


def stops_of(run_ref: str) -> list[tuple[int, str, str]]:
    return list(
        Stop.objects.filter(run__external_ref=run_ref)
        .order_by("sequence")
        .values_list("sequence", "order__reference", "status")
    )


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (Run, Stop, Order, Recipient, Address, AccessCredential)}


def assert_deferred_constraints_hold() -> None:
    # The per-run sequence constraint is checked at commit, which a test transaction never reaches.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
