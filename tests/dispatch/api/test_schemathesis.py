"""Property-based tests over the OpenAPI schema: no input makes the API fail or break its contract.

Every schemathesis check runs but two:

- ``positive_data_acceptance``: the API's rules go beyond what a schema can say (a device time within the last
  seven days, a plan's driver on file, a CSV's header row), so a request the schema allows may rightly be
  refused with a 400 that says why.
- ``negative_data_rejection``: it takes a query parameter the schema does not name for invalid data (OpenAPI
  has no way to say "no other parameters"; like most APIs this one ignores them), and a recipient import row
  without its id for a bad request (each row stands alone: the row is reported, the others applied). What it
  found besides is fixed and has tests of its own (test_plan_import_input, test_instructions): a misspelt
  ``?dry_run`` imported the plan for real, and an empty cursor read from the start.

With a driver token the calls are also chained: schemathesis infers the links (the run's stops to their scans
and code reveals, a scan to its case). ``ignored_auth`` stays out of the chains: they always send the token.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS as REGISTRY
from schemathesis.checks import ignored_auth, load_all_checks, negative_data_rejection, positive_data_acceptance

from dispatch.models import ApiToken
from dispatch.services import api_token_issue
from tests.factories import RunFactory, StopFactory, UserFactory

load_all_checks()
CHECKS = [check for check in REGISTRY.get_all() if check not in (positive_data_acceptance, negative_data_rejection)]
CHAINED_CHECKS = [check for check in CHECKS if check is not ignored_auth]


schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


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


@pytest.mark.django_db
def test_the_api_keeps_its_contract_through_chains_of_calls(driver_headers, keep_test_connection):
    class DriversDay(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": driver_headers}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHAINED_CHECKS)

    assert DriversDay.bundles, "no links between operations: the chained calls would test nothing"
    DriversDay.run(
        settings=settings(
            max_examples=25,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
    )


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
