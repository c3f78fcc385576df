"""A dead lock holder's stampede lock expires: with the wait bound far longer than the
lock's life, only the expiry can let a waiter through within the test's bound."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import redis
from django.db import connection

from tenant_cache import MISS, get_or_set

LOCK_KEY = "cache:{acme}:_meta:lock:dashboard:probe"


def _holder_process(redis_url: str, lock_ttl: float) -> subprocess.Popen[str]:
    """A real process that takes the probe entry's lock, says so, and hangs computing."""
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import os, time, django
            os.environ["DJANGO_SETTINGS_MODULE"] = "firelater.settings"
            django.setup()
            from django.conf import settings
            from django.db import connection
            from tenants.models import Tenant
            settings.CACHES["default"]["LOCATION"] = "{redis_url}"
            settings.CACHE_LOCK_TTL = {lock_ttl}
            from tenant_cache import CacheEntry, get_or_set, reset_backend
            reset_backend()  # read the settings above (set without setting_changed)
            connection.set_tenant(Tenant(schema_name="acme", slug="acme"))
            def hang():
                print("computing", flush=True)
                time.sleep(120)
            get_or_set(CacheEntry("dashboard", "probe", frozenset({{"issues"}})), None, hang)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )


def test_the_lock_a_reader_takes_expires_by_itself(acme, entry, private_redis, settings):
    settings.CACHE_LOCK_TTL = 0.8
    holder = _holder_process(private_redis.url, 0.8)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "computing"
        ttl_ms = redis.Redis(port=private_redis.port).pttl(LOCK_KEY)
    finally:
        holder.kill()
        holder.wait()
    assert 0 < ttl_ms <= 800  # -1 would be a lock that outlives a dead holder forever


def test_a_killed_holders_lock_expires_long_before_the_wait_bound(
    acme, entry, private_redis, settings
):
    settings.CACHE_LOCK_TTL = 0.5
    settings.CACHE_LOCK_WAIT = 120.0  # the bound alone would keep the waiter for 2 minutes
    holder = _holder_process(private_redis.url, 0.5)
    result: list[object] = []
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "computing"
        holder.kill()  # SIGKILL mid-computation: nobody will ever release its lock
        holder.wait()

        def survivor() -> None:
            connection.set_tenant(acme)
            try:
                result.append(get_or_set(entry, None, lambda: {"from": "survivor"}))
            finally:
                connection.close()

        waiter = threading.Thread(target=survivor)
        waiter.start()
        waiter.join(20)  # far below the wait bound: only the lock's expiry gets it here
        assert not waiter.is_alive(), "the dead holder's lock never expired"
    finally:
        holder.kill()
    assert [(r.status, r.value) for r in result] == [(MISS, {"from": "survivor"})]  # type: ignore[attr-defined]
