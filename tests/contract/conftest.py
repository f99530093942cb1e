"""The contract suite uses the operator's fixtures: failed scans open real cases."""

from tests.exceptions.conftest import triage_enqueued

__all__ = ["triage_enqueued"]
