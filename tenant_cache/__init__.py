"""tenant_cache: a tenant-safe Redis cache for django-tenants projects (see README.md).

This module is the whole public API; nothing outside the app imports its submodules.

    from tenant_cache import CacheEntry, get_or_set, registry, watch

    OVERVIEW = registry.register(CacheEntry(namespace="dashboard", name="overview",
                                            depends_on=frozenset({"issues"})))
    watch(Issue, "issues")          # saves, deletes and bulk writes invalidate on commit
    result = get_or_set(OVERVIEW, {}, selectors.overview)   # or read(OVERVIEW) with fetch=
    result.body      # JSON bytes, the response body as stored
    result.status    # "HIT" | "STALE" | "MISS" | "BYPASS"  (the X-Cache header)
    result.etag      # a strong ETag of the body

Freshness: a write's invalidation keeps the previous value, stale, for other users for
less than CACHE_MAX_STALE seconds (0: strict, dropped at once); its writer, named by
`ReadYourWritesMiddleware` (in MIDDLEWARE) or `acting_as(user_id)`, always reads it.

Deleting a tenant (any way) purges its keys, `purge_tenant(schema)`, and a new tenant is
refused while keys of a former one of its name remain (`key_space_refusal(schema)`).

With a PostgreSQL hot standby (CACHE_REPLICA_ALIAS, and `ReplicaRouter` first in
DATABASE_ROUTERS) recomputations read from it once it has replayed the invalidations they
follow (else the primary), and `on_replica(read)` runs read-only work there when it is
fresh enough for the acting user; raw SQL of a fetch uses `reading_connection()`.

A fetcher whose value changes with the clock returns `Expiring(value, expires_at)`: the
value is cached until `expires_at` at most (the next deadline, midnight...).
"""

from tenant_cache import signals
from tenant_cache.backend import reset_backend
from tenant_cache.invalidation import (
    invalidate_data,
    invalidate_entries,
    invalidate_tenant,
    key_space_refusal,
    purge_tenant,
)
from tenant_cache.keys import CacheContextError, current_tenant, value_key
from tenant_cache.reads import BYPASS, HIT, MISS, STALE, CacheResult, Expiring, get_or_set, read
from tenant_cache.receivers import watch
from tenant_cache.registry import CacheEntry, registry
from tenant_cache.replica import ReplicaRouter, on_replica, reading_connection, replica_status
from tenant_cache.session import ReadYourWritesMiddleware, acting_as, current_actor
from tenant_cache.stats import status, tenant_stats

__all__ = [
    "BYPASS",
    "HIT",
    "MISS",
    "STALE",
    "CacheContextError",
    "CacheEntry",
    "CacheResult",
    "Expiring",
    "ReadYourWritesMiddleware",
    "ReplicaRouter",
    "acting_as",
    "current_actor",
    "current_tenant",
    "get_or_set",
    "invalidate_data",
    "invalidate_entries",
    "invalidate_tenant",
    "key_space_refusal",
    "on_replica",
    "purge_tenant",
    "read",
    "reading_connection",
    "registry",
    "replica_status",
    "reset_backend",
    "signals",
    "status",
    "tenant_stats",
    "value_key",
    "watch",
]
