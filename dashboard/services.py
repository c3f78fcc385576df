"""Cache administration: invalidation on demand and the platform-wide figures."""

from __future__ import annotations

from typing import Any

from redis.exceptions import RedisError

from firelater.cache import invalidate, invalidate_tenant
from firelater.cache.stats import redis_stats, tenant_stats
from tenants.models import Tenant


def cache_invalidate_for_tenant(*, tenant: str, category: str | None) -> int:
    """Drop one tenant's entries that depend on `category` (None: all its entries)."""
    if category is None:
        return invalidate_tenant(tenant)
    return invalidate(tenant, category)


def cache_stats_for_platform(*, top: int = 10) -> dict[str, Any]:
    """Per-tenant figures for every active tenant, totals, and Redis's INFO figures."""
    try:
        per_tenant = [
            tenant_stats(t.schema_name, top=top)
            for t in Tenant.objects.exclude(schema_name="public").order_by("slug")
        ]
        server = redis_stats()
    except RedisError as error:
        return {"available": False, "error": f"Redis unavailable: {error}", "tenants": []}
    hits = sum(t["hits"] for t in per_tenant)
    misses = sum(t["misses"] for t in per_tenant)
    top_keys = sorted(
        (k for t in per_tenant for k in t["topKeys"]), key=lambda k: (-k["hits"], k["key"])
    )[:top]
    return {
        "available": True,
        "hitRate": round(100.0 * hits / (hits + misses), 1) if hits + misses else 0.0,
        "hits": hits,
        "misses": misses,
        "totalKeys": sum(t["totalKeys"] for t in per_tenant),
        "memoryUsed": server["usedMemory"],
        "topKeys": top_keys,
        "tenants": per_tenant,
        "redis": server,
    }
