"""Settings for the test suite: the real Postgres and Redis, quicker hashing."""

from config.env import env_str
from config.settings.base import *  # noqa: F403

DEBUG = False
# The demo day, the simulator and the fakes the tests talk to.
INSTALLED_APPS = [*INSTALLED_APPS, "demo"]  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env_str("REDIS_URL", "redis://127.0.0.1:6379/1"),
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "dispatch-test"),
    }
}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [{"address": env_str("REDIS_URL", "redis://127.0.0.1:6379/1"), "socket_timeout": 15}],
            "prefix": env_str("CHANNEL_LAYER_PREFIX", "dispatch-test:ws"),
            "capacity": 1000,
            "expiry": 60,
        },
    }
}
MEDIA_ROOT = BASE_DIR / "var" / "test-media"  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Tests poll far faster than any phone; the limits themselves are tested with explicit rates.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"driver": "100000/min", "integration": "100000/min", "driver_sign_in": "100000/min"},
}

# Every test opens pages from the same address; the limits themselves are tested with explicit ones.
RECIPIENT_PAGE_LIMITS = (100_000, 100_000, 600)

# No SMS leaves a test unless the test points outreach at the fake Twilio.
OUTREACH_SMS_BACKEND = "outreach.backends.LocmemBackend"
