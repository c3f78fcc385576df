"""Operations endpoints answered before tenant routing, on every host:

- /healthz: liveness, no I/O at all.
- /readyz: PostgreSQL and Redis checked with short timeouts. Redis down is "degraded"
  (200: the app serves correct data without it), and so is a configured standby that is
  down or skipped by its breaker (the primary answers instead); PostgreSQL down is 503.
- /metrics: Prometheus text. Readable with `Authorization: Bearer $METRICS_TOKEN` when
  METRICS_TOKEN is set; without it only from loopback and never through a proxy (a request
  carrying X-Forwarded-For is refused), so tenants' users cannot read it.

They sit in a middleware in front of the tenant middleware because a probe must not depend
on a tenant lookup (a database query) and must work whatever host name it uses.
django-health-check was considered; its views are routed after our tenant middleware and
its Redis check uses the client's default timeouts, which is what /readyz must avoid.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

import tenant_cache
from firelater.metrics import render_latest

LOOPBACK = {"127.0.0.1", "::1"}


def _timed(check: Callable[[], Any]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        check()
    except Exception as error:  # a failed probe is an answer, not a crash
        return {"ok": False, "error": f"{type(error).__name__}: {error}"[:300]}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 2)}


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def readiness() -> tuple[int, dict[str, Any]]:
    database = _timed(_check_database)
    cache_status: dict[str, Any] = {}

    def check_redis() -> None:
        cache_status.update(tenant_cache.status())
        if not cache_status["available"]:
            raise ConnectionError("Redis did not answer PING")

    redis = _timed(check_redis)
    redis["breaker"] = cache_status.get("breaker", "unknown")
    checks = {"database": database, "redis": redis}
    replica_ok = True
    standby = tenant_cache.replica_status()
    if standby is not None:
        # A standby down, erroring or skipped by its breaker costs the primary more work
        # but no wrong answer: degraded, as Redis down is.
        checks["replica"] = standby
        replica_ok = bool(standby.get("available")) and standby.get("breaker") == "closed"
    if not database["ok"]:
        return 503, {"status": "unavailable", "checks": checks}
    status = "ok" if redis["ok"] and replica_ok else "degraded"
    return 200, {"status": status, "checks": checks}


def metrics_allowed(request: HttpRequest) -> bool:
    token = getattr(settings, "METRICS_TOKEN", "")
    if token:
        sent = request.META.get("HTTP_AUTHORIZATION", "")
        return hmac.compare_digest(sent, f"Bearer {token}")
    return (
        request.META.get("REMOTE_ADDR") in LOOPBACK
        and "HTTP_X_FORWARDED_FOR" not in request.META
        and "HTTP_FORWARDED" not in request.META
    )


class OperationsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path == "/healthz":
            return JsonResponse({"status": "ok"})
        if path == "/readyz":
            status, body = readiness()
            return JsonResponse(body, status=status)
        if path == "/metrics":
            if not metrics_allowed(request):
                return JsonResponse({"detail": "Not found."}, status=404)
            payload, content_type = render_latest()
            return HttpResponse(payload, content_type=content_type)
        return self.get_response(request)
