"""The migration that gives recipients and addresses a depot: a row several depots used is split, nothing lost."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BEFORE = [("dispatch", "0005_roles_for_api_models"), ("outreach", "0005_ask_directions_template")]
AFTER = [("dispatch", "0007_depot_namespaces_enforced")]


def migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_apps():
    apps = migrate(BEFORE)
    yield apps
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_a_recipient_two_depots_used_becomes_one_per_depot(old_apps):
    Depot = old_apps.get_model("dispatch", "Depot")
    Recipient = old_apps.get_model("dispatch", "Recipient")
    Address = old_apps.get_model("dispatch", "Address")
    AccessCredential = old_apps.get_model("dispatch", "AccessCredential")
    Order = old_apps.get_model("dispatch", "Order")
    User = old_apps.get_model("dispatch", "User")
    Driver = old_apps.get_model("dispatch", "Driver")
    Run = old_apps.get_model("dispatch", "Run")
    Stop = old_apps.get_model("dispatch", "Stop")
    Conversation = old_apps.get_model("outreach", "Conversation")
    place = {"time_zone": "America/Chicago", "latitude": 41.88, "longitude": -87.66}
    chicago = Depot.objects.create(code="chi-west", name="Chicago", **place)
    milwaukee = Depot.objects.create(code="mke", name="Milwaukee", **place)
    shared = Recipient.objects.create(name="Ana Ruiz", phone="+13125550142", external_id="C-1")
    lonely = Recipient.objects.create(name="Nobody Yet", external_id="C-2")
    building = Address.objects.create(
        line1="1 Main St", city="Chicago", postal_code="60622", latitude=41.9, longitude=-87.6, external_ref="A-1"
    )
    AccessCredential.objects.create(address=building, kind="gate", secret="4821")
    theirs = Order.objects.create(reference="LM-2", depot=milwaukee, recipient=shared, address=building)
    ours = Order.objects.create(reference="LM-1", depot=chicago, recipient=shared, address=building)
    now = timezone.now()
    driver = Driver.objects.create(user=User.objects.create(username="oscar"), depot=milwaukee)
    run = Run.objects.create(
        depot=milwaukee, driver=driver, service_date=now.date(), shift_start=now, shift_end=now + dt.timedelta(hours=8)
    )
    stop = Stop.objects.create(run=run, order=theirs, sequence=1)
    Conversation.objects.create(stop=stop, recipient=shared)

    apps = migrate(AFTER)

    Recipient = apps.get_model("dispatch", "Recipient")
    Address = apps.get_model("dispatch", "Address")
    Order = apps.get_model("dispatch", "Order")
    Conversation = apps.get_model("outreach", "Conversation")
    assert sorted(Recipient.objects.values_list("external_id", "depot__code", "name", "phone")) == [
        ("C-1", "chi-west", "Ana Ruiz", "+13125550142"),
        ("C-1", "mke", "Ana Ruiz", "+13125550142"),
        ("C-2", "chi-west", "Nobody Yet", ""),
    ]
    assert Recipient.objects.get(pk=lonely.pk).depot.code == "chi-west"
    for order in Order.objects.select_related("recipient", "address"):
        assert order.recipient.depot_id == order.address.depot_id == order.depot_id
    assert Order.objects.get(pk=ours.pk).recipient_id == shared.pk  # the first depot keeps the original
    copy = Address.objects.get(depot__code="mke")
    assert copy.external_ref == "A-1"
    assert copy.access_credentials.count() == Address.objects.get(pk=building.pk).access_credentials.count() == 1
    assert Conversation.objects.get().recipient.depot.code == "mke"
