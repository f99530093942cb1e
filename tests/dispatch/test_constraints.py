"""The rules the database enforces on its own, whatever code writes the rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from dispatch import models
from tests.factories import (
    AddressFactory,
    OrderFactory,
    RecipientFactory,
    RunFactory,
    ScanEventFactory,
    StopFactory,
    local,
)

pytestmark = pytest.mark.django_db


def test_it_rejects_a_duplicate_order_reference_in_a_depot(chicago, milwaukee):
    OrderFactory(reference="LM-88204", depot=chicago)
    OrderFactory(reference="LM-88204", depot=milwaukee)  # another depot's order: its own namespace
    with pytest.raises(IntegrityError, match="order_unique_reference_in_depot"), transaction.atomic():
        OrderFactory(reference="LM-88204", depot=chicago)


def test_it_rejects_a_duplicate_crm_id_in_a_depot(chicago, milwaukee):
    RecipientFactory(external_id="CRM-1", depot=chicago)
    AddressFactory(external_ref="A-1", depot=chicago)
    RecipientFactory(external_id="CRM-1", depot=milwaukee)
    AddressFactory(external_ref="A-1", depot=milwaukee)
    RecipientFactory(external_id=None, depot=chicago)
    RecipientFactory(external_id=None, depot=chicago)  # no id is no clash
    with pytest.raises(IntegrityError, match="recipient_unique_external_id_in_depot"), transaction.atomic():
        RecipientFactory(external_id="CRM-1", depot=chicago)
    with pytest.raises(IntegrityError, match="address_unique_external_ref_in_depot"), transaction.atomic():
        AddressFactory(external_ref="A-1", depot=chicago)


def test_an_order_keeps_to_its_depots_recipient_and_address(chicago, milwaukee):
    order = OrderFactory.build(
        depot=chicago, recipient=RecipientFactory(depot=milwaukee), address=AddressFactory(depot=milwaukee)
    )
    with pytest.raises(ValidationError) as caught:
        order.clean()
    assert caught.value.message_dict == {
        "recipient": ["This recipient belongs to another depot."],
        "address": ["This address belongs to another depot."],
    }


def test_it_rejects_an_order_window_that_ends_before_it_starts():
    with pytest.raises(IntegrityError, match="order_window_start_before_end"), transaction.atomic():
        OrderFactory(window_start=local(14), window_end=local(12))


def test_it_explains_a_backwards_window_in_validation():
    order = OrderFactory.build(window_start=local(14), window_end=local(12))
    with pytest.raises(ValidationError) as caught:
        order.full_clean(exclude=["depot", "recipient", "address"])
    assert "The window must start before it ends." in caught.value.messages


def test_it_rejects_a_shift_that_ends_before_it_starts():
    with pytest.raises(IntegrityError, match="run_shift_start_before_end"), transaction.atomic():
        RunFactory(shift_start=local(17), shift_end=local(8))


def test_it_allows_one_stop_per_order_per_run():
    stop = StopFactory(status=models.Stop.Status.DELIVERED)
    with pytest.raises(IntegrityError, match="stop_one_per_order_per_run"), transaction.atomic():
        StopFactory(run=stop.run, order=stop.order, sequence=99, status=models.Stop.Status.DELIVERED)


def test_it_allows_only_one_active_stop_per_order():
    first = StopFactory()
    later_run = RunFactory(driver=first.run.driver, shift_start=local(18), shift_end=local(21))
    with pytest.raises(IntegrityError, match="stop_one_active_per_order"), transaction.atomic():
        StopFactory(run=later_run, order=first.order)


def test_it_lets_a_rescheduled_order_have_a_new_active_stop():
    first = StopFactory(status=models.Stop.Status.RESCHEDULED)
    later_run = RunFactory(driver=first.run.driver, shift_start=local(18), shift_end=local(21))
    StopFactory(run=later_run, order=first.order)
    assert first.order.stops.count() == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_keeps_sequences_unique_within_a_run_at_commit():
    stop = StopFactory(sequence=1)
    with pytest.raises(IntegrityError, match="stop_sequence_unique_in_run"), transaction.atomic():
        StopFactory(run=stop.run, sequence=1)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_lets_a_resequence_swap_positions_inside_one_transaction():
    a = StopFactory(sequence=1)
    b = StopFactory(run=a.run, sequence=2)
    with transaction.atomic():
        models.Stop.objects.filter(pk=a.pk).update(sequence=2)
        models.Stop.objects.filter(pk=b.pk).update(sequence=1)
    assert list(a.run.stops.order_by("sequence").values_list("pk", flat=True)) == [b.pk, a.pk]


def test_it_rejects_a_latitude_off_the_globe():
    with pytest.raises(IntegrityError, match="address_latitude_range"), transaction.atomic():
        AddressFactory(latitude=200)


def test_it_explains_a_latitude_off_the_globe_in_validation():
    address = AddressFactory.build(latitude=200)
    with pytest.raises(ValidationError) as caught:
        address.full_clean()
    assert "latitude" in caught.value.message_dict
    assert "Latitude must be between -90 and 90." in caught.value.message_dict["latitude"]


def test_it_rejects_a_failed_scan_without_a_reason():
    with pytest.raises(IntegrityError, match="scan_failed_has_reason"), transaction.atomic():
        ScanEventFactory(reason_code=None)


def test_it_accepts_a_delivered_scan_without_a_reason():
    scan = ScanEventFactory(outcome=models.ScanEvent.Outcome.DELIVERED, reason_code=None)
    assert scan.pk


def test_it_keeps_scan_idempotency_keys_unique_per_driver():
    scan = ScanEventFactory(idempotency_key="k-1")
    with pytest.raises(IntegrityError, match="scan_idempotency_per_driver"), transaction.atomic():
        ScanEventFactory(stop=scan.stop, driver=scan.driver, idempotency_key="k-1")


def test_it_allows_the_same_idempotency_key_for_another_driver():
    ScanEventFactory(idempotency_key="k-1")
    assert ScanEventFactory(idempotency_key="k-1").pk


def test_it_rejects_a_half_known_driver_position(dave):
    dave.last_latitude = 41.9
    with pytest.raises(IntegrityError, match="driver_position_complete"), transaction.atomic():
        dave.save()


def test_it_rejects_a_negative_declared_value():
    with pytest.raises(IntegrityError, match="order_value_not_negative"), transaction.atomic():
        OrderFactory(declared_value=-1)


def test_it_rejects_a_credential_valid_to_before_valid_from():
    from tests.factories import AccessCredentialFactory

    now = local(12)
    with pytest.raises(IntegrityError, match="access_credential_validity_start_before_end"), transaction.atomic():
        AccessCredentialFactory(valid_from=now, valid_to=now - dt.timedelta(days=1))


def test_it_explains_a_run_whose_driver_is_from_another_depot(oscar, chicago):
    run = RunFactory.build(driver=oscar, depot=chicago)
    with pytest.raises(ValidationError) as caught:
        run.full_clean()
    assert caught.value.message_dict["driver"] == ["This driver belongs to another depot."]


def test_it_explains_a_stop_whose_order_is_from_another_depot(milwaukee):
    run = RunFactory()
    stop = StopFactory.build(run=run, order=OrderFactory(depot=milwaukee), sequence=1)
    with pytest.raises(ValidationError) as caught:
        stop.full_clean()
    assert caught.value.message_dict["order"] == ["This order belongs to another depot than the run."]
