"""The circuit breaker's cool-down, counted at the real Redis, not timed.

A private redis-server that requires a password the cache does not send refuses every
call, and the client drops the refused connection; Redis counts the connections it
received (INFO stats). So the number of cache calls that reached Redis is exact: within
the cool-down it must be one, the call that opened the breaker, however many ran.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tenant_cache import BYPASS, get_or_set, invalidate_entries
from tenant_cache.backend import backend
from tests.support.fixtures import point_cache_at
from tests.support.processes import wait_until
from tests.support.redis_server import PrivateRedis


@pytest.fixture
def refusing_redis(settings, tmp_path) -> Iterator[PrivateRedis]:  # type: ignore[no-untyped-def]
    """A real Redis that refuses every call of the cache (it requires a password)."""
    server = PrivateRedis(tmp_path, password="only-the-test-knows")
    server.start()
    settings.CACHE_BREAKER_COOLDOWN = 60.0
    point_cache_at(settings, server.url)  # no password: every command is refused
    yield server
    server.stop()


_admin: dict[int, object] = {}


def _calls_reached(server: PrivateRedis) -> int:
    """Connections the cache opened so far: a refused call drops its connection, so each
    cache call that reached Redis is one (this test's one INFO connection is subtracted)."""
    client = _admin.setdefault(server.port, server.client())
    return int(client.info("stats")["total_connections_received"]) - 1  # type: ignore[attr-defined]


def test_within_the_cooldown_no_read_reaches_redis(acme_context, entry, refusing_redis):
    before = _calls_reached(refusing_redis)
    results = [get_or_set(entry, None, lambda: {"v": 1}) for _ in range(40)]
    assert {r.status for r in results} == {BYPASS}
    assert _calls_reached(refusing_redis) - before == 1  # the call that opened the breaker


def test_within_the_cooldown_invalidations_do_not_reach_redis_either(
    acme_context, entry, refusing_redis
):
    get_or_set(entry, None, lambda: {"v": 1})  # opens the breaker
    before = _calls_reached(refusing_redis)
    for _ in range(10):
        invalidate_entries("acme", [entry])  # deferred, not sent
    assert _calls_reached(refusing_redis) == before


def test_after_the_cooldown_one_call_probes_and_the_breaker_opens_again(
    acme_context, entry, refusing_redis, settings
):
    settings.CACHE_BREAKER_COOLDOWN = 0.2
    get_or_set(entry, None, lambda: {"v": 1})
    before = _calls_reached(refusing_redis)
    breaker = backend().breaker
    assert wait_until(lambda: time.monotonic() >= breaker.open_until, 5, 0.02)
    for _ in range(20):
        get_or_set(entry, None, lambda: {"v": 1})
    assert _calls_reached(refusing_redis) - before == 1  # one probe, failed, open again


def test_dashboard_requests_within_the_cooldown_reach_redis_once(acme_api, in_acme, refusing_redis):
    before = _calls_reached(refusing_redis)
    statuses = {acme_api.get("/api/v1/dashboard/overview/")["X-Cache"] for _ in range(25)}
    assert statuses == {"BYPASS"}
    assert _calls_reached(refusing_redis) - before == 1
