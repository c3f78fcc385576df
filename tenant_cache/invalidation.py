"""Invalidation: generations bumped in Redis, and deferred replay when Redis is away.

Every invalidation bumps the entry's generation (so a reader that fetched before it can
never store its value) and drops the entry's value keys through its own index (never a
keyspace scan). One that cannot reach Redis is kept in this process and in a shared
PostgreSQL table (DeferredCacheInvalidation, public schema), and replayed, by every
process, before that process serves a cached value again, and by every process started
since, before it serves its first one (the process that failed may be gone).

A deleted or deactivated tenant's keys are purged (purge_tenant): every one of them, then
its key space stays closed for a while; a purge is deferred and replayed like an
invalidation, and a new tenant of that name is refused while keys of the old one may
remain (key_space_refusal).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError

from tenant_cache import refresh, replica, signals
from tenant_cache.backend import Backend, _on_reset, backend
from tenant_cache.cluster import ClusterUnavailable
from tenant_cache.conf import setting
from tenant_cache.keys import check_tenant, meta_key, tenant_prefix
from tenant_cache.registry import CacheEntry, registry
from tenant_cache.tenants import tenant_queryset

logger = logging.getLogger("tenant_cache")

_pending: dict[str, set[str] | None] = {}
# Deleted tenants whose purge could not reach Redis: tenant -> when it was deleted (epoch s).
_pending_purges: dict[str, float] = {}
_pending_lock = threading.Lock()
_retry_thread: threading.Thread | None = None


def invalidate_data(tenant: str, data_category: str) -> int:
    """Drop every entry of `tenant` that depends on `data_category` (e.g. "issues")."""
    return invalidate_entries(tenant, registry.affected(data_category))


def invalidate_entries(tenant: str, entries: Iterable[CacheEntry | str]) -> int:
    """Drop these entries (all their parameter variants) for one tenant; bump generations.

    Never raises for a Redis problem: a failed invalidation is remembered and replayed
    before this process trusts Redis again. Returns the number of value keys dropped.
    """
    tenant = check_tenant(tenant)
    entry_ids = sorted({e if isinstance(e, str) else e.id for e in entries})
    return _invalidate(tenant, entry_ids) if entry_ids else 0


def invalidate_after_write(tenant: str, entry_ids: Iterable[str], actor: str | None) -> int:
    """A committed write's invalidation (the receivers' on_commit callback). Strict with
    CACHE_MAX_STALE = 0, as invalidate_entries; otherwise the entries' values stay, marked
    stale (other users may get them for less than CACHE_MAX_STALE), the writer `actor`
    (a user id, or None) is recorded so their reads need this generation at least, and
    the recently read values are refreshed ahead in the background. Never raises for a
    Redis problem (deferred and replayed strictly, as any invalidation)."""
    tenant = check_tenant(tenant)
    ids = sorted(set(entry_ids))
    if not ids:
        return 0
    affected = _invalidate(tenant, ids, after_write=True, actor=actor)
    refresh.schedule(tenant, ids)
    return affected


def invalidate_tenant(tenant: str) -> int:
    """Drop every cached entry of one tenant (the same guarantees as invalidate_entries)."""
    return _invalidate(check_tenant(tenant), None)


def _invalidate(
    tenant: str,
    entry_ids: list[str] | None,
    *,
    after_write: bool = False,
    actor: str | None = None,
) -> int:
    """Run one invalidation (entry_ids None: the whole tenant), or remember it for replay."""
    be = backend()
    if not _redis_usable(be):
        _remember(tenant, entry_ids)
        return 0
    try:
        if entry_ids is None:
            dropped = _run_invalidate_tenant(be, tenant)
        elif after_write:
            dropped = _run_invalidate(
                be, tenant, entry_ids, max_stale_ms=be.config.max_stale_ms, actor=actor
            )
        else:
            dropped = _run_invalidate(be, tenant, entry_ids)
    except RedisError as error:
        be.breaker.record_failure(error)
        _remember(tenant, entry_ids)
        return 0
    signals.cache_invalidated.send(sender=None, tenant=tenant, entry_ids=entry_ids)
    shown = "all entries" if entry_ids is None else ", ".join(entry_ids)
    logger.info(
        "Cache invalidated %s: %s (%d keys)",
        tenant,
        shown,
        dropped,
        extra={"tenant": tenant, "entries": entry_ids or "all", "dropped": dropped},
    )
    return dropped


def _redis_usable(be: Backend) -> bool:
    """Closed breaker, or this caller's probe succeeded (deferred work replayed first)."""
    mode = be.breaker.allow()
    return mode is not None and (mode != "probe" or recover(be))


