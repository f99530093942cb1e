# The operator's fixtures: outreach is exercised through real cases.
from tests.exceptions.conftest import dave_stop, triage_enqueued

__all__ = ["dave_stop", "triage_enqueued"]
