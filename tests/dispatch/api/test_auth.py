"""Who may call the driver API at all."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from dispatch.models import ApiToken
from dispatch.services import api_token_revoke
from tests.helpers import client_for

pytestmark = pytest.mark.django_db

REFUSED_TOKEN = {"detail": "Invalid or expired token.", "code": "authentication_failed"}
NOT_FOR_DRIVERS = {"detail": "This endpoint is for the driver app: use a driver token.", "code": "permission_denied"}


def test_it_refuses_a_request_without_a_token(dave_run):
    response = APIClient().get("/api/v1/driver/run")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_refuses_an_unknown_token(dave_run):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-real-token")
    response = client.get("/api/v1/driver/run")
    assert response.status_code == 401
    assert response.json() == REFUSED_TOKEN
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_refuses_a_revoked_token(dave):
    client = client_for(dave.user)
    token = ApiToken.objects.get(user=dave.user)
    api_token_revoke(token=token)
    response = client.get("/api/v1/driver/run")
    assert response.status_code == 401
    assert response.json() == REFUSED_TOKEN
    # A refused token is not marked used.
    assert ApiToken.objects.get(pk=token.pk).last_used_at is None


def test_it_refuses_an_expired_token(dave):
    client = client_for(dave.user)
    ApiToken.objects.filter(user=dave.user).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    response = client.get("/api/v1/driver/run")
    assert response.status_code == 401
    assert response.json() == REFUSED_TOKEN
    assert ApiToken.objects.get(user=dave.user).last_used_at is None


def test_it_stores_only_a_hash_of_the_key(dave):
    from dispatch.services import api_token_issue

    token, key = api_token_issue(user=dave.user, kind=ApiToken.Kind.DRIVER, name="phone")
    assert key not in token.key_hash
    assert token.prefix == key[:8]
    assert not ApiToken.objects.filter(key_hash=key).exists()


def test_it_refuses_a_dispatchers_token_on_driver_endpoints(alice, dave_run):
    client = client_for(alice, kind=ApiToken.Kind.INTEGRATION)
    stop = dave_run.stops.first()
    response = client.post(
        f"/api/v1/driver/stops/{stop.pk}/scans",
        {"outcome": "failed", "reason_code": "ACCESS_DENIED", "device_time": timezone.now().isoformat()},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert response.status_code == 403
    assert stop.scans.count() == 0


def test_it_refuses_a_driver_token_for_a_user_who_is_not_a_driver(alice):
    client = client_for(alice)
    response = client.get("/api/v1/driver/run")
    assert response.status_code == 403
    assert response.json() == NOT_FOR_DRIVERS


def test_it_refuses_an_inactive_driver(dave, dave_run):
    client = client_for(dave.user)
    dave.active = False
    dave.save()
    response = client.get("/api/v1/driver/run")
    assert response.status_code == 403
    assert response.json() == NOT_FOR_DRIVERS
