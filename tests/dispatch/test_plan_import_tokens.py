"""Plan import, who may import: an integration token, not a driver's; a token limited to a depot imports
that depot's plans only, and another depot's ids are new names to it, never its rows.

Personas: Dave and Erin drive for Chicago; each test issues its own token (Dave's phone, a
planner's integration limited to Chicago or to Milwaukee). Milwaukee's rows are an outsider's.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from dispatch.models import AccessCredential, Address, ApiToken, Order, Recipient, Run
from dispatch.services.tokens import api_token_issue
from tests.dispatch.plans import URL, a_plan, a_run, a_stop, send, stops_of, the_day
from tests.factories import AddressFactory, OrderFactory, RecipientFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_it_requires_a_token(dave, erin):
    response = send(APIClient(), the_day(dave, erin))

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_it_refuses_a_driver_token(dave, erin):
    _, key = api_token_issue(user=dave.user, kind=ApiToken.Kind.DRIVER, name="Dave's phone")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    response = send(client, the_day(dave, erin))

    assert response.status_code == 403
    assert response.json()["detail"] == "This endpoint is for integrations: use an integration token."
    assert not Run.objects.exists()


def test_it_refuses_a_token_limited_to_another_depot(dave, erin, milwaukee):
    _, key = api_token_issue(
        user=UserFactory(username="mke-planner"), kind=ApiToken.Kind.INTEGRATION, name="MKE", depot=milwaukee
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    response = send(client, the_day(dave, erin))

    assert response.status_code == 403
    assert response.json() == {
        "detail": "This token is limited to depot 'mke'; it cannot import a plan for 'chi-west'.",
        "code": "depot_not_allowed",
    }
    assert not Run.objects.exists()


def test_it_accepts_a_token_limited_to_the_plans_depot(chicago, dave, erin):
    _, key = api_token_issue(
        user=UserFactory(username="chi-planner"), kind=ApiToken.Kind.INTEGRATION, name="CHI", depot=chicago
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    response = send(client, the_day(dave, erin))

    assert response.status_code == 201
    assert (response.json()["depot"], response.json()["runs"]["created"]) == ("chi-west", 2)
    assert stops_of("R-DAVE") == [(1, "LM-1", "pending"), (2, "LM-2", "pending"), (3, "LM-3", "pending")]
    assert stops_of("R-ERIN") == [(1, "LM-4", "pending"), (2, "LM-5", "pending")]
    for model in (Run, Order, Recipient, Address):
        assert set(model.objects.values_list("depot", flat=True)) == {chicago.pk}, model.__name__


@pytest.mark.parametrize("dry_run", [False, True], ids=["import", "dry run"])
def test_another_depots_ids_are_new_names_to_a_depot_limited_token(chicago, milwaukee, dave, dry_run):
    # Milwaukee's recipient, address and order, with the ids the Chicago plan uses.
    theirs = RecipientFactory(depot=milwaukee, external_id="C-77", name="Oren Milwaukee", phone="+14145550188")
    building = AddressFactory(
        depot=milwaukee, external_ref="A-C-77", line1="700 N Water St", building_notes="Ring twice"
    )
    their_order = OrderFactory(reference="LM-1", recipient=theirs, address=building, depot=milwaukee)
    _, key = api_token_issue(
        user=UserFactory(username="chi-planner"), kind=ApiToken.Kind.INTEGRATION, name="CHI", depot=chicago
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    stop = a_stop("LM-1", 1, customer="C-77", phone="+13125550666", codes=[{"kind": "gate", "code": "0000"}])
    stop["order"]["address"]["building_notes"] = "Leave it with the attacker"
    plan = a_plan(a_run("R-DAVE", "dave", [stop]))

    response = client.post(URL + ("?dry_run=1" if dry_run else ""), plan, format="json")

    # The answer is the one ids nobody uses get: everything created, in Chicago.
    assert response.status_code == (200 if dry_run else 201), response.content
    summary = response.json()
    assert [summary[part]["created"] for part in ("orders", "recipients", "addresses", "access_codes")] == [1, 1, 1, 1]
    theirs.refresh_from_db()
    building.refresh_from_db()
    their_order.refresh_from_db()
    assert (theirs.name, str(theirs.phone)) == ("Oren Milwaukee", "+14145550188")
    assert (building.line1, building.building_notes) == ("700 N Water St", "Ring twice")
    assert not AccessCredential.objects.filter(address=building).exists()
    assert (their_order.recipient, their_order.address, their_order.status) == (theirs, building, Order.Status.PENDING)
    assert not their_order.stops.exists()
    if not dry_run:
        ours = Order.objects.get(reference="LM-1", depot=chicago)
        assert (ours.recipient.depot, ours.address.depot) == (chicago, chicago)
        assert (ours.recipient.external_id, str(ours.recipient.phone)) == ("C-77", "+13125550666")


def test_a_token_limited_to_a_depot_updates_its_own_recipient(chicago, dave):
    ours = RecipientFactory(depot=chicago, external_id="CHI-1", name="Old Name")
    OrderFactory(recipient=ours, depot=chicago)
    _, key = api_token_issue(
        user=UserFactory(username="chi-planner"), kind=ApiToken.Kind.INTEGRATION, name="CHI", depot=chicago
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    response = client.post(URL, a_plan(a_run("R-DAVE", "dave", [a_stop("LM-1", 1, customer="CHI-1")])), format="json")

    assert response.status_code == 201, response.content
    ours.refresh_from_db()
    assert ours.name == "Customer CHI-1"