def _run_invalidate(
    be: Backend,
    tenant: str,
    entry_ids: list[str],
    *,
    max_stale_ms: int = 0,
    actor: str | None = None,
) -> int:
    """max_stale_ms 0: drop the values (strict; replays, admin); > 0: keep them, stale,
    and record the writer's generations for CACHE_MAX_STALE twice over (beyond that no
    value older than the write can be served to anyone)."""
    ryw_ttl_ms = 2 * max_stale_ms + 1000 if actor is not None and max_stale_ms > 0 else 0
    keys = [meta_key(tenant, "purged"), meta_key(tenant, "ryw", actor or "-")]
    for entry_id in entry_ids:
        keys += [
            meta_key(tenant, "gen", entry_id),
            meta_key(tenant, "idx", entry_id),
            meta_key(tenant, "lsn", entry_id),
        ]
    script = be.script("INVALIDATE")
    args = [max_stale_ms, ryw_ttl_ms, _lsn_arg(), *entry_ids]
    return int(script(keys=keys, args=args, client=be.client))


def _run_invalidate_tenant(be: Backend, tenant: str) -> int:
    return int(
        be.script("INVALIDATE_TENANT")(
            keys=[meta_key(tenant, "entries")],
            args=[meta_key(tenant, ""), _lsn_arg()],
            client=be.client,
        )
    )


def _lsn_arg() -> str:
    """The WAL position an invalidation records for a standby's recomputations: '' with no
    standby configured, '-' when the primary cannot say (the entries' positions are then
    forgotten, so their next recomputations require the primary's position of that time).
    Read now, after the write committed (invalidations run on commit), so it is at or past
    the write's commit record; a replay runs later still, which only makes it safer."""
    if replica.replica_alias() is None:
        return ""
    lsn = replica.invalidation_lsn()
    return "-" if lsn is None else str(lsn)


def _remember(tenant: str, entry_ids: list[str] | None) -> None:
    signals.invalidation_deferred.send(sender=None, tenant=tenant, entry_ids=entry_ids)
    _record_shared(tenant, entry_ids)
    with _pending_lock:
        if entry_ids is None or _pending.get(tenant, set()) is None:
            _pending[tenant] = None
        else:
            _pending.setdefault(tenant, set()).update(entry_ids)  # type: ignore[union-attr]
    logger.warning(
        "Cache invalidation of %s deferred until Redis answers: %s",
        tenant,
        ", ".join(entry_ids) if entry_ids else "all entries",
        extra={"tenant": tenant, "entries": entry_ids or "all"},
    )
    _ensure_retry_thread()


def pending_invalidations() -> dict[str, set[str] | None]:
    with _pending_lock:
        return {t: (set(e) if e is not None else None) for t, e in _pending.items()}


def pending_purges() -> set[str]:
    """Deleted tenants whose purge this process could not run yet."""
    with _pending_lock:
        return set(_pending_purges)


