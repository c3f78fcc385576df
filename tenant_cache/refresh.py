"""Refresh-ahead: after an invalidation, recompute the entry's recently read values in the
background, so the next reader usually gets a hit instead of a stale value or a wait.

Runs in the writing process, on one daemon thread, never on the writer's request path:
`schedule()` (called by the invalidation) only records what to refresh and when. Each
(tenant, entry) is due CACHE_REFRESH_DELAY seconds after its first invalidation since the
last refresh, so a burst of writes costs one recomputation. A value is recomputed under
the entry's lease (the readers' lock): if another process holds it, this one tries again
a little later, until the value is current. It stores through the readers' STORE, so a
refresh leased on a master that has since failed over stores nothing (tenant_cache.scripts).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from functools import partial

from django.db import connection
from django_tenants.utils import schema_context
from redis.exceptions import RedisError

from tenant_cache.backend import Backend, _on_reset, backend
from tenant_cache.breaker import BreakerState
from tenant_cache.keys import meta_key, tenant_prefix
from tenant_cache.registry import registry

logger = logging.getLogger("tenant_cache")

_due: dict[tuple[str, str], float] = {}  # (tenant, entry id) -> monotonic due time
_lock = threading.Lock()
_wakeup = threading.Condition(_lock)
_thread: threading.Thread | None = None
RETRY_DELAY = 0.05  # seconds before trying a leased value again


def schedule(tenant: str, entry_ids: list[str]) -> None:
    """Refresh these entries' recently read values of `tenant` soon (cheap: no Redis)."""
    be = backend()
    if be.config.max_stale_ms <= 0 or be.config.refresh_ahead_ms <= 0:
        return
    due = time.monotonic() + be.config.refresh_delay
    with _wakeup:
        for entry_id in entry_ids:  # a later write joins the earlier one's refresh
            _due.setdefault((tenant, entry_id), due)
        _wakeup.notify()
    _ensure_thread()


def pending() -> dict[tuple[str, str], float]:
    with _lock:
        return dict(_due)


def run_due(*, everything: bool = False) -> int:
    """Refresh what is due now (or everything scheduled): the thread's step, and a
    synchronous drain for tests and commands. Returns the values recomputed."""
    now = time.monotonic()
    with _lock:
        work = [item for item, due in _due.items() if everything or due <= now]
        for item in work:
            del _due[item]
    recomputed = 0
    for tenant, entry_id in work:
        try:
            done, retry = _refresh_entry(backend(), tenant, entry_id)
        except RedisError as error:
            backend().breaker.record_failure(error)
            continue
        except Exception:  # a failing fetch must not kill the thread; the readers will see
            logger.exception("Refresh-ahead of %s %s failed", tenant, entry_id)
            continue
        recomputed += done
        if retry:
            with _lock:
                _due.setdefault((tenant, entry_id), time.monotonic() + RETRY_DELAY)
    return recomputed


def _refresh_entry(be: Backend, tenant: str, entry_id: str) -> tuple[int, bool]:
    """Recompute the entry's stale, recently read values; (recomputed, someone else held
    a lease so try again)."""
    from tenant_cache.reads import _compute_and_store, _Lease, _lsn, _Slot

    entry = registry.get(entry_id)
    if entry is None or entry.fetch is None or be.breaker.state is not BreakerState.CLOSED:
        return 0, False
    candidates = be.script("REFRESH_CANDIDATES")(
        keys=[meta_key(tenant, "idx", entry_id)],
        args=[be.config.refresh_ahead_ms],
        client=be.client,
    )
    recomputed, retry = 0, False
    prefix = tenant_prefix(tenant)
    for key, params_json in zip(candidates[::2], candidates[1::2], strict=True):
        key = key.decode() if isinstance(key, bytes) else key
        params = json.loads(params_json)
        ryw_key = meta_key(tenant, "ryw", "-")  # nobody's: only a current value will do
        slot = _Slot(key, tenant, key[len(prefix) :], entry, ryw_key, params_json.decode())
        reply = be.script("MISS")(
            keys=slot.miss_keys,
            args=[entry.id, f"refresh-{time.monotonic_ns()}", be.config.lock_ttl_ms, "0", -1],
            client=be.client,
        )
        if reply[0] != 0:
            continue  # current already, or the tenant was deleted
        if int(reply[2]) != 1:
            retry = True  # another computation holds the lease
            continue
        with schema_context(tenant):
            lease = _Lease(reply[1], reply[4], int(reply[3]), reply[-1], _lsn(reply[5]))
            _compute_and_store(be, slot, lease, partial(entry.fetch, **params), by_reader=False)
        recomputed += 1
    return recomputed, retry


def _ensure_thread() -> None:
    global _thread
    with _lock:
        if _thread is not None and _thread.is_alive():  # it clears this before it ends
            return
        _thread = threading.Thread(target=_loop, name="cache-refresh-ahead", daemon=True)
        _thread.start()


def _loop() -> None:
    global _thread
    try:
        while True:
            with _wakeup:
                if not _due:
                    _thread = None
                    return
                wait = min(_due.values()) - time.monotonic()
                if wait > 0:
                    _wakeup.wait(wait)
                    continue
            run_due()
    finally:
        connection.close()  # this thread's own database connection


def _forget() -> None:
    with _lock:
        _due.clear()


_on_reset.append(_forget)
