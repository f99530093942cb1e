"""Admin shows a dispatcher only the depots they work: lists, change pages, and every operational model."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from dispatch.admin.scoping import DepotScopedAdmin
from dispatch.models import AccessRevealAudit, DriverInstruction, Order, ScanEvent
from exceptions.models import ExceptionCase, StopRisk
from outreach.models import Conversation, Message
from routing.models import PlanVersion
from tests.factories import StopFactory, UserFactory
from tests.helpers import fail, form_data

pytestmark = pytest.mark.django_db

# Shared configuration, the same for every depot, or never shown to dispatchers at all.
NOT_DEPOT_DATA = {
    "auth.group",
    "dispatch.user",
    "dispatch.apitoken",
    "dispatch.accesscredential",
    "dispatch.reasoncode",
    "dispatch.webhookendpoint",
    "dispatch.webhookdelivery",
    "exceptions.escalationrule",
    "exceptions.playbook",
    "exceptions.costmodel",
    "exceptions.preventionsettings",
    "outreach.messagetemplate",
    "routing.routingsettings",
}


def _label(model) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


def test_every_operational_admin_is_scoped_to_the_users_depots():
    product_apps = {"dispatch", "exceptions", "outreach", "routing", "auth"}
    unscoped = sorted(
        _label(model)
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in product_apps
        and not isinstance(model_admin, DepotScopedAdmin)
        and _label(model) not in NOT_DEPOT_DATA
    )
    assert unscoped == [], f"Scope these admins with DepotScopedAdmin or list them as shared: {unscoped}"


@pytest.fixture
def two_depots(dave, oscar, alice):
    """A failed stop with its case, conversation and timeline in Chicago (Alice's) and in Milwaukee."""
    rows = {}
    for name, driver in (("chicago", dave), ("milwaukee", oscar)):
        stop = StopFactory(run__driver=driver, run__depot=driver.depot)
        case = fail(stop, "ACCESS_DENIED")
        conversation = Conversation.objects.create(case=case, recipient=stop.order.recipient)
        Message.objects.create(
            conversation=conversation, direction="outbound", body="What is the gate code?", idempotency_key=name
        )
        DriverInstruction.objects.create(driver=driver, seq=1, stop=stop, kind="note", text="Ring twice.")
        AccessRevealAudit.objects.create(user=driver.user, stop=stop, result="no_code")
        StopRisk.objects.create(stop=stop, score=0.4, reasons=[], missing=[])
        PlanVersion.objects.create(run=stop.run, version=2, operation="resequence", requested_by="test")
        rows[name] = stop
    return rows


def _objects(stop):
    """Each scoped model's row for this stop."""
    case = ExceptionCase.objects.get(stop=stop)
    return {
        "dispatch.depot": stop.run.depot,
        "dispatch.driver": stop.run.driver,
        "dispatch.run": stop.run,
        "dispatch.stop": stop,
        "dispatch.order": stop.order,
        "dispatch.recipient": stop.order.recipient,
        "dispatch.address": stop.order.address,
        "dispatch.scanevent": ScanEvent.objects.get(stop=stop),
        "dispatch.driverinstruction": DriverInstruction.objects.get(stop=stop),
        "dispatch.locationbatch": None,
        "dispatch.accessrevealaudit": AccessRevealAudit.objects.get(stop=stop),
        "exceptions.exceptioncase": case,
        "exceptions.stoprisk": StopRisk.objects.get(stop=stop),
        "outreach.conversation": case.conversation,
        "outreach.message": Message.objects.get(conversation__case=case),
        "routing.planversion": PlanVersion.objects.get(run=stop.run),
    }


def test_a_dispatcher_sees_only_their_depots_rows_in_every_list_and_page(client, alice, two_depots):
    client.force_login(alice)
    mine, theirs = _objects(two_depots["chicago"]), _objects(two_depots["milwaukee"])
    checked = 0
    for label, obj in mine.items():
        if obj is None:
            continue
        app, model = label.split(".")
        changelist = client.get(reverse(f"admin:{app}_{model}_changelist"))
        assert changelist.status_code == 200, label
        shown = {row.pk for row in changelist.context["cl"].result_list}
        assert obj.pk in shown, label
        assert theirs[label].pk not in shown, label
        page = client.get(reverse(f"admin:{app}_{model}_change", args=[theirs[label].pk]))
        assert page.status_code == 302, label  # "not found": back to the admin index
        assert client.get(reverse(f"admin:{app}_{model}_change", args=[obj.pk])).status_code == 200, label
        checked += 1
    assert checked == 15


@pytest.mark.parametrize("label", ["dispatch.order", "dispatch.stop", "dispatch.recipient"])
def test_a_dispatcher_cannot_change_another_depots_rows_in_admin(client, alice, two_depots, label):
    # The models a dispatcher may change in admin (dispatch.roles.DISPATCHER_CHANGE_MODELS), posted for Milwaukee.
    client.force_login(alice)
    theirs = _objects(two_depots["milwaukee"])[label]
    theirs.refresh_from_db()
    before = {field.attname: getattr(theirs, field.attname) for field in type(theirs)._meta.concrete_fields}
    app, model = label.split(".")

    response = client.post(reverse(f"admin:{app}_{model}_change", args=[theirs.pk]), {"name": "Taken Over"})

    assert response.status_code == 302  # "not found": back to the admin index, nothing saved
    theirs.refresh_from_db()
    assert {field.attname: getattr(theirs, field.attname) for field in type(theirs)._meta.concrete_fields} == before


def test_an_admin_sees_every_depot(client, two_depots):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    shown = {row.pk for row in client.get(reverse("admin:dispatch_order_changelist")).context["cl"].result_list}
    assert {two_depots["chicago"].order_id, two_depots["milwaukee"].order_id} <= shown


def test_a_dispatcher_sees_phone_numbers_masked_in_admin_and_cannot_change_them(alice, admin_user, dave):
    stop = StopFactory(run__driver=dave, order__recipient__phone="+17735550142")
    recipient = stop.order.recipient
    recipient.alt_phone = "+17735550177"
    recipient.save()
    dispatcher, admin_client = Client(), Client()
    dispatcher.force_login(alice)
    admin_client.force_login(admin_user)
    pages = [
        reverse("admin:dispatch_recipient_changelist"),
        reverse("admin:dispatch_recipient_change", args=[recipient.pk]),
        reverse("admin:dispatch_driver_changelist"),
        reverse("admin:dispatch_driver_change", args=[dave.pk]),
    ]
    whole = ("7735550142", "773) 555-0142", "7735550177", str(dave.phone)[2:])

    for page in pages:
        seen = dispatcher.get(page).content.decode()
        assert not [number for number in whole if number in seen], page
        assert "••••" in seen, page
    assert "7735550142" in admin_client.get(pages[1]).content.decode().replace(" ", "").replace("-", "")

    form = dispatcher.get(pages[1]).context["adminform"].form
    assert "phone" not in form.fields
    assert "alt_phone" not in form.fields


def test_a_dispatcher_cannot_point_their_order_at_another_depots_rows(client, alice, two_depots):
    client.force_login(alice)
    ours, theirs = two_depots["chicago"].order, two_depots["milwaukee"].order
    page = reverse("admin:dispatch_order_change", args=[ours.pk])
    form = client.get(page).context["adminform"].form
    for field, other in (("depot", theirs.depot), ("recipient", theirs.recipient), ("address", theirs.address)):
        assert not form.fields[field].queryset.filter(pk=other.pk).exists(), field

    for field, other in (
        ("depot", theirs.depot_id),
        ("recipient", theirs.recipient_id),
        ("address", theirs.address_id),
    ):
        response = client.post(page, form_data(client, page, Order, **{field: str(other)}))

        assert response.status_code == 200, field  # the form again, with the error
        assert field in response.context["adminform"].form.errors, field
        ours.refresh_from_db()
        assert getattr(ours, f"{field}_id") != other, field
