"""Request rate limits on Redis, shared by every web process.

DRF's built-in throttles keep a pickled list of every request time in the
cache, read and rewritten on each request: at a driver app's rates that list
is hundreds of entries long. A fixed window counter needs one INCR.
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any

import redis
from django.conf import settings
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle


@cache
def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1.0)


class WindowRateThrottle(ScopedRateThrottle):
    """``throttle_scope`` rates ("600/min") counted per user in fixed windows."""

    window_ends_at: float = 0.0

    def get_rate(self) -> str | None:
        # Read per request (DRF reads its rates once, at import), so settings changes apply.
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope or "")
        return None if rate is None else str(rate)

    def allow_request(self, request: Request, view: Any) -> bool:
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        key = self.get_cache_key(request, view)
        if key is None or self.num_requests is None or self.duration is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        self.window_ends_at = (window + 1) * self.duration
        bucket = f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:{key}:{window}"
        try:
            pipe = _client().pipeline(transaction=False)
            pipe.incr(bucket)
            pipe.expire(bucket, self.duration + 1, nx=True)
            count = int(pipe.execute()[0])
        except (redis.RedisError, OSError, ValueError):
            # A limit is a courtesy, not a safety boundary: never refuse work because Redis blinked.
            # Under overload redis-py can also fail on a socket closed under it (OSError, or ValueError:
            # "I/O operation on closed file"): the same blink.
            return True
        return count <= self.num_requests

    def wait(self) -> float | None:
        return max(0.0, self.window_ends_at - time.time())
