"""Hostile bodies get a clear 400 and change nothing, on every kind of JSON endpoint."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from dispatch.models import ApiToken, ScanEvent
from tests.factories import ExceptionCaseFactory, StopFactory, UserFactory
from tests.helpers import client_for, signed_in

pytestmark = pytest.mark.django_db

# 200 KB that nests a hundred thousand levels deep: past the interpreter's recursion limit.
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def integration(chicago) -> APIClient:
    return client_for(UserFactory(username="planner"), ApiToken.Kind.INTEGRATION)


def test_a_deeply_nested_body_is_a_400_for_the_driver_app(dave):
    stop = StopFactory(run__driver=dave)
    api = client_for(dave.user)

    for path in (f"/api/v1/driver/stops/{stop.pk}/scans", "/api/v1/driver/locations"):
        response = api.post(path, DEEP, content_type="application/json", HTTP_IDEMPOTENCY_KEY="deep")
        assert response.status_code == 400, path
        assert response.json()["code"] == "parse_error"
        assert "nested too deeply" in response.json()["detail"]
    assert not ScanEvent.objects.exists()


@pytest.mark.parametrize("path", ["/api/v1/plans", "/api/v1/recipients/import"])
def test_a_deeply_nested_body_is_a_400_for_an_integration(integration, path):
    response = integration.post(path, DEEP, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_a_deeply_nested_body_is_a_400_on_the_board(alice, dave):
    case = ExceptionCaseFactory(scan__stop__run__driver=dave)
    desk = signed_in(alice)

    response = desk.post(f"/api/v1/board/cases/{case.pk}/message", DEEP, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
