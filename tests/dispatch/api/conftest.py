from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import RunFactory, StopFactory
from tests.helpers import client_for


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
