"""Redis killed, hung and restarted for real: answers stay right, caching comes back."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
import time

import redis
from django.db import connection

from tenant_cache import BYPASS, HIT, MISS, get_or_set, invalidate_entries
from tenant_cache.backend import backend
from tenant_cache.invalidation import pending_invalidations
from tests.support import live
from tests.support.processes import wait_until


def _read_until_cached(entry, fetch, seconds=5.0):
    """Read until the breaker's cool-down has passed and caching works again."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = get_or_set(entry, None, fetch)
        if result.status != BYPASS:
            return result
        time.sleep(0.05)
    return get_or_set(entry, None, fetch)


def test_with_redis_killed_every_read_is_a_correct_bypass_and_the_breaker_opens_once(
    acme_context, entry, private_redis, caplog
):
    get_or_set(entry, None, lambda: {"v": "old"})
    private_redis.kill()
    caplog.set_level(logging.WARNING, logger="tenant_cache")
    results = [get_or_set(entry, None, lambda: {"v": "fresh"}) for _ in range(50)]
    assert {r.status for r in results} == {BYPASS}
    assert all(r.value == {"v": "fresh"} for r in results)
    assert backend().breaker.openings == 1
    assert sum("Redis unavailable" in r.message for r in caplog.records) == 1


def test_with_redis_hung_reads_bypass_after_one_timeout_and_resume_when_it_returns(
    acme_context, entry, private_redis
):
    get_or_set(entry, None, lambda: {"v": 1})
    private_redis.hang()
    try:
        first = get_or_set(entry, None, lambda: {"v": 1})  # pays one socket timeout
        assert first.status == BYPASS
        assert backend().breaker.state == "open"
        rest = [get_or_set(entry, None, lambda: {"v": 1}) for _ in range(20)]
        assert {r.status for r in rest} == {BYPASS}
    finally:
        private_redis.resume()
    assert _read_until_cached(entry, lambda: {"v": 1}).status == HIT
    assert backend().breaker.state == "closed"


def test_caching_resumes_by_itself_after_redis_restarts(acme_context, entry, private_redis):
    private_redis.kill()
    assert get_or_set(entry, None, lambda: 1).status == BYPASS
    private_redis.start()
    assert _read_until_cached(entry, lambda: 1).status == MISS  # the restart lost the data
    assert get_or_set(entry, None, lambda: 1).status == HIT


def test_an_invalidation_missed_while_redis_hung_is_replayed_before_any_hit(
    acme_context, entry, private_redis
):
    database = {"v": "before write"}
    get_or_set(entry, None, lambda: dict(database))
    private_redis.hang()
    try:
        database["v"] = "after write"  # a write commits during the outage...
        assert invalidate_entries("acme", [entry]) == 0  # ...and its invalidation fails
        assert pending_invalidations() == {"acme": {"dashboard:probe"}}
        during = get_or_set(entry, None, lambda: dict(database))
        assert (during.status, during.value) == (BYPASS, {"v": "after write"})
    finally:
        private_redis.resume()  # Redis comes back with the old entry still in memory
    after = _read_until_cached(entry, lambda: dict(database))
    assert (after.status, after.value) == (MISS, {"v": "after write"})
    assert pending_invalidations() == {}


def test_a_missed_invalidation_is_replayed_in_the_background_without_traffic(
    acme_context, entry, private_redis
):
    get_or_set(entry, None, lambda: 1)
    private_redis.hang()
    try:
        invalidate_entries("acme", [entry])
    finally:
        private_redis.resume()
    assert wait_until(lambda: pending_invalidations() == {}, 5)
    direct = redis.Redis(port=private_redis.port)
    assert direct.get("cache:{acme}:dashboard:probe") is None


def test_another_processs_deferred_invalidation_is_replayed_before_a_hit(
    acme_context, entry, private_redis
):
    """Worker B failed to invalidate (recorded in PostgreSQL); worker A, recovering, must
    replay it before serving the entry it still has in Redis."""
    from tenant_cache.models import DeferredCacheInvalidation

    get_or_set(entry, None, lambda: {"v": "old"})
    private_redis.hang()
    try:
        assert get_or_set(entry, None, lambda: {"v": "new"}).status == BYPASS  # A sees it
        DeferredCacheInvalidation.objects.create(tenant="acme", entry_ids=[entry.id])  # B
    finally:
        private_redis.resume()
    after = _read_until_cached(entry, lambda: {"v": "new"})
    assert (after.status, after.value) == (MISS, {"v": "new"})
    assert not DeferredCacheInvalidation.objects.exists()


def _run_in_another_process(code: str, redis_url: str) -> str:
    """Run `code` in a new Django process on the test database and this Redis; its stdout."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "firelater.settings",
        "DATABASE_URL": live.test_database_url(),
        "REDIS_URL": redis_url,
    }
    setup = "import django\ndjango.setup()\n"
    done = subprocess.run(
        [sys.executable, "-c", setup + textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _forget_committed_deferrals() -> None:
    """Delete what other processes committed to the shared table, on a connection of its
    own (the test's transaction is rolled back, their rows would outlive it)."""
    from tenant_cache.models import DeferredCacheInvalidation

    def delete() -> None:
        try:
            DeferredCacheInvalidation.objects.all().delete()
        finally:
            connection.close()  # this thread's own connection

    worker = threading.Thread(target=delete)
    worker.start()
    worker.join()


def test_an_invalidation_a_dead_process_deferred_is_replayed_before_a_new_process_serves(
    acme_context, entry, private_redis
):
    """Worker B fails to invalidate while Redis hangs (its row is committed) and exits
    before Redis returns (a deploy, worker recycling, OOM). Worker C starts afterwards and
    never saw a failure: its first read must not be the entry B could not drop."""
    from tenant_cache.models import DeferredCacheInvalidation

    assert get_or_set(entry, None, lambda: {"v": "before the write"}).status == MISS
    try:
        private_redis.hang()
        try:
            _run_in_another_process(  # worker B
                f"""
                from tenant_cache import invalidate_entries
                invalidate_entries("acme", [{entry.id!r}])
                """,
                private_redis.url,
            )
        finally:
            private_redis.resume()  # with the old entry still in memory
        assert DeferredCacheInvalidation.objects.filter(tenant="acme").count() == 1

        output = _run_in_another_process(  # worker C, started after the outage
            """
            from django.db import connection
            from tenant_cache import CacheEntry, get_or_set
            from tenant_cache.models import DeferredCacheInvalidation
            from tenants.models import Tenant
            connection.set_tenant(Tenant.objects.get(slug="acme"))
            entry = CacheEntry("dashboard", "probe", frozenset({"issues"}))
            first = get_or_set(entry, None, lambda: {"v": "after the write"})
            left = DeferredCacheInvalidation.objects.filter(tenant="acme").count()
            print(first.status, first.value["v"], left, sep="|")
            """,
            private_redis.url,
        )

        assert output.strip().split("|") == ["MISS", "after the write", "0"]
    finally:
        _forget_committed_deferrals()
