"""The reason codes a driver's app offers, and which need a photo: read from the API, not learned from a 400."""

from __future__ import annotations

import pytest

from dispatch.models import ReasonCode
from tests.helpers import client_for

pytestmark = pytest.mark.django_db
URL = "/api/v1/driver/reason-codes"


def test_a_driver_reads_the_active_reason_codes_and_which_need_a_photo(dave):
    ReasonCode.objects.filter(code="BUSINESS_CLOSED").update(active=False)

    response = client_for(dave.user).get(URL)

    assert response.status_code == 200
    codes = {row["code"]: row for row in response.json()["reason_codes"]}
    assert set(codes) == set(ReasonCode.objects.filter(active=True).values_list("code", flat=True))
    assert "BUSINESS_CLOSED" not in codes
    assert codes["DAMAGED"]["photo_required"] is True
    assert codes["ACCESS_DENIED"]["photo_required"] is False
    assert list(codes) == sorted(codes)
    assert set(codes["ACCESS_DENIED"]) == {"code", "label", "category", "photo_required", "description"}


def test_it_is_for_drivers(client):
    response = client.get(URL)
    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"
    assert "reason_codes" not in response.json()
