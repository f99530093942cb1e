"""Property-based tests over the OpenAPI schema: no input makes the API fail or break its contract."""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from dispatch.models import ApiToken
from dispatch.services import api_token_issue
from tests.factories import RunFactory, StopFactory, UserFactory

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture
def keep_test_connection():
    # Like Django's test client: keep the test's connection (and its transaction) open across requests.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def driver_headers(dave) -> dict[str, str]:
    run = RunFactory(driver=dave)
    for sequence in (1, 2):
        StopFactory(run=run, sequence=sequence)
    _, key = api_token_issue(user=dave.user, kind=ApiToken.Kind.DRIVER, name="fuzz")
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_api_keeps_its_contract_for_any_input(case, driver_headers, keep_test_connection):
    case.call_and_validate(headers=driver_headers, checks=CHECKS)


@pytest.fixture
def integration_headers(dave) -> dict[str, str]:
    """A planner's token limited to Dave's depot, with a day of his on file."""
    run = RunFactory(driver=dave)
    StopFactory(run=run, sequence=1)
    planner = UserFactory(username="fuzz-planner")
    _, key = api_token_issue(user=planner, kind=ApiToken.Kind.INTEGRATION, name="fuzz", depot=dave.depot)
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.django_db
@schema.include(path_regex=r"^/api/v1/(plans|recipients/)").parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_integration_api_keeps_its_contract_for_any_input(case, integration_headers, keep_test_connection):
    case.call_and_validate(headers=integration_headers, checks=CHECKS)
