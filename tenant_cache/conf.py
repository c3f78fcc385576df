"""Every tenant_cache setting and its default, in one place.

Each is an ordinary Django setting (override it in settings.py or with pytest-django's
`settings` fixture); read through `setting()` so a changed setting takes effect at once.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Seconds each entry lives, by the entry's ttl_name (or subcategory), then "default".
    "CACHE_TTL": {"default": 300},
    # Each TTL is shortened by up to this fraction, so many tenants' entries do not expire
    # in the same second.
    "CACHE_TTL_JITTER": 0.1,
    # Values larger than this are stored zlib-compressed.
    "CACHE_COMPRESS_MIN_BYTES": 10 * 1024,
    # Seconds a stampede lock lives if its holder dies.
    "CACHE_LOCK_TTL": 5.0,
    # Seconds a concurrent miss waits for the lock holder before computing for itself.
    "CACHE_LOCK_WAIT": 6.0,
    # Seconds the circuit breaker skips Redis after a failure before one caller probes.
    "CACHE_BREAKER_COOLDOWN": 3.0,
    # Seconds a deleted tenant's key space stays closed after its purge: processes that
    # still route requests to it (a per-process host cache) cannot put keys back. At least
    # as long as such a cache keeps a deleted tenant; creating a tenant of that name
    # reopens it at once.
    "CACHE_PURGED_TENANT_TTL": 60.0,
    # The permission ("app_label.codename") a tenant's staff user also needs for the cache
    # API and the admin's Cache page; None: being staff of the tenant is enough.
    "CACHE_ADMIN_PERMISSION": None,
    # Seconds other users may be served an entry's previous value (X-Cache: STALE) after a
    # write committed, measured on Redis's clock; the writer always reads its own write.
    # 0 = strict: every write drops the entry and the next reader recomputes it.
    "CACHE_MAX_STALE": 1.0,
    # Refresh-ahead (with CACHE_MAX_STALE > 0): after an invalidation, values read in the
    # last CACHE_REFRESH_AHEAD seconds (0 = off) are recomputed by a background thread of
    # the writing process, CACHE_REFRESH_DELAY seconds later (a burst of writes coalesces
    # into one recomputation), under the entry's lease.
    "CACHE_REFRESH_AHEAD": 600.0,
    "CACHE_REFRESH_DELAY": 0.1,
    # The django-redis cache alias whose client the cache uses.
    "CACHE_REDIS_ALIAS": "default",
    # The database alias of a PostgreSQL hot standby that recomputations (and blocks inside
    # tenant_cache.replica_reads()) read from; None: everything on the default database.
    # Its router, tenant_cache.replica.ReplicaRouter, must be in DATABASE_ROUTERS.
    "CACHE_REPLICA_ALIAS": None,
    # Seconds a recomputation waits for the standby to replay the invalidation it follows
    # before it computes on the primary instead.
    "CACHE_REPLICA_MAX_WAIT": 0.1,
    # Seconds the standby is skipped after it failed (down, erroring) or was too far behind
    # CACHE_REPLICA_LAG_FAILURES times in a row, before one caller tries it again.
    "CACHE_REPLICA_COOLDOWN": 5.0,
    "CACHE_REPLICA_LAG_FAILURES": 3,
    # Seconds the standby may take over one block of queries (the lag check, a
    # recomputation, a list) before its connection is cut and the primary answers: a hung
    # standby (stopped, stuck I/O) answers nothing, and no server-side timeout can fire
    # in a server that does not run. New connections are bounded by connect_timeout.
    "CACHE_REPLICA_TIMEOUT": 5.0,
}


def setting(name: str) -> Any:
    """The configured value of a tenant_cache setting, or its default."""
    return getattr(settings, name, DEFAULTS[name])


def ttl_for(name: str) -> int:
    """Seconds an entry named `name` lives (CACHE_TTL[name], else CACHE_TTL["default"])."""
    ttls = setting("CACHE_TTL")
    default = ttls.get("default", DEFAULTS["CACHE_TTL"]["default"])
    return int(ttls.get(name, default))
