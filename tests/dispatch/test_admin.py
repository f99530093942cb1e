"""The admin: every page renders, lists stay one query per page, the vault never shows a code, forms explain errors."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from itertools import count
from typing import Any, cast

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core import checks
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dispatch import crypto
from dispatch.admin.domain import DepotAdmin
from dispatch.models import (
    AccessCredential,
    AccessRevealAudit,
    Address,
    ApiToken,
    Depot,
    Driver,
    DriverInstruction,
    DriverSignInCode,
    LocationBatch,
    Order,
    PickupPoint,
    ReasonCode,
    Recipient,
    Run,
    ScanEvent,
    Stop,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from dispatch.services import api_token_issue, instruction_push
from dispatch.services.locations import Ping, locations_record
from dispatch.services.sign_in import sign_in_code_issue
from tests.factories import (
    AccessCredentialFactory,
    AddressFactory,
    DriverFactory,
    ExceptionCaseFactory,
    OrderFactory,
    RecipientFactory,
    RunFactory,
    ScanEventFactory,
    StopFactory,
    UserFactory,
)
from tests.helpers import form_data

SECRET = "7391#"

DISPATCH_ADMINS = sorted(
    (
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label == "dispatch"
    ),
    key=lambda pair: pair[0]._meta.model_name or "",
)
DISPATCH_MODELS = [model for model, _ in DISPATCH_ADMINS]
MODEL_IDS = [model._meta.model_name or "" for model in DISPATCH_MODELS]


def url(model: type[Model], view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def queries_to_get(client: Client, page: str) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(page)
    assert response.status_code == 200
    return len(context.captured_queries)


@pytest.fixture
def world(chicago, dave, alice) -> dict[type[Model], Model]:
    """One saved row of every dispatch model, all connected."""
    scan = ScanEventFactory(stop__run__driver=dave)
    stop = scan.stop
    order = stop.order
    credential = AccessCredentialFactory(address=order.address, secret=SECRET)
    assert scan.reason_code is not None
    endpoint = WebhookEndpoint.objects.create(
        name="CRM", url="https://crm.example.com/hooks", secret="s" * 16, events=["scan.failed"]
    )
    return {
        AccessRevealAudit: AccessRevealAudit.objects.create(user=dave.user, stop=stop, result="granted"),
        ApiToken: api_token_issue(user=dave.user, kind="driver", name="phone")[0],
        DriverInstruction: instruction_push(driver=dave, kind="note", text="Dock 3 closed", stop=stop),
        DriverSignInCode: sign_in_code_issue(driver=dave, issued_by=alice)[0],
        LocationBatch: locations_record(driver=dave, pings=[Ping(timezone.now(), 41.9, -87.6)]),
        WebhookEndpoint: endpoint,
        WebhookDelivery: WebhookDelivery.objects.create(endpoint=endpoint, event="scan.failed", payload={}),
        AccessCredential: credential,
        Address: order.address,
        Depot: chicago,
        Driver: dave,
        Order: order,
        PickupPoint: PickupPoint.objects.create(depot=chicago, name="Walgreens", address="1550 N Ashland Ave"),
        ReasonCode: scan.reason_code,
        Recipient: order.recipient,
        Run: stop.run,
        ScanEvent: scan,
        Stop: stop,
        User: alice,
    }


_serial = count(1)


def _more_users(world: dict[type[Model], Model]) -> None:
    user = UserFactory()
    user.groups.set(world[User].groups.all())  # type: ignore[attr-defined]
    user.depots.add(world[Depot])


MORE_ROWS: dict[type[Model], Callable[[dict[type[Model], Model]], object]] = {
    AccessCredential: lambda world: AccessCredentialFactory(),
    Address: lambda world: AccessCredentialFactory().address,
    Depot: lambda world: DriverFactory().depot,
    Driver: lambda world: DriverFactory(depot=world[Depot]),
    Order: lambda world: OrderFactory(depot=world[Depot]),
    PickupPoint: lambda world: PickupPoint.objects.create(
        depot=DriverFactory().depot, name=f"Locker {next(_serial)}", address="200 W Adams St"
    ),
    ReasonCode: lambda world: ReasonCode.objects.create(code=f"TEST_{next(_serial)}", label="Test", category="access"),
    Recipient: lambda world: RecipientFactory(),
    Run: lambda world: StopFactory().run,
    ScanEvent: lambda world: ScanEventFactory(),
    Stop: lambda world: StopFactory(),
    User: _more_users,
    AccessRevealAudit: lambda world: AccessRevealAudit.objects.create(
        user=UserFactory(), stop=StopFactory(), result="no_code"
    ),
    ApiToken: lambda world: api_token_issue(
        user=UserFactory(), kind="integration", name="x", depot=cast(Depot, world[Depot])
    ),
    DriverInstruction: lambda world: instruction_push(
        driver=DriverFactory(), kind="note", text="x", stop=StopFactory()
    ),
    LocationBatch: lambda world: locations_record(driver=DriverFactory(), pings=[Ping(timezone.now(), 41.8, -87.7)]),
    DriverSignInCode: lambda world: sign_in_code_issue(driver=DriverFactory(), issued_by=None)[0],
    WebhookEndpoint: lambda world: WebhookEndpoint.objects.create(
        name="WMS", url="https://wms.example.com/h", secret="t" * 16, events=["case.opened"], depot_id=world[Depot].pk
    ),
    WebhookDelivery: lambda world: WebhookDelivery.objects.create(
        endpoint_id=world[WebhookEndpoint].pk, event="scan.failed", payload={"a": 1}
    ),
}


def test_it_registers_every_dispatch_model():
    inlines = {inline.model for _, model_admin in DISPATCH_ADMINS for inline in model_admin.inlines}
    assert set(DISPATCH_MODELS) | inlines == set(apps.get_app_config("dispatch").get_models())
    assert set(MORE_ROWS) == set(DISPATCH_MODELS)


def test_it_passes_the_admin_system_checks():
    errors = [message for message in checks.run_checks() if message.level >= checks.ERROR]
    assert errors == []


@pytest.mark.parametrize("model", DISPATCH_MODELS, ids=MODEL_IDS)
def test_it_renders_every_page_for_a_superuser(admin_client_, admin_user, world, rf, model):
    obj = world[model]
    model_admin = admin.site._registry[model]
    request = rf.get("/")
    request.user = admin_user

    changelist = admin_client_.get(url(model, "changelist"))
    change = admin_client_.get(url(model, "change", obj.pk))
    add = admin_client_.get(url(model, "add"))

    assert changelist.status_code == 200
    assert change.status_code == 200
    assert str(obj) in changelist.text or url(model, "change", obj.pk) in changelist.text
    assert add.status_code == (200 if model_admin.has_add_permission(request) else 403)


@pytest.mark.parametrize("model", DISPATCH_MODELS, ids=MODEL_IDS)
def test_it_lists_each_model_in_a_fixed_number_of_queries(admin_client_, world, model):
    page = url(model, "changelist")
    admin_client_.get(page)  # warm per-process caches (content types, site)
    with_one_row = queries_to_get(admin_client_, page)

    for _ in range(3):
        MORE_ROWS[model](world)

    assert queries_to_get(admin_client_, page) == with_one_row


def _more_children(model: type[Model], world: dict[type[Model], Model]) -> None:
    """Rows that appear in an inline of world[model]."""
    if model is Run:
        StopFactory(run=world[Run])
    elif model is Address:
        AccessCredentialFactory(address=world[Address])
    elif model is Stop:
        ScanEventFactory(stop=world[Stop], driver=world[Driver])
    elif model is Driver:
        RunFactory(driver=world[Driver], service_date=timezone.now().date() + dt.timedelta(days=next(_serial)))
    elif model is Order:
        # Earlier runs of the same order: no longer active, so the one-active-stop rule holds.
        StopFactory(order=world[Order], status=Stop.Status.RESCHEDULED, run__driver__depot=world[Depot])


@pytest.mark.parametrize("model", [Run, Address, Stop, Driver, Order], ids=lambda model: model._meta.model_name)
def test_it_renders_inlines_in_a_fixed_number_of_queries(admin_client_, world, model):
    page = url(model, "change", world[model].pk)
    admin_client_.get(page)
    with_one_child = queries_to_get(admin_client_, page)

    for _ in range(3):
        _more_children(model, world)

    assert queries_to_get(admin_client_, page) == with_one_child


def test_it_autocompletes_every_autocomplete_field(admin_client_, world):
    seen = 0
    for model, model_admin in DISPATCH_ADMINS:
        for field_name in model_admin.autocomplete_fields:
            target = model._meta.get_field(field_name).related_model
            response = admin_client_.get(
                reverse("admin:autocomplete"),
                {"app_label": "dispatch", "model_name": model._meta.model_name, "field_name": field_name},
            )
            assert response.status_code == 200, (model, field_name)
            assert str(world[target].pk) in {row["id"] for row in response.json()["results"]}
            seen += 1
    assert seen >= 6


def test_it_counts_drivers_dispatchers_and_open_orders_per_depot(rf, admin_user, chicago, milwaukee, alice, dave, erin):
    OrderFactory(depot=chicago)
    OrderFactory(depot=chicago, status=Order.Status.DELIVERED)
    DriverFactory(depot=chicago, active=False)
    request = rf.get("/")
    request.user = admin_user

    depots = {depot.code: depot for depot in DepotAdmin(Depot, admin.site).get_queryset(request)}

    assert depots["chi-west"].active_driver_count == 2  # type: ignore[attr-defined]
    assert depots["chi-west"].dispatcher_count == 1  # type: ignore[attr-defined]
    assert depots["chi-west"].open_order_count == 1  # type: ignore[attr-defined]
    assert depots["mke"].active_driver_count == 0  # type: ignore[attr-defined]


def test_it_saves_a_run_and_edits_its_stops_inline(admin_client_, world):
    run, stop = world[Run], world[Stop]
    page = url(Run, "change", run.pk)
    data = form_data(admin_client_, page, Run, status=Run.Status.IN_PROGRESS, **{"stops-0-status": "arrived"})

    response = admin_client_.post(page, data)

    assert response.status_code == 302
    run.refresh_from_db()
    stop.refresh_from_db()
    assert run.status == Run.Status.IN_PROGRESS
    assert stop.status == Stop.Status.ARRIVED


def test_it_assigns_depots_on_the_user_page(admin_client_, alice, milwaukee):
    page = url(User, "change", alice.pk)
    data = form_data(admin_client_, page, User)
    assert data["depots"] == [str(alice.depots.get().pk)]
    data["depots"] = [str(milwaukee.pk)]

    response = admin_client_.post(page, data)

    assert response.status_code == 302
    assert list(alice.depots.all()) == [milwaukee]


# --- The vault ------------------------------------------------------------------------------------------------------


def test_it_never_shows_the_secret(admin_client_, world):
    credential = world[AccessCredential]
    pages = {
        "changelist": admin_client_.get(url(AccessCredential, "changelist")),
        "change form": admin_client_.get(url(AccessCredential, "change", credential.pk)),
        "address inline": admin_client_.get(url(Address, "change", credential.address_id)),
        "history": admin_client_.get(url(AccessCredential, "history", credential.pk)),
        "delete": admin_client_.get(url(AccessCredential, "delete", credential.pk)),
    }

    for name, response in pages.items():
        assert response.status_code == 200, name
        assert SECRET not in response.text, name
    assert "set" in pages["change form"].text
    assert 'name="secret"' in pages["change form"].text
    assert 'name="access_credentials-0-secret"' in pages["address inline"].text


def test_it_never_shows_the_secret_to_someone_who_can_only_view(client, world):
    viewer = UserFactory(username="auditor", is_staff=True)
    viewer.user_permissions.set(
        Permission.objects.filter(
            codename__in=["view_accesscredential", "view_address"], content_type__app_label="dispatch"
        )
    )
    credential = world[AccessCredential]
    # A viewer of the depot the address is delivered for (admin shows other users only their depots).
    viewer.depots.set(Depot.objects.filter(orders__address_id=credential.address_id).distinct())
    client.force_login(viewer)

    pages = [
        client.get(url(AccessCredential, "changelist")),
        client.get(url(AccessCredential, "change", credential.pk)),
        client.get(url(Address, "change", credential.address_id)),
    ]

    for response in pages:
        assert response.status_code == 200
        assert SECRET not in response.text
        assert not re.search(r'name="[^"]*secret"', response.text)


def _raw_secret(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM dispatch_accesscredential WHERE id = %s", [pk])
        return str(cursor.fetchone()[0])


def test_it_stores_a_code_added_in_the_admin_encrypted(admin_client_, world):
    address = world[Address]
    page = url(AccessCredential, "add")
    data = form_data(admin_client_, page, AccessCredential, address=str(address.pk), kind="door", secret=SECRET)

    response = admin_client_.post(page, data)

    assert response.status_code == 302
    credential = AccessCredential.objects.exclude(pk=world[AccessCredential].pk).get()
    raw = _raw_secret(credential.pk)
    assert raw.startswith("gAAAAA")  # a Fernet token
    assert "7391" not in raw
    assert crypto.decrypt(raw) == SECRET
    assert credential.secret == SECRET
    assert credential.address == address


def test_it_requires_a_code_when_adding(admin_client_, world):
    page = url(AccessCredential, "add")
    data = form_data(admin_client_, page, AccessCredential, address=str(world[Address].pk), secret="")

    response = admin_client_.post(page, data)

    assert response.status_code == 200
    assert "This field is required." in response.text
    assert AccessCredential.objects.count() == 1


def test_it_keeps_the_code_when_a_change_leaves_it_blank(admin_client_, world):
    credential = world[AccessCredential]
    page = url(AccessCredential, "change", credential.pk)
    data = form_data(admin_client_, page, AccessCredential, kind="lockbox")
    assert data["secret"] == [""]

    response = admin_client_.post(page, data)

    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.kind == AccessCredential.Kind.LOCKBOX
    assert credential.secret == SECRET


def test_it_replaces_the_code_when_a_change_gives_one(admin_client_, world):
    credential = world[AccessCredential]
    page = url(AccessCredential, "change", credential.pk)

    response = admin_client_.post(page, form_data(admin_client_, page, AccessCredential, secret="2580*"))

    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.secret == "2580*"
    assert "2580" not in _raw_secret(credential.pk)


def test_it_adds_codes_through_the_address_inline_and_keeps_blank_ones(admin_client_, world):
    credential = world[AccessCredential]
    address = world[Address]
    page = url(Address, "change", address.pk)
    data = form_data(admin_client_, page, Address)
    data.update(
        {
            "access_credentials-TOTAL_FORMS": "2",
            "access_credentials-1-kind": "concierge",
            "access_credentials-1-source": "admin",
            "access_credentials-1-secret": "Ask for Sam, code 55#",
            "access_credentials-1-address": str(address.pk),
        }
    )

    response = admin_client_.post(page, data)

    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.secret == SECRET
    added = address.access_credentials.get(kind=AccessCredential.Kind.CONCIERGE)
    assert added.secret == "Ask for Sam, code 55#"
    assert "Sam" not in _raw_secret(added.pk)


# --- Validation ------------------------------------------------------------------------------------------------------


def test_it_rejects_an_invalid_phone_with_a_readable_message(admin_client_):
    page = url(Recipient, "add")
    data = form_data(admin_client_, page, Recipient, name="Pat Doe", phone="12345")

    response = admin_client_.post(page, data)

    assert response.status_code == 200
    assert "Enter a valid phone number" in response.text
    assert not Recipient.objects.exists()


def test_it_rejects_an_order_window_that_ends_before_it_starts(admin_client_, chicago):
    recipient, address = RecipientFactory(), AddressFactory()
    page = url(Order, "add")
    data = form_data(
        admin_client_,
        page,
        Order,
        reference="LM-40001",
        depot=str(chicago.pk),
        recipient=str(recipient.pk),
        address=str(address.pk),
        window_start_0="2026-05-04",
        window_start_1="15:00:00",
        window_end_0="2026-05-04",
        window_end_1="13:00:00",
    )

    response = admin_client_.post(page, data)

    assert response.status_code == 200
    assert "The window must start before it ends." in response.text
    assert not Order.objects.exists()


def test_it_rejects_a_run_shift_that_ends_before_it_starts(admin_client_, dave):
    page = url(Run, "add")
    data = form_data(
        admin_client_,
        page,
        Run,
        depot=str(dave.depot_id),
        driver=str(dave.pk),
        service_date="2026-05-04",
        shift_start_0="2026-05-04",
        shift_start_1="17:00:00",
        shift_end_0="2026-05-04",
        shift_end_1="08:00:00",
    )

    response = admin_client_.post(page, data)

    assert response.status_code == 200
    assert "The shift must start before it ends." in response.text
    assert not Run.objects.exists()


def test_it_rejects_a_latitude_off_the_globe(admin_client_):
    page = url(Address, "add")
    data = form_data(
        admin_client_,
        page,
        Address,
        line1="1 N State St",
        city="Chicago",
        postal_code="60602",
        latitude="200",
        longitude="-87.6",
    )

    response = admin_client_.post(page, data)

    assert response.status_code == 200
    assert "Latitude must be between -90 and 90." in response.text
    assert not Address.objects.exists()


# --- Scans and roles -------------------------------------------------------------------------------------------------


def test_it_shows_scans_read_only(admin_client_, world):
    scan = world[ScanEvent]
    page = url(ScanEvent, "change", scan.pk)

    response = admin_client_.get(page)

    assert response.status_code == 200
    assert scan.idempotency_key in response.text
    assert 'name="outcome"' not in response.text
    assert 'name="_save"' not in response.text
    assert admin_client_.post(page, {"outcome": "delivered"}).status_code == 403
    assert admin_client_.get(url(ScanEvent, "add")).status_code == 403
    assert admin_client_.get(url(ScanEvent, "delete", scan.pk)).status_code == 403


def test_it_lets_a_dispatcher_see_orders_but_not_the_vault(client, alice, world):
    client.force_login(alice)

    assert client.get(url(Order, "changelist")).status_code == 200
    assert client.get(url(AccessCredential, "changelist")).status_code == 403
    assert client.get(url(AccessCredential, "change", world[AccessCredential].pk)).status_code == 403
    address_page = client.get(url(Address, "change", world[Address].pk))
    assert address_page.status_code == 200
    assert "access_credentials" not in address_page.text
    assert SECRET not in address_page.text


def test_admin_shows_times_in_the_depots_zone_as_the_board_does(admin_client, chicago):
    opened = dt.datetime(2026, 11, 18, 16, 0, tzinfo=dt.UTC)  # 10:00 in Chicago
    case = ExceptionCaseFactory(scan__stop__run__depot=chicago, scan__stop__run__driver__depot=chicago)
    type(case).objects.filter(pk=case.pk).update(opened_at=opened, depot=chicago)

    page = admin_client.get(reverse("admin:exceptions_exceptioncase_changelist")).content.decode()

    assert "Nov 18, 10:00" in page
    assert "16:00" not in page
