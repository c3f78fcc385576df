"""Bounded staleness, read-your-writes, coalesced recomputation and refresh-ahead: each
rule on its own, deterministic (interleavings forced from inside the fetch, staleness
ages set on Redis's own clock).

Writes are simulated by the call their on_commit runs, invalidate_after_write; the
dashboard suites and tests/reliability/test_write_storm.py drive real writes.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django_redis import get_redis_connection

from tenant_cache import (
    BYPASS,
    HIT,
    MISS,
    STALE,
    CacheEntry,
    acting_as,
    get_or_set,
    read,
    registry,
)
from tenant_cache import refresh as refresh_ahead
from tenant_cache.invalidation import invalidate_after_write
from tests.support.live import test_database_url as database_url

KEY = "cache:{acme}:dashboard:probe"
MAX_STALE = 10.0  # seconds: far longer than any step of these tests takes


@pytest.fixture(autouse=True)
def _bounded(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CACHE_MAX_STALE = MAX_STALE
    settings.CACHE_REFRESH_AHEAD = 0  # off unless a test turns it on (it runs a thread)
    settings.CACHE_LOCK_TTL = 30.0
    settings.CACHE_LOCK_WAIT = 30.0


def redis_now_ms() -> int:
    seconds, micros = get_redis_connection("default").time()
    return int(seconds) * 1000 + int(micros) // 1000


def age_stale_value(age_ms: int) -> None:
    """Make the stored value stale since `age_ms` ago, on Redis's clock."""
    get_redis_connection("default").hset(KEY, "s", redis_now_ms() - age_ms)


def write(entry: CacheEntry, actor: str | None = None) -> None:
    invalidate_after_write("acme", [entry.id], actor)


def counting(values: Iterator[dict[str, int]]):  # type: ignore[no-untyped-def]
    calls: list[int] = []

    def fetch() -> dict[str, int]:
        calls.append(1)
        return next(values)

    return fetch, calls


def test_after_a_write_other_users_get_the_previous_value_as_stale_without_computing(
    acme_context, entry
):
    get_or_set(entry, None, lambda: {"v": 0})
    write(entry, actor="writer")
    fetch, calls = counting(iter([{"v": 1}]))
    with acting_as("someone-else"):
        result = get_or_set(entry, None, fetch)
    assert (result.status, result.value, calls) == (STALE, {"v": 0}, [])
    assert get_or_set(entry, None, fetch).status == STALE  # nobody (a job): the same


def test_a_stale_value_is_served_just_inside_the_bound_and_never_at_it(acme_context, entry):
    get_or_set(entry, None, lambda: {"v": 0})
    write(entry)
    age_stale_value(int(MAX_STALE * 1000) - 500)  # 0.5 s left
    assert get_or_set(entry, None, lambda: {"v": 1}).status == STALE
    age_stale_value(int(MAX_STALE * 1000))  # exactly the bound (or a little past, by now)
    result = get_or_set(entry, None, lambda: {"v": 1})
    assert (result.status, result.value) == (MISS, {"v": 1})
    assert get_or_set(entry, None, lambda: {"v": 2}).status == HIT


def test_max_stale_zero_is_strict_every_write_drops_the_value(acme_context, entry, settings):
    settings.CACHE_MAX_STALE = 0
    get_or_set(entry, None, lambda: {"v": 0})
    write(entry, actor="writer")
    assert get_redis_connection("default").exists(KEY) == 0
    result = get_or_set(entry, None, lambda: {"v": 1})
    assert (result.status, result.value) == (MISS, {"v": 1})


def test_the_writer_reads_its_own_write_while_others_may_still_see_the_previous_value(
    acme_context, entry
):
    get_or_set(entry, None, lambda: {"v": 0})
    write(entry, actor="writer")
    with acting_as("writer"):
        mine = get_or_set(entry, None, lambda: {"v": 1})
        assert (mine.status, mine.value) == (MISS, {"v": 1})
        assert get_or_set(entry, None, lambda: {"v": 9}).status == HIT  # stored as current
    with acting_as("someone-else"):
        assert get_or_set(entry, None, lambda: {"v": 9}).value == {"v": 1}


def test_the_writer_is_not_served_a_value_computed_before_its_write_even_if_stored_after(
    acme_context, entry
):
    """A slow reader started before the write stores its value late (stale): the writer
    must still not get it; another user may."""
    get_or_set(entry, None, lambda: {"v": 0})
    write(entry)  # the old value is stale; the next reader recomputes... (another user's)

    def slow_reader_meanwhile_the_writer_writes() -> dict[str, int]:
        write(entry, actor="writer")
        return {"v": 1}  # computed before the writer's write: it lacks it

    age_stale_value(int(MAX_STALE * 1000))  # the first value is too old: a recomputation
    assert get_or_set(entry, None, slow_reader_meanwhile_the_writer_writes).status == MISS
    with acting_as("someone-else"):
        assert get_or_set(entry, None, dict).value == {"v": 1}  # stored, stale
    with acting_as("writer"):
        result = get_or_set(entry, None, lambda: {"v": 2})
    assert (result.status, result.value) == (MISS, {"v": 2})


