"""Settings for the web server the browser tests drive: the test settings, with no Celery broker.

The browser tests run one ASGI server against the test database. Its tasks (triage after a scan)
go to an in-memory broker that nothing reads, so they never reach a queue a real worker serves;
a test that needs a case triaged runs the workflow itself.
"""

from config.settings.test import *  # noqa: F403

CELERY_BROKER_URL = "memory://"
