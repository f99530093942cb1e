"""Settings for the fault suite's Celery workers: the test settings, texts through the real SDK to the fake Twilio.

Everything else comes from the environment the suite starts them with (tests/fault/harness.py): the
test database, the suite's own Redis as broker, cache and channel layer, the fake Twilio's URL.
"""

from config.env import env_str
from config.settings.test import *  # noqa: F403
from config.settings.test import DATABASES as TEST_DATABASES

OUTREACH_SMS_BACKEND = "outreach.backends.TwilioBackend"

# Named, so a test can find this worker's database session (waiting on a lock, say) in pg_stat_activity.
DATABASES = {
    "default": {
        **TEST_DATABASES["default"],
        "OPTIONS": {
            **TEST_DATABASES["default"].get("OPTIONS", {}),
            "application_name": env_str("FAULT_PROCESS_NAME", "fault-worker"),
        },
    }
}
