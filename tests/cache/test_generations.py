"""Second guards, single-threaded and deterministic, for the generation and the lock.

test_races.py proves these with threads; here the interleaving is forced from inside the
fetch, so a store script that ignores the generation, an invalidation that does not bump
it, or a lock that is always granted each fails on its own.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import connection

from tenant_cache import HIT, MISS, get_or_set, invalidate_entries


def test_an_invalidation_during_the_fetch_means_the_value_is_not_stored(acme_context, entry):
    def fetch_then_a_write_commits() -> dict[str, str]:
        value = {"computed": "before the write"}
        invalidate_entries("acme", [entry])  # the write's on_commit runs mid-fetch
        return value

    first = get_or_set(entry, None, fetch_then_a_write_commits)
    assert first.status == MISS
    second = get_or_set(entry, None, lambda: {"computed": "after the write"})
    assert (second.status, second.value) == (MISS, {"computed": "after the write"})


def test_every_invalidation_leaves_a_new_generation_so_an_older_reader_cannot_store(
    acme_context, entry
):
    """Two writes in a row: a reader that began between them must not store either."""
    get_or_set(entry, None, lambda: {"v": 0})
    invalidate_entries("acme", [entry])

    def fetch() -> dict[str, int]:
        invalidate_entries("acme", [entry])  # a second write during this reader's fetch
        return {"v": 1}

    assert get_or_set(entry, None, fetch).status == MISS
    assert get_or_set(entry, None, lambda: {"v": 2}).value == {"v": 2}


def test_while_the_lock_is_held_a_second_reader_waits_for_the_holders_value(acme, entry, settings):
    settings.CACHE_LOCK_TTL = 30.0
    settings.CACHE_LOCK_WAIT = 30.0
    holder_computing = threading.Event()
    let_holder_finish = threading.Event()

    def in_acme(fn):  # type: ignore[no-untyped-def]
        def run():  # type: ignore[no-untyped-def]
            connection.set_tenant(acme)
            try:
                return fn()
            finally:
                connection.close()

        return run

    def holder_fetch() -> dict[str, str]:
        holder_computing.set()
        assert let_holder_finish.wait(15)
        return {"from": "holder"}

    with ThreadPoolExecutor(2) as pool:
        holder = pool.submit(in_acme(lambda: get_or_set(entry, None, holder_fetch)))
        assert holder_computing.wait(10)
        waiter = pool.submit(in_acme(lambda: get_or_set(entry, None, lambda: {"from": "waiter"})))
        # The waiter must not compute while the lock is held: it is still waiting.
        assert not waiter.done()
        let_holder_finish.set()
        assert holder.result(15).status == MISS
        result = waiter.result(15)
    assert (result.status, result.value) == (HIT, {"from": "holder"})
