from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from dispatch.models import Stop
from exceptions.models import CostModel, EscalationRule, ExceptionCase
from tests.exceptions.metrics_day import BEFORE, DAY, OUTCOME, STATE, Day, at
from tests.factories import AddressFactory
from tests.helpers import signed_in


@pytest.fixture
def no_default_rules(db) -> None:
    """Start from no escalation rules: migrations seed two defaults every desk starts with."""
    EscalationRule.objects.all().delete()


# --- The board --------------------------------------------------------------------------------------------------------


@pytest.fixture
def alice_client(alice) -> Client:
    return signed_in(alice)


# --- Metrics ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def chicago_costs(chicago) -> CostModel:
    return CostModel.objects.create(
        depot=chicago,
        currency="USD",
        driver_minute_cost=Decimal("0.50"),
        distance_cost_per_km=Decimal("1.00"),
        redelivery_cost=Decimal("10.00"),
    )


@pytest.fixture
def day(chicago, chicago_costs, dave, oscar) -> dict[str, Any]:
    """The metrics day of tests/exceptions/metrics_day.py, built; its cases by order. (The prevention tests
    build days of their own under the same name.)"""
    chi = Day(dave)
    for order_at in (at(9, 15), at(9, 40), at(14, 5)):
        chi.scan(chi.stop(), order_at, code=None)

    c = chi.stop(minutes=4)
    c_case = chi.case(
        chi.scan(c, at(10, 40)), state=STATE.RESOLVED, outcome=OUTCOME.ACCESS_CODE_PROVIDED, resolved_at=at(11, 0)
    )
    chi.scan(c, at(11, 5), code=None)

    far = AddressFactory(latitude=chicago.latitude + 0.1, longitude=chicago.longitude)
    cases = {"C": c_case}
    for name, code in (
        ("E", "RECIPIENT_ABSENT"),
        ("G", "ACCESS_DENIED"),
        ("K", "BUSINESS_CLOSED"),
        ("L", "GATE_CLOSED"),
    ):
        earlier = chi.stop(day=BEFORE, **({"address": far} if name == "E" else {}))
        chi.scan(earlier, at(15, 0, BEFORE), code=code)
        earlier.status = Stop.Status.RESCHEDULED
        earlier.save()
        today = chi.stop(earlier.order, minutes=5 if name == "E" else 3)
        first = {"E": at(12, 30), "G": at(15, 0), "K": at(16, 0), "L": at(23, 30)}[name]
        cases[name] = chi.case(chi.scan(today, first, code=code))
        if name == "E":
            chi.scan(today, at(12, 50), code=code)
    ExceptionCase.objects.filter(pk=cases["E"].pk).update(
        state=STATE.RESOLVED, outcome=OUTCOME.RESCHEDULED_LATER, resolved_at=at(14, 30), touched_by_dispatcher=True
    )
    ExceptionCase.objects.filter(pk=cases["G"].pk).update(
        state=STATE.RESOLVED, outcome=OUTCOME.SAFE_DROP, escalated_at=at(15, 10), resolved_at=at(15, 40)
    )
    ExceptionCase.objects.filter(pk=cases["K"].pk).update(
        state=STATE.CLOSED, outcome=OUTCOME.CANCELLED, closed_at=at(16, 30)
    )
    ExceptionCase.objects.filter(pk=cases["L"].pk).update(state=STATE.AWAITING_RECIPIENT)

    m = chi.stop(day=BEFORE)
    cases["M"] = chi.case(
        chi.scan(m, at(18, 0, BEFORE), code="DAMAGED"), state=STATE.ESCALATED, escalated_at=at(18, 10, BEFORE)
    )
    chi.scan(chi.stop(), at(0, 30, DAY + dt.timedelta(days=1)), code=None)

    mke = Day(oscar)
    mke.scan(mke.stop(), at(10, 0), code=None)
    x = mke.scan(mke.stop(), at(10, 30), code="DAMAGED")
    mke.case(
        x,
        state=STATE.RESOLVED,
        outcome=OUTCOME.RETURNED_TO_SENDER,
        resolved_at=at(10, 45),
        touched_by_dispatcher=True,
    )
    return cases
