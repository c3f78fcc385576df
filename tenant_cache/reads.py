"""get-or-set: the only code that reads or stores cached values.

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
- A value that is right only until some instant (a fetcher returns `Expiring`) is stored
  until that instant at most, whatever the entry's TTL: an SLA that passes or a day that
  ends is never hidden by a cached figure (for at most MIN_TTL_MS when the instant is
  nearer than that).
- Before the first cached value after an outage, and before the first cached value a
  process serves at all, deferred invalidations are replayed (tenant_cache.invalidation:
  recover, replay_deferred), so one that a process could not run before it died is not
  lost.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from django.utils import timezone
from redis.exceptions import RedisError

from tenant_cache import codec, signals
from tenant_cache.backend import Backend, backend
from tenant_cache.invalidation import recover, replay_deferred
from tenant_cache.keys import current_tenant, meta_key, tenant_prefix, value_key
from tenant_cache.registry import CacheEntry

logger = logging.getLogger("tenant_cache")

HIT, MISS, BYPASS = "HIT", "MISS", "BYPASS"
_PROCESS_TOKEN = f"{os.getpid()}-{os.urandom(4).hex()}"  # lock owner ids: unique and cheap
_token_counter = itertools.count()
# The shortest life of a stored value: a boundary nearer than this costs at most one
# recomputation per MIN_TTL_MS instead of one per read.
MIN_TTL_MS = 1000


@dataclass(frozen=True)
class Expiring:
    """What a fetcher returns when its value is right only until `expires_at` (the next SLA
    deadline, midnight, a scheduled start...): the value is cached until then at most. Only
    `value` is stored and returned; `expires_at` None means the entry's TTL alone."""

    value: Any
    expires_at: datetime | None = None


@dataclass(frozen=True)
class CacheResult:
    """The JSON body of a cached entry and how it was obtained (HIT, MISS or BYPASS)."""

    body: bytes
    status: str
    key: str

    @cached_property
    def value(self) -> Any:
        return codec.from_json(self.body)


def _count(entry_id: str, status: str) -> None:
    signals.cache_read.send(sender=None, entry_id=entry_id, result=status)


def read(entry: CacheEntry, params: Mapping[str, Any] | None = None) -> CacheResult:
    """get_or_set with the entry's own `fetch`, its default parameters overridden by
    `params`: the one read path of an API, a page and warm_cache alike."""
    if entry.fetch is None:
        raise TypeError(f"Cache entry {entry.id} declares no fetch function")
    fetch = entry.fetch
    effective = {**entry.default_params, **(params or {})}
    return get_or_set(entry, effective, lambda: fetch(**effective))


def get_or_set(
    entry: CacheEntry,
    params: Mapping[str, Any] | None,
    fetcher: Callable[[], Any],
) -> CacheResult:
    """The entry's JSON for the current tenant: from Redis, or computed and stored."""
    tenant = current_tenant()
    key = value_key(tenant, entry.id, params)
    be = backend()
    mode = be.breaker.allow()
    if mode == "probe":
        usable = recover(be)
    else:  # after the process's first call, one boolean: the warm hit path runs no SQL
        usable = mode is not None and (be.deferred_replayed or replay_deferred(be))
    if not usable:
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
    be: Backend,
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
        meta_key(tenant, "purged"),
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
        if reply[0] == 2:  # a deleted tenant (a request routed by a stale host cache)
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
    be: Backend,
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
        body, expires_at = _fetch(fetcher)
    except BaseException:
        _release(be, lock_key, token)
        raise
    ttl = max(1, int(entry.ttl * (1 - be.config.ttl_jitter * random.random())))
    try:
        be.script("SET_IF_CURRENT")(
            keys=[key, miss_keys[2], meta_key(tenant, "idx", entry.id), lock_key, miss_keys[5]],
            args=[
                codec.pack(body, be.config.compress_min),
                _ttl_ms(ttl, expires_at),
                generation,
                token,
                ttl * 2 + 60,
            ],
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


def _fetch(fetcher: Callable[[], Any]) -> tuple[bytes, datetime | None]:
    """The fetched value as JSON, and the instant it stops being right (if it says)."""
    fetched = fetcher()
    if isinstance(fetched, Expiring):
        return codec.to_json(fetched.value), fetched.expires_at
    return codec.to_json(fetched), None


def _ttl_ms(ttl: int, expires_at: datetime | None) -> int:
    """Milliseconds to keep a value: its (jittered) TTL, cut at the instant it expires
    (rounded up, so a read after the key is gone computes past that instant)."""
    ttl_ms = ttl * 1000
    if expires_at is None:
        return ttl_ms
    until_ms = math.ceil((expires_at - timezone.now()).total_seconds() * 1000) + 1
    return max(MIN_TTL_MS, min(ttl_ms, until_ms))


def _release(be: Backend, lock_key: str, token: str) -> None:
    try:
        be.script("RELEASE")(keys=[lock_key], args=[token], client=be.client)
    except RedisError as error:
        be.breaker.record_failure(error)


def _bypass(key: str, tenant: str, fetcher: Callable[[], Any]) -> CacheResult:
    logger.debug("Cache bypass %s", key, extra={"key": key, "tenant": tenant})
    return CacheResult(_fetch(fetcher)[0], BYPASS, key)
