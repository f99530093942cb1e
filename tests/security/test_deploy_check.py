"""Django's deployment checklist passes with the production settings, nothing silenced.

Run as a separate process, as a deployment would, with only the variables
production requires (config/settings/production.py); no database or Redis is
reached by the checks.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "desk.example.com",
    "PUBLIC_BASE_URL": "https://desk.example.com",
    "DATABASE_URL": "postgres://dispatch:pw@db.internal:5432/dispatch",
    "REDIS_URL": "rediss://redis.internal:6379/0",
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
    "TWILIO_FROM_NUMBER": "+13125550100",
}
TWILIO = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER", "TWILIO_MESSAGING_SERVICE_SID")
# Knobs that relax production for the benchmarks (bench/scan_load.py): left to their production defaults here.
RELAXING = (
    "DEBUG",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "THROTTLE_DRIVER",
    "THROTTLE_INTEGRATION",
    "THROTTLE_DRIVER_SIGN_IN",
    "LOGIN_FAILURE_LIMIT",
)


def manage(*args: str, without: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    inherited = {
        key: value
        for key, value in os.environ.items()
        if key not in PRODUCTION_ENV and key not in RELAXING and key not in TWILIO and key != "OUTREACH_SMS_BACKEND"
    }
    production = {key: value for key, value in PRODUCTION_ENV.items() if key not in without}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**inherited, **production},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_deploy_check_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "DEBUG")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_the_deploy_check_fails_when_production_would_print_texts_instead_of_sending_them():
    result = manage("check", "--deploy", without=TWILIO)

    assert result.returncode != 0
    assert "outreach.E001" in result.stderr
    assert "ConsoleBackend: texts would be kept in this process, never sent" in result.stderr


def test_production_keeps_its_rate_limits():
    # The tests run with rates no phone reaches; production's own must still limit (the deploy check cannot tell).
    script = (
        "import json; from django.conf import settings as s; "
        "print(json.dumps([s.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'], s.LOGIN_FAILURE_LIMIT, s.CACHES['default']]))"
    )
    result = manage("shell", "--no-imports", "-c", script)

    assert result.returncode == 0, result.stderr
    rates, login_limit, cache = json.loads(result.stdout)
    assert rates == {"driver": "600/min", "integration": "120/min", "driver_sign_in": "10/min"}
    assert login_limit == 5
    # Counted in Redis, shared by every web process, not per process.
    assert (cache["BACKEND"], cache["LOCATION"]) == (
        "django.core.cache.backends.redis.RedisCache",
        PRODUCTION_ENV["REDIS_URL"],
    )
