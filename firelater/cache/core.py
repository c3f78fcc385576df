"""get-or-set and invalidation: the only code that reads or writes cached values.

Guarantees (each has a test in tests/cache/):
- A hit is one Redis round trip (a Lua script that also counts the hit).
- A reader that read the database before a write's invalidation can never store its
  value afterwards: it stores only if the entry's generation is still the one it saw
  before fetching (SET_IF_CURRENT), and every invalidation bumps the generation.
- Concurrent misses of one key compute it once: the first takes a short lock, the others
  poll for the value; a dead holder's lock expires and one of them takes over; the wait
  is bounded (CACHE_LOCK_WAIT), after which a waiter computes for itself.
- No Redis error escapes: the value is computed from PostgreSQL and reported BYPASS, and
  a circuit breaker skips Redis for a cool-down so a dead Redis costs nothing per call.
- An invalidation that fails is kept and replayed before this process serves a cached
  value again, and by a background retry, so no stale entry outlives an outage.
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from redis.exceptions import RedisError

from firelater import metrics
from firelater.cache import codec, deferred, scripts
from firelater.cache.breaker import CircuitBreaker
from firelater.cache.keys import check_tenant, current_tenant, meta_key, tenant_prefix, value_key
from firelater.cache.registry import CacheEntry, registry

logger = logging.getLogger("firelater.cache")

HIT, MISS, BYPASS = "HIT", "MISS", "BYPASS"
_PROCESS_TOKEN = f"{os.getpid()}-{os.urandom(4).hex()}"  # lock owner ids: unique and cheap
_token_counter = itertools.count()


@dataclass(frozen=True)
class CacheResult:
    """The JSON body of a cached entry and how it was obtained (HIT, MISS or BYPASS)."""

    body: bytes
    status: str
    key: str

    @cached_property
    def value(self) -> Any:
        return codec.from_json(self.body)


@dataclass(frozen=True)
class CacheConfig:
    ttl_jitter: float
    compress_min: int
    lock_ttl_ms: int
    lock_wait: float
    breaker_cooldown: float
    alias: str


def _load_config() -> CacheConfig:
    return CacheConfig(
        ttl_jitter=float(getattr(settings, "CACHE_TTL_JITTER", 0.1)),
        compress_min=int(getattr(settings, "CACHE_COMPRESS_MIN_BYTES", 10 * 1024)),
        lock_ttl_ms=int(float(getattr(settings, "CACHE_LOCK_TTL", 5.0)) * 1000),
        lock_wait=float(getattr(settings, "CACHE_LOCK_WAIT", 6.0)),
        breaker_cooldown=float(getattr(settings, "CACHE_BREAKER_COOLDOWN", 3.0)),
        alias=str(getattr(settings, "CACHE_REDIS_ALIAS", "default")),
    )


class _Backend:
    """This process's Redis client, scripts and breaker (rebuilt when settings change)."""

    def __init__(self) -> None:
        self.config = _load_config()
        self.breaker = CircuitBreaker(self.config.breaker_cooldown)
        self._client: Any = None
        self._scripts: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            from django_redis import get_redis_connection

            with self._lock:
                if self._client is None:
                    self._client = get_redis_connection(self.config.alias)
        return self._client

    def script(self, name: str) -> Any:
        script = self._scripts.get(name)
        if script is None:
            script = self.client.register_script(getattr(scripts, name))
            self._scripts[name] = script
        return script


_backend = _Backend()


def backend() -> _Backend:
    return _backend


@receiver(setting_changed)
def _reset_on_settings_change(*, setting: str, **kwargs: Any) -> None:
    if setting == "CACHES" or setting.startswith("CACHE_"):
        reset_backend()


def reset_backend() -> None:
    """Forget the client, scripts, breaker and pending invalidations (tests, reconfig)."""
    global _backend
    _backend = _Backend()
    with _pending_lock:
        _pending.clear()


# --- Reads -------------------------------------------------------------------------------

_result_counters: dict[tuple[str, str], Any] = {}


