"""The cost model the metrics price failed attempts with, in the admin: the default edited, a text segment and a
failed delivery priced, a depot given its own (one per depot), a bad currency explained, a dispatcher who may
view it but not change it, the default never deleted.

An admin edits the cost models; Alice dispatches at Chicago.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from exceptions.models import CostModel
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db


def change_url(model: CostModel) -> str:
    return reverse("admin:exceptions_costmodel_change", args=[model.pk])


def cost_form(model: CostModel, **changes: str) -> dict[str, str]:
    data = {
        "depot": str(model.depot_id or ""),
        "currency": model.currency,
        "driver_minute_cost": str(model.driver_minute_cost),
        "distance_cost_per_km": str(model.distance_cost_per_km),
        "redelivery_cost": str(model.redelivery_cost),
        "sms_segment_cost": str(model.sms_segment_cost),
        "failed_delivery_cost": str(model.failed_delivery_cost),
    }
    return {**data, **changes}


def test_an_admin_edits_the_default_cost_model(admin_user):
    default = CostModel.objects.get(depot__isnull=True)

    response = signed_in(admin_user).post(change_url(default), cost_form(default, redelivery_cost="14.50"))

    assert response.status_code == 302
    default.refresh_from_db()
    assert default.redelivery_cost == Decimal("14.50")


def test_an_admin_prices_a_text_segment_and_a_failed_delivery(admin_user):
    default = CostModel.objects.get(depot__isnull=True)
    assert (default.sms_segment_cost, default.failed_delivery_cost) == (Decimal("0.0083"), Decimal("17.20"))
    client = signed_in(admin_user)
    page = client.get(change_url(default)).content.decode()
    assert "SMS segment cost" in page
    assert "Twilio's US list price per outbound segment" in page
    assert "The full cost of a failed delivery attempt" in page

    changed = cost_form(default, sms_segment_cost="0.0079", failed_delivery_cost="18.50")
    response = client.post(change_url(default), changed)

    assert response.status_code == 302
    default.refresh_from_db()
    assert (default.sms_segment_cost, default.failed_delivery_cost) == (Decimal("0.0079"), Decimal("18.50"))


def test_an_admin_gives_a_depot_its_own_cost_model(admin_user, chicago):
    client = signed_in(admin_user)
    data = cost_form(CostModel(), depot=str(chicago.pk), currency="CAD")

    response = client.post(reverse("admin:exceptions_costmodel_add"), data)

    assert response.status_code == 302
    assert CostModel.objects.get(depot=chicago).currency == "CAD"
    # One row per depot: a second is refused with a message, not a crash.
    again = client.post(reverse("admin:exceptions_costmodel_add"), data)
    assert again.status_code == 200
    assert "already exists" in again.content.decode()


@pytest.mark.parametrize("currency", ["usd", "US", "US1", "DOLLAR"])
def test_the_admin_explains_a_bad_currency(admin_user, currency):
    default = CostModel.objects.get(depot__isnull=True)

    response = signed_in(admin_user).post(change_url(default), cost_form(default, currency=currency))

    assert response.status_code == 200
    assert "Use the three-letter ISO 4217 code in capitals" in response.content.decode()
    default.refresh_from_db()
    assert default.currency == "USD"


def test_a_dispatcher_views_the_cost_model_but_cannot_change_it(alice):
    default = CostModel.objects.get(depot__isnull=True)
    client = signed_in(alice)

    page = client.get(change_url(default))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.get(reverse("admin:exceptions_costmodel_changelist")).status_code == 200

    response = client.post(change_url(default), cost_form(default, redelivery_cost="0"))
    assert response.status_code == 403
    default.refresh_from_db()
    assert default.redelivery_cost == Decimal("12.00")


def test_the_default_cost_model_cannot_be_deleted(admin_user, chicago_costs):
    client = signed_in(admin_user)
    default = CostModel.objects.get(depot__isnull=True)
    delete_default = reverse("admin:exceptions_costmodel_delete", args=[default.pk])

    assert client.get(delete_default).status_code == 403
    assert client.post(delete_default, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:exceptions_costmodel_delete", args=[chicago_costs.pk])).status_code == 200
    assert set(CostModel.objects.values_list("pk", flat=True)) == {default.pk, chicago_costs.pk}
