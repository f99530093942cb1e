from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from dispatch import models
from tests.factories import RecipientFactory

pytestmark = pytest.mark.django_db


def test_it_stores_phones_in_e164():
    recipient = RecipientFactory(phone="(312) 555-0142")
    recipient.refresh_from_db()
    assert str(recipient.phone) == "+13125550142"
    assert models.Recipient.objects.filter(phone="+13125550142").exists()


def test_it_rejects_an_invalid_phone_with_a_readable_message():
    recipient = RecipientFactory.build(phone="555-12")
    with pytest.raises(ValidationError) as caught:
        recipient.full_clean()
    assert caught.value.message_dict["phone"] == ["The phone number entered is not valid."]


def test_it_defaults_to_quiet_hours_from_nine_to_eight():
    recipient = RecipientFactory()
    assert (recipient.quiet_hours_start, recipient.quiet_hours_end) == (dt.time(21), dt.time(8))


def test_it_knows_a_first_name():
    assert RecipientFactory.build(name="Maria Lopez Garcia").first_name == "Maria"
