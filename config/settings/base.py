"""Settings shared by every environment. Values that differ come from the environment."""

from __future__ import annotations

from pathlib import Path

from django.conf.locale import LANG_INFO
from django.utils.translation import to_language

from config.env import (
    env_bool,
    env_database,
    env_fernet_keys,
    env_float,
    env_int,
    env_list,
    env_str,
    env_url,
    env_url_or_blank,
)
from dispatch.beat import BEAT_SCHEDULE as DISPATCH_BEAT_SCHEDULE
from exceptions.beat import BEAT_SCHEDULE as EXCEPTIONS_BEAT_SCHEDULE
from outreach.beat import BEAT_SCHEDULE as OUTREACH_BEAT_SCHEDULE

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# Defaults here are for the project's own machines (Postgres and Redis on
# 127.0.0.1); production.py re-reads every secret with no default.
LOCAL_DEV_SECRET_KEY = "local-dev-secret-key-not-for-production-3b9f1c"  # noqa: S105 (refused by production.py)
LOCAL_DEV_FERNET_KEY = "bG9jYWwtZGV2LWtleS1ub3QtZm9yLXByb2R1Y3Rpb24="

SECRET_KEY = env_str("SECRET_KEY", LOCAL_DEV_SECRET_KEY)
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
PUBLIC_BASE_URL = env_url("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
# The recipient's page: how often one link, and one address, may open it or choose within the window (seconds).
RECIPIENT_PAGE_LIMITS = (30, 120, 600)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [PUBLIC_BASE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "phonenumber_field",
    "dispatch",
    "exceptions",
    "outreach",
    "routing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (the board's scripts and styles, admin) from the web process itself.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Admin's times in the depot's zone (the board's and the texts'), not UTC.
    "dispatch.admin.local_time.DepotTimeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# The web process serves requests on a fixed pool of threads (config/threads.py),
# each keeping its connection: at most WEB_REQUEST_THREADS connections per process.
DATABASES = {
    "default": env_database(
        "DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/dispatch",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0),
    )
}
WEB_REQUEST_THREADS = env_int("WEB_REQUEST_THREADS", 2, minimum=1)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "dispatch.User"

REDIS_URL = env_url("REDIS_URL", "redis://127.0.0.1:6379/0", schemes=("redis", "rediss"))

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

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# What recipients read is written in English and translated by the catalogues in locale/: a language is English
# or one with a catalogue there (locale/<code>/LC_MESSAGES/django.mo), so adding one takes a catalogue, not code.
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGES = [
    ("en", "English"),
    *sorted(
        (code, LANG_INFO.get(code, {}).get("name", code))
        for code in {to_language(path.parts[-3]) for path in (BASE_DIR / "locale").glob("*/LC_MESSAGES/django.mo")}
        if code != "en"
    ),
]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))

# The desk's own sign-in (Django's auth views); admin keeps its own.
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/board/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
# Failed sign-ins (desk and admin) per username and client address, counted in the cache: over the limit,
# refused until the window since the first failure ends (exceptions/views.py).
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_FAILURE_WINDOW_S = env_int("LOGIN_FAILURE_WINDOW_S", 900, minimum=1)