def _replay_pending(be: Backend) -> None:
    """Run remembered invalidations and purges, this process's and every other's (kept in
    PostgreSQL); raises RedisError if Redis fails meanwhile. A purge supersedes the
    invalidations of its tenant."""
    shared = _shared_pending()
    purges = {row.tenant: row.created_at.timestamp() for row in shared or () if row.purge}
    for row in shared or ():
        if row.tenant in purges:
            continue
        if row.entry_ids is None:
            _run_invalidate_tenant(be, row.tenant)
        else:
            _run_invalidate(be, row.tenant, sorted(row.entry_ids))
    for tenant, deleted_at in purges.items():
        if _still_retired(tenant):
            _run_purge(be, tenant, _closed_ms(deleted_at))
    if shared:
        _forget_shared([row.id for row in shared])
        logger.warning("Replayed %d deferred cache invalidation(s)", len(shared))
    if shared is not None:  # unreadable table: try again on the next call
        be.deferred_replayed = True
    with _pending_lock:
        work = dict(_pending)
        local_purges = dict(_pending_purges)
    for tenant, entry_ids in work.items():
        if tenant not in local_purges:
            if entry_ids is None:
                _run_invalidate_tenant(be, tenant)
            else:
                _run_invalidate(be, tenant, sorted(entry_ids))
        with _pending_lock:
            if _pending.get(tenant, ...) == entry_ids:
                del _pending[tenant]
        logger.warning(
            "Replayed the deferred cache invalidation of %s", tenant, extra={"tenant": tenant}
        )
    for tenant, deleted_at in local_purges.items():
        if _still_retired(tenant):
            _run_purge(be, tenant, _closed_ms(deleted_at))
        with _pending_lock:
            if _pending_purges.get(tenant) == deleted_at:
                del _pending_purges[tenant]
        logger.warning("Replayed the deferred cache purge of %s", tenant, extra={"tenant": tenant})


def replay_deferred(be: Backend) -> bool:
    """On a process's first Redis call: replay what any process left in the shared table
    (it may have died before Redis came back) before a cached value is served. False if
    Redis failed meanwhile (the breaker is open then)."""
    try:
        _replay_pending(be)
    except RedisError as error:
        be.breaker.record_failure(error)
        return False
    return True


def recover(be: Backend) -> bool:
    """Probe Redis and replay deferred invalidations before any cached value is served."""
    try:
        be.client.ping()
        _replay_pending(be)
    except RedisError as error:
        be.breaker.record_failure(error)
        return False
    be.breaker.record_success()
    return True


def _ensure_retry_thread() -> None:
    """Replay deferred invalidations in the background even if this process gets no
    traffic, so other processes do not serve entries that this one failed to drop."""
    global _retry_thread
    if _retry_thread is not None and _retry_thread.is_alive():
        return
    _retry_thread = threading.Thread(
        target=_retry_loop, name="cache-invalidation-retry", daemon=True
    )
    _retry_thread.start()


def _retry_loop() -> None:
    from django.db import connection

    try:
        while True:
            # Short steps, re-reading the backend: the breaker says when to probe, and a
            # reconfigured (or reset) backend must not leave this thread asleep for the
            # old cool-down while invalidations wait.
            time.sleep(0.2)
            be = backend()
            with _pending_lock:
                if not _pending and not _pending_purges:
                    return
            if be.breaker.allow() is not None:
                recover(be)
    finally:
        connection.close()  # this thread's own database connection


def _forget_pending() -> None:
    with _pending_lock:
        _pending.clear()
        _pending_purges.clear()


_on_reset.append(_forget_pending)


# --- Deleted tenants: every key goes -------------------------------------------------------


def purge_tenant(tenant: str) -> int:
    """Delete every key of a deleted (or deactivated) tenant: its values and all its _meta
    keys (generations, indexes, locks, entries, stats), found through its own indexes,
    then a sweep of its prefix for strays (a SCAN, of the tenant's node only on a cluster:
    this operation is rare). Its pending invalidations are forgotten, and its key space
    stays closed to writes for CACHE_PURGED_TENANT_TTL seconds, so requests still routed
    to the tenant cannot put keys back.

    Never raises for a Redis problem: a purge that cannot reach Redis is recorded in the
    shared table and replayed like an invalidation, and until it has run a new tenant of
    that name is refused (key_space_refusal). Returns the number of keys deleted.
    """
    tenant = check_tenant(tenant)
    deleted_at = time.time()
    _forget_invalidations(tenant)
    be = backend()
    if not _redis_usable(be):
        _remember_purge(tenant, deleted_at)
        return 0
    try:
        deleted = _run_purge(be, tenant, _closed_ms(deleted_at))
    except RedisError as error:
        be.breaker.record_failure(error)
        _remember_purge(tenant, deleted_at)
        return 0
    logger.info(
        "Cache purged %s (a deleted tenant): %d keys",
        tenant,
        deleted,
        extra={"tenant": tenant, "dropped": deleted},
    )
    return deleted