def test_read_your_writes_holds_across_processes(acme, entry):
    """The writer's generation lives in Redis: a write whose invalidation ran in another
    process (a real subprocess, its own Django and connections) is on this process's next
    read for its writer. (No transactional_db: its flush would empty the session's
    tenants and domains for the suites that run after it.)"""
    registry.register(entry)
    try:
        connection.set_tenant(acme)
        get_or_set(entry, None, lambda: {"v": 0})
        script = textwrap.dedent(
            """
            import django
            django.setup()
            from tenant_cache.invalidation import invalidate_after_write
            invalidate_after_write("acme", ["dashboard:probe"], "writer")
            print("written")
            """
        )
        env = {
            "DATABASE_URL": database_url(),
            "CACHE_MAX_STALE": str(MAX_STALE),
            "CACHE_REFRESH_AHEAD": "0",
            "DJANGO_SETTINGS_MODULE": "firelater.settings",
        }
        done = subprocess.run(
            [sys.executable, "-c", script],
            env={**__import__("os").environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.stdout.strip().endswith("written"), done.stderr
        with acting_as("someone-else"):
            before = get_or_set(entry, None, lambda: {"v": 2})
        with acting_as("writer"):
            mine = get_or_set(entry, None, lambda: {"v": 1})
        with acting_as("someone-else"):
            theirs = get_or_set(entry, None, lambda: {"v": 2})
        assert (before.status, before.value) == (STALE, {"v": 0})
        assert (mine.status, mine.value) == (MISS, {"v": 1})
        assert (theirs.status, theirs.value) == (HIT, {"v": 1})  # current now: for everyone
    finally:
        registry.unregister(entry)
        connection.set_schema_to_public()


def _in_acme(acme, fn):  # type: ignore[no-untyped-def]
    def run():  # type: ignore[no-untyped-def]
        connection.set_tenant(acme)
        try:
            return fn()
        finally:
            connection.close()

    return run


def test_the_writer_computes_alongside_an_older_computation_instead_of_waiting(acme, entry):
    """A recomputation that started before the write holds the lease; the writer's read
    does not wait for it (it would lack the write) but computes at once."""
    connection.set_tenant(acme)
    get_or_set(entry, None, lambda: {"v": 0})
    write(entry)
    age_stale_value(int(MAX_STALE * 1000))
    holder_computing, let_holder_finish = threading.Event(), threading.Event()

    def held() -> dict[str, int]:
        holder_computing.set()
        let_holder_finish.wait(20)
        return {"v": 1}

    with ThreadPoolExecutor(1) as pool:
        holder = pool.submit(_in_acme(acme, lambda: get_or_set(entry, None, held)))
        assert holder_computing.wait(10)
        write(entry, actor="writer")
        with acting_as("writer"):
            mine = get_or_set(entry, None, lambda: {"v": 2})
        assert not let_holder_finish.is_set()
        assert not holder.done()
        let_holder_finish.set()
        assert holder.result(10).status == MISS
    assert (mine.status, mine.value) == (MISS, {"v": 2})
    with acting_as("someone-else"):  # the holder's older value did not replace the newer
        assert get_or_set(entry, None, dict).value == {"v": 2}
    connection.set_schema_to_public()


def test_n_writes_during_a_recomputation_cost_at_most_one_more(acme, entry, settings):
    """While one reader recomputes, writes keep coming and other readers keep reading:
    they get the previous value (STALE) and compute nothing; afterwards one refresh
    brings the entry current."""
    settings.CACHE_REFRESH_AHEAD = 600.0
    settings.CACHE_REFRESH_DELAY = 3600.0  # the thread would wait: this test drains it
    registry.register(entry_with_fetch := CacheEntry("dashboard", "probe", entry.depends_on))
    computations: list[int] = []
    holder_computing, let_holder_finish = threading.Event(), threading.Event()
    version = [0]

    def fetch() -> dict[str, int]:
        computations.append(1)
        if len(computations) == 2:
            holder_computing.set()
            let_holder_finish.wait(20)
        return {"v": version[0]}

    object.__setattr__(entry_with_fetch, "fetch", fetch)
    try:
        connection.set_tenant(acme)
        assert read(entry_with_fetch).status == MISS  # computation 1
        version[0] = 1
        write(entry_with_fetch)
        age_stale_value(int(MAX_STALE * 1000))  # the next reader must recompute
        with ThreadPoolExecutor(1) as pool:
            holder = pool.submit(_in_acme(acme, lambda: read(entry_with_fetch)))  # 2
            assert holder_computing.wait(10)
            get_redis_connection("default").hdel(KEY, "s")  # what it will replace: fresh
            for v in range(2, 7):  # five writes during the recomputation, readers between
                version[0] = v
                write(entry_with_fetch)
                assert read(entry_with_fetch).status == STALE
            let_holder_finish.set()
            assert holder.result(10).status == MISS
        assert len(computations) == 2
        assert refresh_ahead.run_due(everything=True) == 1  # one more for the five writes
        assert refresh_ahead.run_due(everything=True) == 0
        result = read(entry_with_fetch)
        assert (result.status, result.value, len(computations)) == (HIT, {"v": 6}, 3)
    finally:
        registry.unregister(entry_with_fetch)
        connection.set_schema_to_public()


def test_under_continuous_writes_every_computation_is_stored_and_readers_stop_waiting(
    acme_context, entry
):
    """No livelock: a write lands during every recomputation, yet each computed value is
    stored (as stale, of its generation), so the next reader is served instead of
    recomputing again."""
    client = get_redis_connection("default")
    generations = []
    for round_ in range(5):
        age_stale_value(int(MAX_STALE * 1000))  # whatever is stored is too old now

        def fetch_while_a_write_commits(round_: int = round_) -> dict[str, int]:
            write(entry)
            return {"v": round_}

        assert get_or_set(entry, None, fetch_while_a_write_commits).status == MISS
        stored = get_or_set(entry, None, lambda: {"v": -1})
        assert (stored.status, stored.value) == (STALE, {"v": round_})
        generations.append(int(client.hget(KEY, "g")))
    assert generations == sorted(generations)
    assert len(set(generations)) == 5


def test_refresh_ahead_recomputes_a_recently_read_value_after_a_write_off_the_writers_path(
    acme, entry, settings
):
    settings.CACHE_REFRESH_AHEAD = 600.0
    settings.CACHE_REFRESH_DELAY = 0.05
    calls: list[int] = []
    probe = CacheEntry(
        "dashboard", "probe", entry.depends_on, fetch=lambda: calls.append(1) or {"v": len(calls)}
    )
    registry.register(probe)
    try:
        connection.set_tenant(acme)
        assert read(probe).status == MISS
        write(probe, actor="writer")
        assert calls == [1]  # the write itself computed nothing
        assert _wait_for(lambda: read(probe).status == HIT)  # the background thread did
        assert read(probe).value == {"v": 2}
        assert calls == [1, 1]
    finally:
        registry.unregister(probe)
        connection.set_schema_to_public()


def test_refresh_ahead_waits_for_the_lease_and_skips_values_nobody_read(acme, entry, settings):
    settings.CACHE_REFRESH_AHEAD = 600.0
    settings.CACHE_REFRESH_DELAY = 3600.0  # drained by hand
    probe = CacheEntry("dashboard", "probe", entry.depends_on, fetch=lambda: {"v": 1})
    registry.register(probe)
    client = get_redis_connection("default")
    try:
        connection.set_tenant(acme)
        read(probe)
        write(probe)
        client.set("cache:{acme}:_meta:lock:dashboard:probe", "99:another process", px=30_000)
        assert refresh_ahead.run_due(everything=True) == 0  # leased elsewhere: not now
        assert refresh_ahead.pending()  # but again soon
        client.delete("cache:{acme}:_meta:lock:dashboard:probe")
        assert refresh_ahead.run_due(everything=True) == 1
        assert read(probe).status == HIT
        client.hset(KEY, "r", redis_now_ms() - 601_000)  # last read 10 minutes ago
        write(probe)
        assert refresh_ahead.run_due(everything=True) == 0
        assert not refresh_ahead.pending()
    finally:
        registry.unregister(probe)
        connection.set_schema_to_public()


def test_strict_mode_refreshes_nothing_ahead(acme_context, entry, settings):
    settings.CACHE_MAX_STALE = 0
    settings.CACHE_REFRESH_AHEAD = 600.0
    write(entry)
    assert refresh_ahead.pending() == {}


def _wait_for(condition, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_with_redis_hung_a_write_is_deferred_and_replayed_strictly_no_stale_value_after(
    acme_context, entry, private_redis
):
    """Redis away: reads are correct bypasses; when it returns, the write's deferred
    invalidation drops the old value (its commit is older than any bound by then)."""
    database = {"v": "before write"}
    get_or_set(entry, None, lambda: dict(database))
    private_redis.hang()
    try:
        database["v"] = "after write"
        invalidate_after_write("acme", [entry.id], "writer")
        during = get_or_set(entry, None, lambda: dict(database))
        assert (during.status, during.value) == (BYPASS, {"v": "after write"})
    finally:
        private_redis.resume()
    assert _wait_for(lambda: get_or_set(entry, None, lambda: dict(database)).status != BYPASS)
    with acting_as("someone-else"):
        after = get_or_set(entry, None, lambda: dict(database))
    assert (after.status, after.value) == (HIT, {"v": "after write"})