# The board's map tiles, a Leaflet URL template; set it empty for a map without tiles (no outside requests).
# OpenStreetMap's own servers are for light use: point a busy desk at a tile provider of its own.
BOARD_TILE_URL = env_url_or_blank("BOARD_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
BOARD_TILE_ATTRIBUTION = env_str(
    "BOARD_TILE_ATTRIBUTION",
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
)

# Access codes and other secrets at rest. Newest key first: it encrypts, every
# key in the list decrypts, so a rotation is "prepend a key, re-encrypt, drop".
FIELD_ENCRYPTION_KEYS = env_fernet_keys("FIELD_ENCRYPTION_KEYS", [LOCAL_DEV_FERNET_KEY])

PHONENUMBER_DEFAULT_REGION = env_str("PHONENUMBER_DEFAULT_REGION", "US")
PHONENUMBER_DB_FORMAT = "E164"

# Twilio. Outreach picks its SMS backend from OUTREACH_SMS_BACKEND; these are
# only read by the Twilio backend.
# App push to the customer's app: an HTTPS endpoint of theirs, HMAC-signed JSON (unset: no push).
OUTREACH_PUSH_BACKEND = env_str("OUTREACH_PUSH_BACKEND", "outreach.backends.PushBackend")
OUTREACH_PUSH_URL = env_str("OUTREACH_PUSH_URL", "")
OUTREACH_PUSH_SECRET = env_str("OUTREACH_PUSH_SECRET", "")
# With Twilio credentials, SMS goes through Twilio; without, to the log (masked).
OUTREACH_SMS_BACKEND = env_str(
    "OUTREACH_SMS_BACKEND",
    "outreach.backends.TwilioBackend" if env_str("TWILIO_ACCOUNT_SID", "") else "outreach.backends.ConsoleBackend",
)
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN", "")
TWILIO_FROM_NUMBER = env_str("TWILIO_FROM_NUMBER", "")
TWILIO_MESSAGING_SERVICE_SID = env_str("TWILIO_MESSAGING_SERVICE_SID", "")
TWILIO_API_BASE_URL = env_str("TWILIO_API_BASE_URL", "")
# The number calls come from (the board's and the driver app's Call); TWILIO_FROM_NUMBER when empty.
TWILIO_VOICE_NUMBER = env_str("TWILIO_VOICE_NUMBER", "")
# WhatsApp through the same Messaging API, for recipients who prefer it: the WhatsApp sender ("whatsapp:+1415..."),
# and the Content API template (an approved utility template whose one variable is the text) for a message
# outside the 24 hours after the recipient last wrote; without one, such a message goes by SMS.
TWILIO_WHATSAPP_FROM = env_str("TWILIO_WHATSAPP_FROM", "")
TWILIO_WHATSAPP_TEMPLATE_SID = env_str("TWILIO_WHATSAPP_TEMPLATE_SID", "")
# Below the Celery soft time limit, so a stalled POST ends in our code, not in a kill.
TWILIO_HTTP_TIMEOUT = env_float("TWILIO_HTTP_TIMEOUT", 10.0)

# What the domain tells the desk and the solver (dispatch/ports.py).
DISPATCH_DESK = env_str("DISPATCH_DESK", "exceptions.inbox.Inbox")
DISPATCH_ROUTING = env_str("DISPATCH_ROUTING", "routing.adapter.SolverRouting")
# What outreach tells the desk: replies, and texts that reached nobody (outreach/ports.py).
OUTREACH_DESK = env_str("OUTREACH_DESK", "outreach.adapter.DeskAnswers")
# What routing tells the desk: runs re-planned (routing/ports.py).
ROUTING_DESK = env_str("ROUTING_DESK", "routing.adapter.DeskAnswers")

# The operator (exceptions.workflow): who it asks and who re-routes (exceptions/ports.py), and
# what "the driver is still there" means for a recipient who says they are coming.
EXCEPTIONS_OUTREACH = env_str("EXCEPTIONS_OUTREACH", "outreach.adapter.SmsOutreach")
EXCEPTIONS_ROUTING = env_str("EXCEPTIONS_ROUTING", "routing.adapter.SolverRouting")
EXCEPTIONS_AT_STOP_M = env_int("EXCEPTIONS_AT_STOP_M", 150, minimum=1)
EXCEPTIONS_NEARBY_M = env_int("EXCEPTIONS_NEARBY_M", 600, minimum=1)
EXCEPTIONS_POSITION_MAX_AGE_S = env_int("EXCEPTIONS_POSITION_MAX_AGE_S", 300, minimum=1)
EXCEPTIONS_WAIT_MINUTES = env_int("EXCEPTIONS_WAIT_MINUTES", 5, minimum=1)
EXCEPTIONS_RETRY_MINUTES = env_int("EXCEPTIONS_RETRY_MINUTES", 20, minimum=1)
EXCEPTIONS_CLOSE_AFTER_HOURS = env_int("EXCEPTIONS_CLOSE_AFTER_HOURS", 12, minimum=1)

# Celery: JSON only, late acks for idempotent tasks, global time limits.
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 30, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 60, minimum=1)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "outreach.*": {"queue": "outreach"},
    "routing.*": {"queue": "routing"},
}
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {**DISPATCH_BEAT_SCHEDULE, **EXCEPTIONS_BEAT_SCHEDULE, **OUTREACH_BEAT_SCHEDULE}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "dispatch.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "dispatch.api.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "dispatch.api.errors.exception_handler",
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.URLPathVersioning",
    "DEFAULT_VERSION": "v1",
    "ALLOWED_VERSIONS": ["v1"],
    "DEFAULT_THROTTLE_RATES": {
        "driver": env_str("THROTTLE_DRIVER", "600/min"),
        "integration": env_str("THROTTLE_INTEGRATION", "120/min"),
        # Sign-in codes tried per address: a driver mistypes a few; guessing needs billions.
        "driver_sign_in": env_str("THROTTLE_DRIVER_SIGN_IN", "10/min"),
    },
    "NUM_PROXIES": env_int("NUM_PROXIES", 0, minimum=0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Dispatch exception desk API",
    "DESCRIPTION": (
        "The driver app reports scans and GPS, reads its run and its instruction feed, and reveals access codes; "
        "integrations import plans and recipient preferences. Authenticate with `Authorization: Bearer <token>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # 3.1: a field that is an object or null (a stop's newest instruction) is said the way JSON Schema says it.
    "OAS_VERSION": "3.1.0",
    # One name per choice set, whichever serializer field carries it.
    "ENUM_NAME_OVERRIDES": {
        "StopStatusEnum": "dispatch.models.Stop.Status",
        "RunStatusEnum": "dispatch.models.Run.Status",
        "ScanOutcomeEnum": "dispatch.models.ScanEvent.Outcome",
        "AccessCodeKindEnum": "dispatch.models.AccessCredential.Kind",
        "BuildingTypeEnum": "dispatch.models.Address.BuildingType",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "dispatch.api.schema.add_common_responses",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "config.logging.RedactSensitiveFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Both log each request's URL with its query string: looking up a text at Twilio puts the recipient's
        # number there, URL-encoded (%2B1...) where the redact filter does not see it. Their errors still log.
        "twilio.http_client": {"level": "WARNING"},
        "urllib3": {"level": "INFO"},
    },
}