def key_space_refusal(tenant: str) -> str | None:
    """Why a new tenant may not take the name `tenant` now, as far as the cache goes, or
    None (and its key space is reopened).

    A purge of a former tenant of that name still pending runs now; if Redis cannot be
    reached for it, the name is refused. Keys that no purge explains are refused with the
    way to delete them. With Redis unreachable and no purge pending the name is allowed:
    every failed purge is recorded.
    """
    tenant = check_tenant(tenant)
    pending = _purge_pending(tenant)
    be = backend()
    try:
        if not _redis_usable(be):
            return _unreachable_refusal(tenant, pending, "the circuit breaker is open")
        leftovers = _claim_key_space(be, tenant, run_purge=pending)
    except RedisError as error:
        be.breaker.record_failure(error)
        return _unreachable_refusal(tenant, pending, str(error))
    if pending:
        _forget_purge(tenant)
    if leftovers:
        return (
            f"Redis still holds {leftovers} cache key(s) of a former tenant {tenant!r} "
            f"(cache:{{{tenant}}}:*): delete them with `manage.py cache_purge {tenant}`, then "
            "try again."
        )
    return None


def _claim_key_space(be: Backend, tenant: str, *, run_purge: bool) -> int:
    """Run the tenant's pending purge (if any) and count the keys left under its name; if
    none, drop its 'purged' marker (the key space is the new tenant's). Raises RedisError."""
    purged_marker = meta_key(tenant, "purged")
    if run_purge:
        _run_purge(be, tenant, closed_ms=0)
    leftovers = [key for key in _tenant_keys(be, tenant) if key != purged_marker]
    if not leftovers:
        be.client.delete(purged_marker)
    return len(leftovers)


def _unreachable_refusal(tenant: str, pending: bool, reason: str) -> str | None:
    if pending:
        return (
            f"The cache of a deleted tenant {tenant!r} has not been purged yet and Redis is "
            f"unreachable ({reason}); try again when Redis answers."
        )
    logger.warning(
        "Could not check Redis for keys left under %s (%s)",
        tenant,
        reason,
        extra={"tenant": tenant},
    )
    return None


def _closed_ms(deleted_at: float) -> int:
    """How much longer a tenant deleted at `deleted_at` keeps its key space closed."""
    remaining = float(setting("CACHE_PURGED_TENANT_TTL")) - (time.time() - deleted_at)
    return max(0, int(remaining * 1000))


def _run_purge(be: Backend, tenant: str, closed_ms: int) -> int:
    purged_marker = meta_key(tenant, "purged")
    deleted = int(
        be.script("PURGE")(
            keys=[meta_key(tenant, "entries"), meta_key(tenant, "stats"), purged_marker],
            args=[tenant_prefix(tenant), closed_ms, *sorted(e.id for e in registry)],
            client=be.client,
        )
    )
    strays = [key for key in _tenant_keys(be, tenant) if key != purged_marker]
    for first in range(0, len(strays), 1000):
        deleted += int(be.client.unlink(*strays[first : first + 1000]))
    return deleted


def _tenant_keys(be: Backend, tenant: str) -> list[str]:
    """Every key under the tenant's prefix, by SCAN (on a cluster, of the node holding the
    tenant's slot). Only for deleting and creating tenants, never on a request's path."""
    pattern = tenant_prefix(tenant) + "*"
    client = be.client
    options: dict[str, Any] = {"match": pattern, "count": 1000}
    if isinstance(client, RedisCluster):
        try:
            options["target_nodes"] = client.get_node_from_key(pattern)  # type: ignore[no-untyped-call]
        except RedisClusterException as error:
            raise ClusterUnavailable(str(error)) from error
    return [k.decode() if isinstance(k, bytes) else str(k) for k in client.scan_iter(**options)]


