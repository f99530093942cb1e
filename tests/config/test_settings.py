"""Settings come from the environment and fail loudly on a bad value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from config import env

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "SECRET_KEY": "p" * 20 + "-unique-production-secret-value-0123456789",
    "ALLOWED_HOSTS": "desk.example.com",
    "PUBLIC_BASE_URL": "https://desk.example.com",
    "DATABASE_URL": "postgres://dispatch:pw@db.internal:5432/dispatch",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "TWILIO_AUTH_TOKEN": "f" * 32,
    "TWILIO_FROM_NUMBER": "+13125550100",
}


def run_manage(*args: str, extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in PRODUCTION_ENV and k not in ("DJANGO_SETTINGS_MODULE", "OUTREACH_SMS_BACKEND")
    }
    environment.update(extra_env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("value", ["maybe", "2", "tru"])
def test_it_refuses_a_boolean_it_cannot_read(monkeypatch, value):
    monkeypatch.setenv("DEBUG", value)
    with pytest.raises(ImproperlyConfigured, match=r"DEBUG=.* is not a boolean"):
        env.env_bool("DEBUG", False)


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("0", False), ("YES", True), ("off", False)])
def test_it_reads_booleans(monkeypatch, value, expected):
    monkeypatch.setenv("DEBUG", value)
    assert env.env_bool("DEBUG", False) is expected


def test_it_requires_a_value_with_no_default(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY must be set"):
        env.env_str("SECRET_KEY")


def test_it_refuses_a_number_that_is_not_one(monkeypatch):
    monkeypatch.setenv("CELERY_TASK_TIME_LIMIT", "sixty")
    with pytest.raises(ImproperlyConfigured, match="not a whole number"):
        env.env_int("CELERY_TASK_TIME_LIMIT", 60)


def test_it_refuses_a_database_that_is_not_postgres(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite:///db.sqlite3")
    with pytest.raises(ImproperlyConfigured, match="must be a PostgreSQL URL"):
        env.env_database("DATABASE_URL")


def test_it_refuses_a_redis_url_with_the_wrong_scheme(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "http://127.0.0.1:6379")
    with pytest.raises(ImproperlyConfigured, match=r"REDIS_URL=.* is not a valid URL"):
        env.env_url("REDIS_URL", schemes=("redis", "rediss"))


def test_it_names_the_bad_encryption_key(monkeypatch):
    monkeypatch.setenv("FIELD_ENCRYPTION_KEYS", f"{Fernet.generate_key().decode()},not-a-key")
    with pytest.raises(ImproperlyConfigured, match="key #2 is not a valid Fernet key"):
        env.env_fernet_keys()


def test_it_reads_encryption_keys_newest_first(monkeypatch):
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("FIELD_ENCRYPTION_KEYS", f"{new}, {old}")
    assert env.env_fernet_keys() == [new, old]


def test_production_passes_the_deploy_check():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING",
        extra_env={**PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "config.settings.production"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "FIELD_ENCRYPTION_KEYS", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without_a_secret(missing):
    production = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = run_manage("check", extra_env={**production, "DJANGO_SETTINGS_MODULE": "config.settings.production"})
    assert result.returncode != 0
    assert f"{missing} must be set in the environment." in result.stderr


def test_production_refuses_the_local_development_key():
    from config.settings.base import LOCAL_DEV_FERNET_KEY

    production = {**PRODUCTION_ENV, "FIELD_ENCRYPTION_KEYS": LOCAL_DEV_FERNET_KEY}
    result = run_manage("check", extra_env={**production, "DJANGO_SETTINGS_MODULE": "config.settings.production"})
    assert result.returncode != 0
    assert "must not contain the local development key" in result.stderr


def test_production_refuses_a_plain_http_public_url():
    production = {**PRODUCTION_ENV, "PUBLIC_BASE_URL": "http://desk.example.com"}
    result = run_manage("check", extra_env={**production, "DJANGO_SETTINGS_MODULE": "config.settings.production"})
    assert result.returncode != 0
    assert "PUBLIC_BASE_URL='http://desk.example.com' is not a valid URL; expected https://" in result.stderr
