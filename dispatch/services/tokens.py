"""API tokens: issued once, stored as a hash, checked on every request."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.utils import timezone

from dispatch.models import ApiToken, Depot, User

# last_used_at is informational; writing it on every request would make every
# read a write. Once per interval is enough to spot unused tokens.
LAST_USED_RESOLUTION = dt.timedelta(minutes=5)


def token_hash(key: str) -> str:
    # Keys are 256-bit random values, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_issue(
    *, user: User, kind: str, name: str, depot: Depot | None = None, expires_at: dt.datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token and return it with its key. The key is not stored and cannot be shown again."""
    key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        kind=kind,
        name=name,
        prefix=key[:8],
        key_hash=token_hash(key),
        depot=depot,
        expires_at=expires_at,
    )
    return token, key


def api_token_authenticate(*, key: str) -> ApiToken | None:
    """The live token for this key, or None. Marks it used (coarsely)."""
    token = (
        ApiToken.objects.select_related("user", "user__driver")
        .filter(key_hash=token_hash(key), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def api_token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
