"""Liveness and readiness: the web process can reach Postgres and Redis."""

from django.core.cache import cache
from django.db import connection
from django.db.utils import OperationalError
from django.http import HttpRequest, JsonResponse
from redis.exceptions import RedisError


def healthz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except OperationalError:
        checks["database"] = "unreachable"
    try:
        cache.set("healthz", "1", timeout=5)
        checks["redis"] = "ok"
    except RedisError:
        checks["redis"] = "unreachable"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "degraded", **checks}, status=200 if healthy else 503)
