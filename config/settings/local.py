"""Settings for a developer's machine and the demo."""

from config.env import env_bool
from config.settings.base import *  # noqa: F403

DEBUG = env_bool("DEBUG", True)

# The demo day, the simulator and the fakes (`make demo`): on a developer's machine, never in production.
INSTALLED_APPS = [*INSTALLED_APPS, "demo"]  # noqa: F405
