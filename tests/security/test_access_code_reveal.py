"""Revealing an access code: only the stop's own driver, only while the stop is active; every attempt audited.

Each request that names a stop writes exactly one audit row (who, when, which
stop, the result) and the code is in none of its columns. Callers who are not
a driver at all are refused before any stop is looked at.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from dispatch.models import AccessRevealAudit, ApiToken, Run, Stop
from tests.factories import AccessCredentialFactory, StopFactory, UserFactory
from tests.helpers import client_for, reveal, signed_in

pytestmark = pytest.mark.django_db

CODE = "#7731"
DIGITS = "7731"
# Hard-coded, not read from Stop.ACTIVE_STATUSES: widening that list must fail here first.
ACTIVE = {"pending", "arrived", "failed"}


@pytest.fixture
def gated_stop(dave) -> Stop:
    stop = StopFactory(run__driver=dave)
    AccessCredentialFactory(address=stop.order.address, secret=CODE, last_worked_at=timezone.now())
    return stop


def the_audit_of(stop: Stop, *, user: Any, before: Any) -> AccessRevealAudit:
    """The one row the request wrote: who, when, which stop; and no trace of the code."""
    (audit,) = AccessRevealAudit.objects.filter(stop=stop)
    assert (audit.user_id, audit.stop_id) == (user.pk, stop.pk)
    assert before <= audit.at <= timezone.now()
    row = AccessRevealAudit.objects.filter(pk=audit.pk).values().get()
    assert CODE not in repr(row)
    assert CODE not in str(audit)
    assert not [value for value in row.values() if isinstance(value, str) and DIGITS in value]
    return audit


@pytest.mark.parametrize("status", Stop.Status.values)
def test_the_assigned_driver_gets_the_code_only_while_the_stop_is_active(dave, gated_stop, status):
    Stop.objects.filter(pk=gated_stop.pk).update(status=status)
    before = timezone.now()

    response = reveal(client_for(dave.user), gated_stop)

    audit = the_audit_of(gated_stop, user=dave.user, before=before)
    if status in ACTIVE:
        assert response.status_code == 200
        assert [code["code"] for code in response.json()["codes"]] == [CODE]
        assert response["Cache-Control"] == "no-store"
        assert audit.result == AccessRevealAudit.Result.GRANTED
        assert len(audit.credential_ids) == 1
    else:
        assert response.status_code == 403
        assert DIGITS not in response.content.decode()
        assert audit.result == AccessRevealAudit.Result.STOP_NOT_ACTIVE
        assert audit.credential_ids == []


@pytest.mark.parametrize("status", [Run.Status.COMPLETED, Run.Status.CANCELLED])
def test_a_finished_run_reveals_nothing(dave, gated_stop, status):
    Run.objects.filter(pk=gated_stop.run_id).update(status=status)
    before = timezone.now()

    response = reveal(client_for(dave.user), gated_stop)

    assert response.status_code == 403
    assert DIGITS not in response.content.decode()
    assert the_audit_of(gated_stop, user=dave.user, before=before).result == AccessRevealAudit.Result.STOP_NOT_ACTIVE


@pytest.mark.parametrize("driver", ["erin", "oscar"])
def test_another_driver_gets_a_404_and_the_attempt_is_audited(driver, gated_stop, request):
    other = request.getfixturevalue(driver)
    before = timezone.now()

    response = reveal(client_for(other.user), gated_stop)

    assert response.status_code == 404
    assert response.json()["detail"] == "No such stop on your runs."  # the same as for a stop that does not exist
    assert DIGITS not in response.content.decode()
    assert the_audit_of(gated_stop, user=other.user, before=before).result == AccessRevealAudit.Result.NOT_ASSIGNED


def anonymous(alice: Any) -> APIClient:
    return APIClient()


def alice_signed_in(alice: Any) -> Any:
    client = signed_in(alice)
    client.get("/board/")
    return client


def alice_driver_token(alice: Any) -> APIClient:
    return client_for(alice, ApiToken.Kind.DRIVER)


def integration_token(alice: Any) -> APIClient:
    return client_for(UserFactory(username="route-planner"), ApiToken.Kind.INTEGRATION)


@pytest.mark.parametrize(
    ("caller", "status"),
    [(anonymous, 401), (alice_signed_in, 401), (alice_driver_token, 403), (integration_token, 403)],
    ids=["anonymous", "dispatcher-session", "dispatcher-with-a-driver-token", "integration"],
)
def test_someone_who_is_not_a_driver_is_refused_before_any_stop_is_read(caller, status, alice, gated_stop):
    response = reveal(caller(alice), gated_stop)

    assert response.status_code == status
    assert DIGITS not in response.content.decode()
    assert not AccessRevealAudit.objects.exists()
