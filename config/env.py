"""Typed readers for settings that come from the environment.

Each reader fails loudly with ``ImproperlyConfigured`` naming the variable and
what a valid value looks like, so a typo in a deployment stops the process at
start-up instead of surfacing later as odd behaviour.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlparse

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

_MISSING: Any = object()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str, default: Any) -> str | None:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is _MISSING:
            raise ImproperlyConfigured(f"{name} must be set in the environment.")
        return None
    return value


def env_str(name: str, default: Any = _MISSING) -> str:
    value = _raw(name, default)
    return default if value is None else value


def env_bool(name: str, default: Any = _MISSING) -> bool:
    value = _raw(name, default)
    if value is None:
        return bool(default)
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use one of true/false, 1/0, yes/no, on/off.")


def env_int(name: str, default: Any = _MISSING, *, minimum: int | None = None) -> int:
    value = _raw(name, default)
    if value is None:
        return int(default)
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}.")
    return number


def env_float(name: str, default: Any = _MISSING) -> float:
    value = _raw(name, default)
    if value is None:
        return float(default)
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from None


def env_list(name: str, default: Any = _MISSING) -> list[str]:
    """A comma-separated list; blank items are ignored."""
    value = _raw(name, default)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_url(name: str, default: Any = _MISSING, *, schemes: tuple[str, ...] = ("http", "https")) -> str:
    value = _raw(name, default)
    if value is None:
        return str(default)
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not parsed.netloc:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a valid URL; expected {' or '.join(schemes)}://host[:port][/path]."
        )
    return value.rstrip("/")


def env_url_or_blank(name: str, default: str, *, schemes: tuple[str, ...] = ("http", "https")) -> str:
    """A URL; unset gives the default, set but empty gives "" (the feature turned off)."""
    value = os.environ.get(name)
    if value is None:
        return default
    if not value.strip():
        return ""
    return env_url(name, schemes=schemes)


def env_database(name: str = "DATABASE_URL", default: Any = _MISSING, *, conn_max_age: int = 0) -> dict[str, Any]:
    value = _raw(name, default)
    url = default if value is None else value
    if not url.startswith(("postgres://", "postgresql://")):
        raise ImproperlyConfigured(f"{name} must be a PostgreSQL URL such as postgres://user@host:5432/dbname.")
    try:
        config = dj_database_url.parse(url, conn_max_age=conn_max_age, conn_health_checks=conn_max_age > 0)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} could not be parsed: {exc}") from None
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{name} must name a database, e.g. postgres://user@host:5432/dispatch.")
    return dict(config)


def env_fernet_keys(name: str = "FIELD_ENCRYPTION_KEYS", default: Any = _MISSING) -> list[str]:
    """Comma-separated Fernet keys, newest first: the first encrypts, all decrypt."""
    keys = env_list(name, default)
    if not keys:
        raise ImproperlyConfigured(f"{name} must hold at least one Fernet key.")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"{name}: key #{position} is not a valid Fernet key (32 url-safe base64-encoded bytes); "
                "generate one with `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`."
            ) from None
    return keys
