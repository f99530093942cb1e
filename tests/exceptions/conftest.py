from __future__ import annotations

import pytest

from exceptions.models import EscalationRule


@pytest.fixture
def no_default_rules(db) -> None:
    """Start from no escalation rules: migrations seed two defaults every desk starts with."""
    EscalationRule.objects.all().delete()
