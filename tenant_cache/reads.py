"""get-or-set: the only code that reads or stores cached values.

Guarantees (each has a test in tests/cache/):
- A hit is one Redis round trip (a Lua script that also counts the hit).
- A reader that read the database before a write's invalidation can never store its
  value as current afterwards: every invalidation bumps the entry's generation, and a
  value is current only if the generation is still the one its reader saw before
  fetching (STORE). With CACHE_MAX_STALE > 0 such a late value is stored as a stale
  value of its own generation (never over a newer one), so continuous writes cannot
  starve the entry.
- After a failover or a restart of Redis (any change of the server that answers), no value
  stored before it is served, and no computation leased before it stores: each value
  carries the run_id of the server that stored it, and a lease the run_id of the server
  that granted it (tenant_cache.scripts). An invalidation the old master acknowledged but
  never replicated therefore cannot leave a value behind on the new one.
- Bounded staleness: after an invalidation the previous value stays, marked stale on
  Redis's clock; other users get it (STALE) for less than CACHE_MAX_STALE seconds and no
  reader waits while it is servable. Its writer never gets a value older than the
  generation their write produced (the ryw hash, tenant_cache.session).
- Concurrent misses of one key compute it once: the first takes the lease (a short lock
  naming its generation), the others poll for the value; a dead holder's lock expires
  and one of them takes over; the wait is bounded (CACHE_LOCK_WAIT), after which a
  waiter computes for itself. A writer whose write is newer than the holder's
  generation computes alongside instead of waiting.
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

import hashlib
import itertools
import json
import logging
import math
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, partial
from typing import Any

from django.utils import timezone
from redis.exceptions import RedisError

from tenant_cache import codec, replica, signals
from tenant_cache.backend import Backend, backend
from tenant_cache.invalidation import recover, replay_deferred
from tenant_cache.keys import current_tenant, meta_key, tenant_prefix, value_key
from tenant_cache.registry import CacheEntry
from tenant_cache.session import current_actor

logger = logging.getLogger("tenant_cache")

HIT, MISS, STALE, BYPASS = "HIT", "MISS", "STALE", "BYPASS"
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
    """The JSON body of a cached entry and how it was obtained (HIT, STALE, MISS or
    BYPASS)."""

    body: bytes
    status: str
    key: str

    @cached_property
    def value(self) -> Any:
        return codec.from_json(self.body)

    @cached_property
    def etag(self) -> str:
        """A strong ETag of the body: equal bodies, equal tags, whoever computed them."""
        return '"' + hashlib.blake2b(self.body, digest_size=12).hexdigest() + '"'


def _count(entry_id: str, status: str) -> None:
    signals.cache_read.send(sender=None, entry_id=entry_id, result=status)


def read(entry: CacheEntry, params: Mapping[str, Any] | None = None) -> CacheResult:
    """get_or_set with the entry's own `fetch`, its default parameters overridden by
    `params`: the one read path of an API, a page and warm_cache alike."""
    if entry.fetch is None:
        raise TypeError(f"Cache entry {entry.id} declares no fetch function")
    fetch = entry.fetch
    effective = {**entry.default_params, **(params or {})}
    return _get_or_set(entry, effective, lambda: fetch(**effective), refreshable=True)


def get_or_set(
    entry: CacheEntry,
    params: Mapping[str, Any] | None,
    fetcher: Callable[[], Any],
) -> CacheResult:
    """The entry's JSON for the current tenant: from Redis, or computed and stored."""
    return _get_or_set(entry, params, fetcher, refreshable=False)


def _get_or_set(
    entry: CacheEntry,
    params: Mapping[str, Any] | None,
    fetcher: Callable[[], Any],
    *,
    refreshable: bool,
) -> CacheResult:
    """refreshable: the fetcher is the entry's fetch(**params), so refresh-ahead may
    recompute the value by itself."""
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
    ryw_key = meta_key(tenant, "ryw", current_actor() or "-")
    try:
        stored = be.script("READ")(
            keys=[key, stats_key, ryw_key],
            args=[tail, be.config.max_stale_ms, entry.id],
            client=be.client,
        )
    except RedisError as error:
        be.breaker.record_failure(error)
        _count(entry.id, BYPASS)
        return _bypass(key, tenant, fetcher)
    if stored is not None:
        status = HIT if int(stored[0]) == 1 else STALE
        logger.debug("Cache %s %s", status.lower(), key, extra={"key": key, "tenant": tenant})
        _count(entry.id, status)
        return CacheResult(codec.unpack(stored[1]), status, key)
    slot = _Slot(key, tenant, tail, entry, ryw_key, _params_json(params) if refreshable else "")
    result = _on_miss(be, slot, fetcher)
    _count(entry.id, result.status)
    return result


@dataclass(frozen=True)
class _Slot:
    """One value key and the keys its miss path touches (all in the tenant's hash slot)."""

    key: str
    tenant: str
    tail: str
    entry: CacheEntry
    ryw_key: str
    params_json: str

    @property
    def miss_keys(self) -> list[str]:
        return [
            self.key,
            meta_key(self.tenant, "stats"),
            meta_key(self.tenant, "gen", self.entry.id),
            meta_key(self.tenant, "lock", self.tail),
            meta_key(self.tenant, "entries"),
            meta_key(self.tenant, "purged"),
            self.ryw_key,
            meta_key(self.tenant, "lsn", self.entry.id),
        ]


def _params_json(params: Mapping[str, Any] | None) -> str:
    """The parameters as JSON if they survive the round trip (refresh-ahead calls the
    entry's fetch with them again), else '' (that value is never refreshed ahead)."""
    if not params:
        return "{}"
    try:
        text = json.dumps(dict(params), sort_keys=True)
    except (TypeError, ValueError):
        return ""
    return text if json.loads(text) == dict(params) else ""