def _count(entry_id: str, status: str) -> None:
    counter = _result_counters.get((entry_id, status))
    if counter is None:
        counter = metrics.CACHE_RESULTS.labels(entry=entry_id, result=status)
        _result_counters[(entry_id, status)] = counter
    counter.inc()


def get_or_set(
    entry: CacheEntry,
    params: Mapping[str, Any] | None,
    fetcher: Callable[[], Any],
) -> CacheResult:
    """The entry's JSON for the current tenant: from Redis, or computed and stored."""
    tenant = current_tenant()
    key = value_key(tenant, entry.id, params)
    be = _backend
    mode = be.breaker.allow()
    if mode is None or (mode == "probe" and not _recover(be)):
        _count(entry.id, BYPASS)
        return _bypass(key, tenant, fetcher)

    stats_key = meta_key(tenant, "stats")
    tail = key[len(tenant_prefix(tenant)) :]
    try:
        stored = be.script("READ")(keys=[key, stats_key], args=[tail], client=be.client)
    except RedisError as error:
        be.breaker.record_failure(error)
        _count(entry.id, BYPASS)
        return _bypass(key, tenant, fetcher)
    if stored is not None:
        logger.debug("Cache hit %s", key, extra={"key": key, "tenant": tenant})
        _count(entry.id, HIT)
        return CacheResult(codec.unpack(stored), HIT, key)
    result = _on_miss(be, entry, key, tenant, tail, fetcher)
    _count(entry.id, result.status)
    return result


def _on_miss(
    be: _Backend,
    entry: CacheEntry,
    key: str,
    tenant: str,
    tail: str,
    fetcher: Callable[[], Any],
) -> CacheResult:
    token = f"{_PROCESS_TOKEN}:{next(_token_counter)}"
    miss_keys = [
        key,
        meta_key(tenant, "stats"),
        meta_key(tenant, "gen", entry.id),
        meta_key(tenant, "lock", tail),
        meta_key(tenant, "entries"),
    ]
    deadline = time.monotonic() + be.config.lock_wait
    delay = 0.002
    first = True
    while True:
        try:
            reply = be.script("MISS")(
                keys=miss_keys,
                args=[entry.id, token, be.config.lock_ttl_ms, "1" if first else "0"],
                client=be.client,
            )
        except RedisError as error:
            be.breaker.record_failure(error)
            return _bypass(key, tenant, fetcher)
        if reply[0] == 1:  # another worker stored it while we waited
            logger.debug("Cache hit %s (after waiting)", key, extra={"key": key, "tenant": tenant})
            return CacheResult(codec.unpack(reply[1]), HIT, key)
        generation, locked = reply[1], reply[2]
        if locked or time.monotonic() >= deadline:
            # We hold the lock, or waited long enough: compute (and store if still current).
            return _compute_and_store(be, entry, key, tenant, generation, token, miss_keys, fetcher)
        first = False
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _compute_and_store(
    be: _Backend,
    entry: CacheEntry,
    key: str,
    tenant: str,
    generation: bytes,
    token: str,
    miss_keys: list[str],
    fetcher: Callable[[], Any],
) -> CacheResult:
    lock_key = miss_keys[3]
    started = time.perf_counter()
    try:
        body = codec.to_json(fetcher())
    except BaseException:
        _release(be, lock_key, token)
        raise
    ttl = entry.ttl
    ttl = max(1, int(ttl * (1 - be.config.ttl_jitter * random.random())))
    try:
        be.script("SET_IF_CURRENT")(
            keys=[key, miss_keys[2], meta_key(tenant, "idx", entry.id), lock_key],
            args=[codec.pack(body, be.config.compress_min), ttl, generation, token, ttl * 2 + 60],
            client=be.client,
        )
    except RedisError as error:
        logger.warning("Cache write failed %s", key, extra={"key": key, "tenant": tenant})
        be.breaker.record_failure(error)
    compute_ms = (time.perf_counter() - started) * 1000
    logger.info(
        "Cache miss %s (computed in %.1f ms)",
        key,
        compute_ms,
        extra={"key": key, "tenant": tenant, "compute_ms": compute_ms},
    )
    return CacheResult(body, MISS, key)


