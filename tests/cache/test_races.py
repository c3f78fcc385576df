"""The cache-aside race and the stampede, reproduced deterministically with real threads."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import connection

from tenant_cache import HIT, MISS, get_or_set, invalidate_entries


def _in_tenant(tenant, fn):
    """Run fn in a thread-local connection set to the tenant (as a request would be)."""

    def run():
        connection.set_tenant(tenant)
        try:
            return fn()
        finally:
            connection.close()

    return run


def _slow_read_while(acme, entry, database, write):  # type: ignore[no-untyped-def]
    """Reader R reads `database`, then stays busy while `write()` runs (a commit and its
    on_commit invalidation); returns what R's own request got."""
    fetched = threading.Event()
    written = threading.Event()

    def slow_fetch():  # type: ignore[no-untyped-def]
        snapshot = dict(database)  # R's query runs before the write commits...
        fetched.set()
        written.wait(5)  # ...and R is still busy when the write's invalidation runs.
        return snapshot

    with ThreadPoolExecutor(1) as pool:
        reader = pool.submit(_in_tenant(acme, lambda: get_or_set(entry, None, slow_fetch)))
        assert fetched.wait(5)
        write()
        written.set()
        return reader.result(5)


def test_a_reader_that_read_before_a_write_cannot_store_its_stale_value(acme, entry):
    """Reader R reads the old data, a write commits and invalidates, then R tries to store."""
    connection.set_tenant(acme)
    database = {"open_issues": 1}

    def write():  # type: ignore[no-untyped-def]
        database["open_issues"] = 2  # the write commits
        invalidate_entries("acme", [entry])  # its on_commit invalidation returns

    stale = _slow_read_while(acme, entry, database, write)
    assert stale.value == {"open_issues": 1}  # R's own request saw the old value...
    after = get_or_set(entry, None, lambda: dict(database))
    assert (after.status, after.value) == (MISS, {"open_issues": 2})  # ...nobody else does.
    assert get_or_set(entry, None, dict).value == {"open_issues": 2}


def test_without_an_invalidation_the_slow_readers_value_is_stored(acme, entry, other_entry):
    """The same slow reader, while only another entry is invalidated: its value is kept."""
    connection.set_tenant(acme)
    result = _slow_read_while(
        acme, entry, {"n": 1}, lambda: invalidate_entries("acme", [other_entry])
    )
    assert result.status == MISS
    stored = get_or_set(entry, None, dict)
    assert (stored.status, stored.value) == (HIT, {"n": 1})


def test_thirty_two_concurrent_misses_compute_the_value_once(acme, entry):
    calls = []
    started = threading.Barrier(32)
    gate = threading.Event()

    def fetch():
        calls.append(1)
        gate.wait(2)  # hold the lock while everyone else piles up
        return {"n": 42}

    def read():
        started.wait(5)
        return get_or_set(entry, None, fetch)

    with ThreadPoolExecutor(32) as pool:
        futures = [pool.submit(_in_tenant(acme, read)) for _ in range(32)]
        threading.Timer(0.3, gate.set).start()
        results = [f.result(10) for f in futures]
    assert len(calls) == 1
    assert all(r.value == {"n": 42} for r in results)
    assert sorted(r.status for r in results).count(MISS) == 1


def test_when_the_lock_holder_dies_another_reader_computes(acme, entry, settings):
    settings.CACHE_LOCK_TTL = 0.3
    settings.CACHE_LOCK_WAIT = 120.0  # far longer than the test waits: only expiry helps
    holder_started = threading.Event()
    release_holder = threading.Event()

    def hung_fetch():
        holder_started.set()
        release_holder.wait(10)  # the holder never finishes within the lock's life
        return {"from": "holder"}

    with ThreadPoolExecutor(2) as pool:
        holder = pool.submit(_in_tenant(acme, lambda: get_or_set(entry, None, hung_fetch)))
        assert holder_started.wait(5)
        waiter = pool.submit(
            _in_tenant(acme, lambda: get_or_set(entry, None, lambda: {"from": "waiter"}))
        )
        result = waiter.result(15)  # returns once the dead holder's lock expired
        release_holder.set()
        holder.result(5)
    assert (result.status, result.value) == (MISS, {"from": "waiter"})


def test_a_waiter_gives_up_after_the_bounded_wait_and_computes_itself(acme, entry, settings):
    settings.CACHE_LOCK_TTL = 30.0
    settings.CACHE_LOCK_WAIT = 0.3
    holder_started = threading.Event()
    release_holder = threading.Event()

    def hung_fetch():
        holder_started.set()
        release_holder.wait(10)
        return {"from": "holder"}

    with ThreadPoolExecutor(2) as pool:
        holder = pool.submit(_in_tenant(acme, lambda: get_or_set(entry, None, hung_fetch)))
        assert holder_started.wait(5)
        waiter = pool.submit(
            _in_tenant(acme, lambda: get_or_set(entry, None, lambda: {"from": "waiter"}))
        )
        assert waiter.result(5).value == {"from": "waiter"}
        release_holder.set()
        holder.result(5)
