"""Invalidation: generations bumped in Redis, and deferred replay when Redis is away.

Every invalidation bumps the entry's generation (so a reader that fetched before it can
never store its value) and drops the entry's value keys through its own index (never a
keyspace scan). One that cannot reach Redis is kept in this process and in a shared
PostgreSQL table (DeferredCacheInvalidation, public schema), and replayed, by every
process, before that process serves a cached value again, and by every process started
since, before it serves its first one (the process that failed may be gone).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from redis.exceptions import RedisError

from tenant_cache import signals
from tenant_cache.backend import Backend, _on_reset, backend
from tenant_cache.keys import check_tenant, meta_key
from tenant_cache.registry import CacheEntry, registry

logger = logging.getLogger("tenant_cache")

_pending: dict[str, set[str] | None] = {}
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
    if not entry_ids:
        return 0
    be = backend()
    mode = be.breaker.allow()
    if mode is None or (mode == "probe" and not recover(be)):
        _remember(tenant, entry_ids)
        return 0
    try:
        dropped = _run_invalidate(be, tenant, entry_ids)
    except RedisError as error:
        be.breaker.record_failure(error)
        _remember(tenant, entry_ids)
        return 0
    signals.cache_invalidated.send(sender=None, tenant=tenant, entry_ids=entry_ids)
    logger.info(
        "Cache invalidated %s: %s (%d keys)",
        tenant,
        ", ".join(entry_ids),
        dropped,
        extra={"tenant": tenant, "entries": entry_ids, "dropped": dropped},
    )
    return dropped


def invalidate_tenant(tenant: str) -> int:
    """Drop every cached entry of one tenant."""
    tenant = check_tenant(tenant)
    be = backend()
    mode = be.breaker.allow()
    if mode is None or (mode == "probe" and not recover(be)):
        _remember(tenant, None)
        return 0
    try:
        dropped = _run_invalidate_tenant(be, tenant)
    except RedisError as error:
        be.breaker.record_failure(error)
        _remember(tenant, None)
        return 0
    signals.cache_invalidated.send(sender=None, tenant=tenant, entry_ids=None)
    logger.info(
        "Cache invalidated %s: all entries (%d keys)",
        tenant,
        dropped,
        extra={"tenant": tenant, "entries": "all", "dropped": dropped},
    )
    return dropped


def _run_invalidate(be: Backend, tenant: str, entry_ids: list[str]) -> int:
    keys: list[str] = []
    for entry_id in entry_ids:
        keys += [meta_key(tenant, "gen", entry_id), meta_key(tenant, "idx", entry_id)]
    return int(be.script("INVALIDATE")(keys=keys, args=[], client=be.client))


def _run_invalidate_tenant(be: Backend, tenant: str) -> int:
    return int(
        be.script("INVALIDATE_TENANT")(
            keys=[meta_key(tenant, "entries")],
            args=[meta_key(tenant, "")],
            client=be.client,
        )
    )


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


def _replay_pending(be: Backend) -> None:
    """Run remembered invalidations, this process's and every other's (kept in PostgreSQL);
    raises RedisError if Redis fails meanwhile."""
    shared = _shared_pending()
    for _row_id, shared_tenant, shared_entries in shared or ():
        if shared_entries is None:
            _run_invalidate_tenant(be, shared_tenant)
        else:
            _run_invalidate(be, shared_tenant, sorted(shared_entries))
    if shared:
        _forget_shared([row_id for row_id, _tenant, _entries in shared])
        logger.warning("Replayed %d deferred cache invalidation(s)", len(shared))
    if shared is not None:  # unreadable table: try again on the next call
        be.deferred_replayed = True
    with _pending_lock:
        work = dict(_pending)
    for tenant, entry_ids in work.items():
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
                if not _pending:
                    return
            if be.breaker.allow() is not None:
                recover(be)
    finally:
        connection.close()  # this thread's own database connection


def _forget_pending() -> None:
    with _pending_lock:
        _pending.clear()


_on_reset.append(_forget_pending)


# --- The shared table: what other processes could not invalidate -----------------------


def _record_shared(tenant: str, entry_ids: list[str] | None) -> None:
    from tenant_cache.models import DeferredCacheInvalidation

    try:
        DeferredCacheInvalidation.objects.create(tenant=tenant, entry_ids=entry_ids)
    except Exception:  # bookkeeping must never break a request
        logger.exception("Could not persist a deferred cache invalidation of %s", tenant)


def _shared_pending() -> list[tuple[int, str, list[str] | None]] | None:
    """Rows to replay; None (and logged) when PostgreSQL cannot be read."""
    from tenant_cache.models import DeferredCacheInvalidation

    try:
        return list(DeferredCacheInvalidation.objects.values_list("id", "tenant", "entry_ids"))
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