def _remember_purge(tenant: str, deleted_at: float) -> None:
    signals.invalidation_deferred.send(sender=None, tenant=tenant, entry_ids=None)
    _record_shared(tenant, None, purge=True)
    with _pending_lock:
        _pending_purges.setdefault(tenant, deleted_at)
    logger.warning(
        "Cache purge of the deleted tenant %s deferred until Redis answers",
        tenant,
        extra={"tenant": tenant, "entries": "all"},
    )
    _ensure_retry_thread()


def _purge_pending(tenant: str) -> bool:
    """Is a purge of `tenant` waiting for Redis (here or in any process)? True when the
    shared table cannot be read: running a purge of a name nobody uses costs nothing."""
    from tenant_cache.models import DeferredCacheInvalidation

    with _pending_lock:
        if tenant in _pending_purges:
            return True
    try:
        return DeferredCacheInvalidation.objects.filter(tenant=tenant, purge=True).exists()
    except Exception:  # bookkeeping must never break a request
        logger.exception("Could not read deferred cache purges")
        return True


def _still_retired(tenant: str) -> bool:
    """Still deleted or deactivated? False once an active tenant has this name: a late
    purge would empty its cache (a new tenant's creation ran the purge already). True if
    that cannot be read."""
    try:
        return not tenant_queryset(active_only=True).filter(schema_name=tenant).exists()
    except Exception:  # bookkeeping must never break a request
        logger.exception("Could not check whether tenant %s exists", tenant)
        return True


def _forget_purge(tenant: str) -> None:
    from tenant_cache.models import DeferredCacheInvalidation

    with _pending_lock:
        _pending_purges.pop(tenant, None)
    try:
        DeferredCacheInvalidation.objects.filter(tenant=tenant).delete()
    except Exception:  # bookkeeping must never break a request
        logger.exception("Could not clear the deferred cache purge of %s", tenant)


def _forget_invalidations(tenant: str) -> None:
    """A purge supersedes the tenant's deferred invalidations (replaying one after it would
    only leave generation keys behind)."""
    from tenant_cache.models import DeferredCacheInvalidation

    with _pending_lock:
        _pending.pop(tenant, None)
    try:
        DeferredCacheInvalidation.objects.filter(tenant=tenant, purge=False).delete()
    except Exception:  # bookkeeping must never break a request
        logger.exception("Could not clear the deferred cache invalidations of %s", tenant)


# --- The shared table: what other processes could not invalidate -----------------------


class _Deferred(NamedTuple):
    id: int
    tenant: str
    entry_ids: list[str] | None
    purge: bool
    created_at: datetime


def _record_shared(tenant: str, entry_ids: list[str] | None, *, purge: bool = False) -> None:
    from tenant_cache.models import DeferredCacheInvalidation

    try:
        DeferredCacheInvalidation.objects.create(tenant=tenant, entry_ids=entry_ids, purge=purge)
    except Exception:  # bookkeeping must never break a request
        logger.exception("Could not persist a deferred cache invalidation of %s", tenant)


def _shared_pending() -> list[_Deferred] | None:
    """Rows to replay; None (and logged) when PostgreSQL cannot be read."""
    from tenant_cache.models import DeferredCacheInvalidation

    try:
        rows = DeferredCacheInvalidation.objects.values_list(
            "id", "tenant", "entry_ids", "purge", "created_at"
        )
        return [_Deferred(*row) for row in rows]
    except Exception:  # bookkeeping must never break a request
        logger.exception("Could not read deferred cache invalidations")
        return None


def _forget_shared(ids: list[int]) -> None:
    from tenant_cache.models import DeferredCacheInvalidation

    if not ids:
        return
    try:
        DeferredCacheInvalidation.objects.filter(id__in=ids).delete()
    except Exception:  # bookkeeping must never break a request
        logger.exception("Could not clear replayed cache invalidations")