def _on_miss(be: Backend, slot: _Slot, fetcher: Callable[[], Any]) -> CacheResult:
    token = f"{_PROCESS_TOKEN}:{next(_token_counter)}"
    miss_keys = slot.miss_keys
    deadline = time.monotonic() + be.config.lock_wait
    delay = 0.002
    first = True
    while True:
        try:
            reply = be.script("MISS")(
                keys=miss_keys,
                args=[
                    slot.entry.id,
                    token,
                    be.config.lock_ttl_ms,
                    "1" if first else "0",
                    be.config.max_stale_ms,
                ],
                client=be.client,
            )
        except RedisError as error:
            be.breaker.record_failure(error)
            return _bypass(slot.key, slot.tenant, fetcher)
        if reply[0] == 2:  # a deleted tenant (a request routed by a stale host cache)
            return _bypass(slot.key, slot.tenant, fetcher)
        if reply[0] == 1:  # another worker stored it while we waited
            status = HIT if int(reply[2]) == 1 else STALE
            logger.debug(
                "Cache %s %s (after waiting)",
                status.lower(),
                slot.key,
                extra={"key": slot.key, "tenant": slot.tenant},
            )
            return CacheResult(codec.unpack(reply[1]), status, slot.key)
        generation, locked, started_ms, lock_value = reply[1], int(reply[2]), reply[3], reply[4]
        # locked 1: we hold the lease; 2: our own write is newer than what its holder
        # computes, so we compute alongside; or we waited long enough.
        if locked or time.monotonic() >= deadline:
            lease = _Lease(generation, lock_value, int(started_ms), reply[-1], _lsn(reply[5]))
            return _compute_and_store(be, slot, lease, fetcher, by_reader=True)
        first = False
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


@dataclass(frozen=True)
class _Lease:
    """What a computation knows from its MISS call: the generation it computes, the lock
    value if it holds the lease (b'' if not), when it started (Redis ms), the run_id of
    the server that answered (its value is stored on that server only: STORE) and the
    highest WAL position the entry's invalidations recorded (None: unknown; a standby must
    then have replayed the primary's current one)."""

    generation: bytes
    lock_value: bytes
    started_ms: int
    run_id: bytes
    lsn: int | None = None


def _lsn(recorded: Any) -> int | None:
    """MISS's recorded WAL position (bytes, or None/False when there is none)."""
    return int(recorded) if recorded else None


def _compute_and_store(
    be: Backend,
    slot: _Slot,
    lease: _Lease,
    fetcher: Callable[[], Any],
    *,
    by_reader: bool,
) -> CacheResult:
    lock_key = slot.miss_keys[3]
    started = time.perf_counter()
    try:
        # On the standby once it has replayed what the invalidations recorded (bounded
        # wait), else on the primary: never a value older than the write it follows.
        body, expires_at = replica.compute(
            partial(_fetch, fetcher), lease.lsn, slot.tenant, slot.entry.id
        )
    except BaseException:
        if lease.lock_value:
            _release(be, lock_key, lease.lock_value)
        raise
    ttl = max(1, int(slot.entry.ttl * (1 - be.config.ttl_jitter * random.random())))
    tenant = slot.tenant
    try:
        be.script("STORE")(
            keys=[
                slot.key,
                slot.miss_keys[2],
                meta_key(tenant, "idx", slot.entry.id),
                lock_key,
                slot.miss_keys[5],
                slot.miss_keys[1],
            ],
            args=[
                codec.pack(body, be.config.compress_min),
                _ttl_ms(ttl, expires_at),
                lease.generation,
                lease.lock_value,
                ttl * 2 + 60,
                be.config.max_stale_ms,
                lease.started_ms,
                slot.params_json,
                slot.tail,
                "1" if by_reader else "0",
                lease.run_id,
            ],
            client=be.client,
        )
    except RedisError as error:
        logger.warning("Cache write failed %s", slot.key, extra={"key": slot.key, "tenant": tenant})
        be.breaker.record_failure(error)
    compute_ms = (time.perf_counter() - started) * 1000
    logger.info(
        "Cache miss %s (computed in %.1f ms)",
        slot.key,
        compute_ms,
        extra={"key": slot.key, "tenant": tenant, "compute_ms": compute_ms},
    )
    return CacheResult(body, MISS, slot.key)


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


def _release(be: Backend, lock_key: str, token: str | bytes) -> None:
    try:
        be.script("RELEASE")(keys=[lock_key], args=[token], client=be.client)
    except RedisError as error:
        be.breaker.record_failure(error)


# What own_write_lsn() answers when it cannot know (Redis unusable): no standby has it.
UNKNOWN_LSN = 1 << 62


def own_write_lsn() -> int | None:
    """The primary's WAL position after the acting user's latest write in this tenant, as
    its invalidation recorded it (kept as long as their read-your-writes generations), or
    None (no actor, no recent write). UNKNOWN_LSN when Redis cannot be read: a standby
    must not serve that user then."""
    actor = current_actor()
    if actor is None:
        return None
    be = backend()
    if be.breaker.allow() != "call":
        return UNKNOWN_LSN
    try:
        recorded = be.script("RYW_LSN")(keys=[meta_key(current_tenant(), "ryw", actor)])
    except RedisError as error:
        be.breaker.record_failure(error)
        return UNKNOWN_LSN
    if recorded == b"-":  # recorded by another master, which may have lost a later write's
        return UNKNOWN_LSN
    return _lsn(recorded)


def _bypass(key: str, tenant: str, fetcher: Callable[[], Any]) -> CacheResult:
    logger.debug("Cache bypass %s", key, extra={"key": key, "tenant": tenant})
    return CacheResult(_fetch(fetcher)[0], BYPASS, key)
