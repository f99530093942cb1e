"""Production: every secret from the environment with no default, HTTPS enforced."""

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_database, env_fernet_keys, env_int, env_list, env_str, env_url
from config.settings.base import *  # noqa: F403
from config.settings.base import LOCAL_DEV_FERNET_KEY, LOCAL_DEV_SECRET_KEY

DEBUG = False
SECRET_KEY = env_str("SECRET_KEY")
if SECRET_KEY == LOCAL_DEV_SECRET_KEY or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be a unique random value of at least 50 characters.")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
PUBLIC_BASE_URL = env_url("PUBLIC_BASE_URL", schemes=("https",))
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [PUBLIC_BASE_URL])
DATABASES = {"default": env_database("DATABASE_URL", conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0))}
REDIS_URL = env_url("REDIS_URL", schemes=("redis", "rediss"))
FIELD_ENCRYPTION_KEYS = env_fernet_keys("FIELD_ENCRYPTION_KEYS")
if LOCAL_DEV_FERNET_KEY in FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must not contain the local development key.")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "dispatch"),
    }
}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # Above channels_redis's 5 s blocking read, or redis-py's 5 s default read timeout
            # cuts idle consumers off.
            "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
            "prefix": env_str("CHANNEL_LAYER_PREFIX", "dispatch:ws"),
            "capacity": 1000,
            "expiry": 60,
        },
    }
}
CELERY_BROKER_URL = REDIS_URL

# Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
