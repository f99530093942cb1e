from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from dispatch.models import ApiToken
from dispatch.services import api_token_issue
from tests.factories import RunFactory, StopFactory


def client_for(user, kind=ApiToken.Kind.DRIVER, depot=None) -> APIClient:
    _, key = api_token_issue(user=user, kind=kind, name="test", depot=depot)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def dave_api(dave) -> APIClient:
    return client_for(dave.user)


@pytest.fixture
def erin_api(erin) -> APIClient:
    return client_for(erin.user)


@pytest.fixture
def dave_run(dave):
    run = RunFactory(driver=dave)
    for sequence in (1, 2, 3):
        StopFactory(run=run, sequence=sequence)
    return run


@pytest.fixture
def erin_run(erin):
    run = RunFactory(driver=erin)
    StopFactory(run=run, sequence=1)
    return run