def _release(be: _Backend, lock_key: str, token: str) -> None:
    try:
        be.script("RELEASE")(keys=[lock_key], args=[token], client=be.client)
    except RedisError as error:
        be.breaker.record_failure(error)


def _bypass(key: str, tenant: str, fetcher: Callable[[], Any]) -> CacheResult:
    logger.debug("Cache bypass %s", key, extra={"key": key, "tenant": tenant})
    return CacheResult(codec.to_json(fetcher()), BYPASS, key)


# --- Invalidation ------------------------------------------------------------------------

_pending: dict[str, set[str] | None] = {}
_pending_lock = threading.Lock()
_retry_thread: threading.Thread | None = None


def invalidate(tenant: str, category: str) -> int:
    """Drop every entry of `tenant` that depends on data `category` (e.g. "issues")."""
    return invalidate_entries(tenant, registry.affected(category))


def invalidate_entries(tenant: str, entries: Iterable[CacheEntry | str]) -> int:
    """Drop these entries (all their parameter variants) for one tenant; bump generations.

    Never raises for a Redis problem: a failed invalidation is remembered and replayed
    before this process trusts Redis again. Returns the number of value keys dropped.
    """
    tenant = check_tenant(tenant)
    entry_ids = sorted({e if isinstance(e, str) else e.id for e in entries})
    if not entry_ids:
        return 0
    be = _backend
    mode = be.breaker.allow()
    if mode is None or (mode == "probe" and not _recover(be)):
        _remember(tenant, entry_ids)
        return 0
    try:
        dropped = _run_invalidate(be, tenant, entry_ids)
    except RedisError as error:
        be.breaker.record_failure(error)
        _remember(tenant, entry_ids)
        return 0
    for entry_id in entry_ids:
        metrics.CACHE_INVALIDATIONS.labels(entry=entry_id).inc()
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
    be = _backend
    mode = be.breaker.allow()
    if mode is None or (mode == "probe" and not _recover(be)):
        _remember(tenant, None)
        return 0
    try:
        dropped = _run_invalidate_tenant(be, tenant)
    except RedisError as error:
        be.breaker.record_failure(error)
        _remember(tenant, None)
        return 0
    logger.info(
        "Cache invalidated %s: all entries (%d keys)",
        tenant,
        dropped,
        extra={"tenant": tenant, "entries": "all", "dropped": dropped},
    )
    return dropped


def _run_invalidate(be: _Backend, tenant: str, entry_ids: list[str]) -> int:
    keys: list[str] = []
    for entry_id in entry_ids:
        keys += [meta_key(tenant, "gen", entry_id), meta_key(tenant, "idx", entry_id)]
    return int(be.script("INVALIDATE")(keys=keys, args=[], client=be.client))


def _run_invalidate_tenant(be: _Backend, tenant: str) -> int:
    return int(
        be.script("INVALIDATE_TENANT")(
            keys=[meta_key(tenant, "entries")],
            args=[meta_key(tenant, "")],
            client=be.client,
        )
    )


def _remember(tenant: str, entry_ids: list[str] | None) -> None:
    metrics.CACHE_DEFERRED_INVALIDATIONS.inc()
    deferred.record(tenant, entry_ids)
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


def _replay_pending(be: _Backend) -> None:
    """Run remembered invalidations, this process's and every other's (kept in PostgreSQL);
    raises RedisError if Redis fails meanwhile."""
    shared = deferred.pending()
    for _row_id, shared_tenant, shared_entries in shared:
        if shared_entries is None:
            _run_invalidate_tenant(be, shared_tenant)
        else:
            _run_invalidate(be, shared_tenant, sorted(shared_entries))
    if shared:
        deferred.forget([row_id for row_id, _tenant, _entries in shared])
        logger.warning("Replayed %d deferred cache invalidation(s)", len(shared))
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


def _recover(be: _Backend) -> bool:
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
            be = _backend
            time.sleep(max(0.2, be.config.breaker_cooldown))
            with _pending_lock:
                if not _pending:
                    return
            if be.breaker.allow() is not None:
                _recover(be)
    finally:
        connection.close()  # this thread's own database connection
