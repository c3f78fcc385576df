"""get_or_set on the real Redis: hit/miss, TTL, tenants, invalidation, stats, compression."""

from __future__ import annotations

import datetime as dt
import decimal
import time
import uuid

import pytest
from django.db import connection
from django.utils import timezone
from django_redis import get_redis_connection

from tenant_cache import (
    BYPASS,
    HIT,
    MISS,
    CacheEntry,
    Expiring,
    get_or_set,
    invalidate_data,
    invalidate_entries,
    invalidate_tenant,
    registry,
)
from tenant_cache.stats import redis_stats, tenant_stats


class Counter:
    def __init__(self, value=None):
        self.calls = 0
        self.value = value if value is not None else {"n": 1}

    def __call__(self):
        self.calls += 1
        return self.value


def test_the_first_read_misses_and_the_second_hits(acme_context, entry):
    fetch = Counter({"total": 3})
    first = get_or_set(entry, None, fetch)
    second = get_or_set(entry, None, fetch)
    assert (first.status, second.status) == (MISS, HIT)
    assert first.value == second.value == {"total": 3}
    assert fetch.calls == 1


def test_values_round_trip_exactly_as_json(acme_context, entry):
    moment = dt.datetime(2026, 11, 25, 3, 4, 5, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    ident = uuid.uuid4()
    value = {
        "at": moment,
        "day": moment.date(),
        "amount": decimal.Decimal("0.1000000000000000055"),
        "id": ident,
    }
    miss = get_or_set(entry, None, lambda: value)
    hit = get_or_set(entry, None, lambda: value)
    assert miss.value == hit.value
    assert dt.datetime.fromisoformat(hit.value["at"]) == moment
    assert dt.date.fromisoformat(hit.value["day"]) == moment.date()
    assert decimal.Decimal(hit.value["amount"]) == value["amount"]
    assert uuid.UUID(hit.value["id"]) == ident


def test_an_entry_expires_after_its_ttl(acme_context, settings):
    settings.CACHE_TTL = {"short": 1, "default": 300}
    short = CacheEntry("dashboard", "short", frozenset({"issues"}))
    fetch = Counter()
    get_or_set(short, None, fetch)
    ttl = get_redis_connection("default").ttl("cache:{acme}:dashboard:short")
    assert 0 < ttl <= 1
    time.sleep(1.1)
    assert get_or_set(short, None, fetch).status == MISS
    assert fetch.calls == 2


def test_ttls_are_jittered_below_the_configured_value(acme_context, settings):
    settings.CACHE_TTL = {"default": 1000}
    client = get_redis_connection("default")
    ttls = set()
    for i in range(20):
        e = CacheEntry("dashboard", f"jitter{i}", frozenset({"issues"}))
        get_or_set(e, None, dict)
        ttls.add(client.ttl(f"cache:{{acme}}:dashboard:jitter{i}"))
    assert all(900 <= t <= 1000 for t in ttls)
    assert len(ttls) > 1


def test_parameters_are_part_of_the_key(acme_context, entry):
    assert get_or_set(entry, {"days": 7}, lambda: 7).value == 7
    assert get_or_set(entry, {"days": 30}, lambda: 30).value == 30
    assert get_or_set(entry, {"days": 7}, lambda: -1).value == 7


def test_the_same_entry_holds_a_value_per_tenant(acme, globex, entry):
    connection.set_tenant(acme)
    get_or_set(entry, None, lambda: "acme's")
    connection.set_tenant(globex)
    assert get_or_set(entry, None, lambda: "globex's").value == "globex's"
    connection.set_tenant(acme)
    assert get_or_set(entry, None, lambda: "wrong").value == "acme's"


def test_invalidating_a_category_drops_exactly_that_tenants_dependent_entries(
    acme, globex, entry, other_entry
):
    for tenant in (acme, globex):
        connection.set_tenant(tenant)
        get_or_set(entry, None, lambda: 1)
        get_or_set(entry, {"days": 7}, lambda: 1)
        get_or_set(other_entry, None, lambda: 1)
    dropped = invalidate_entries("acme", [entry])
    assert dropped == 2
    connection.set_tenant(acme)
    assert get_or_set(entry, None, lambda: 2).status == MISS
    assert get_or_set(entry, {"days": 7}, lambda: 2).status == MISS
    assert get_or_set(other_entry, None, lambda: 2).status == HIT
    connection.set_tenant(globex)
    assert get_or_set(entry, None, lambda: 2).status == HIT
    assert get_or_set(other_entry, None, lambda: 2).status == HIT


def test_invalidate_by_category_uses_the_registry(acme_context):
    issues_entry = registry.register(CacheEntry("testcat", "issue_counts", frozenset({"issues"})))
    change_entry = registry.register(CacheEntry("testcat", "change_counts", frozenset({"changes"})))
    try:
        get_or_set(issues_entry, None, lambda: 1)
        get_or_set(change_entry, None, lambda: 1)
        invalidate_data("acme", "issues")
        assert get_or_set(issues_entry, None, lambda: 2).status == MISS
        assert get_or_set(change_entry, None, lambda: 2).status == HIT
    finally:
        registry.unregister(issues_entry)
        registry.unregister(change_entry)


def test_invalidating_a_tenant_drops_all_its_entries_and_no_other_tenants(
    acme, globex, entry, other_entry
):
    for tenant in (acme, globex):
        connection.set_tenant(tenant)
        get_or_set(entry, None, lambda: 1)
        get_or_set(other_entry, None, lambda: 1)
    assert invalidate_tenant("acme") == 2
    connection.set_tenant(acme)
    assert get_or_set(entry, None, lambda: 2).status == MISS
    assert get_or_set(other_entry, None, lambda: 2).status == MISS
    connection.set_tenant(globex)
    assert get_or_set(entry, None, lambda: 2).status == HIT


def test_invalidation_never_scans_the_keyspace(acme_context, entry):
    client = get_redis_connection("default")
    get_or_set(entry, None, lambda: 1)
    client.config_resetstat()
    invalidate_entries("acme", [entry])
    commands = client.info("commandstats")
    assert not any(name in commands for name in ("cmdstat_scan", "cmdstat_keys"))


def test_a_hostile_parameter_cannot_reach_another_tenants_keys(acme, globex, entry):
    connection.set_tenant(globex)
    get_or_set(entry, None, lambda: "globex")
    connection.set_tenant(acme)
    for hostile in ("*", "}:dashboard:probe", "{globex}", ":cache:{globex}:dashboard:probe"):
        get_or_set(entry, {"q": hostile}, lambda: "acme")
    invalidate_entries("acme", [entry])
    connection.set_tenant(globex)
    assert get_or_set(entry, None, lambda: "other").value == "globex"
    client = get_redis_connection("default")
    acme_keys = [k.decode() for k in client.scan_iter("cache:{acme}:dashboard:*")]
    assert acme_keys == []


def test_values_over_10kb_are_stored_compressed(acme_context, entry):
    client = get_redis_connection("default")
    small = {"rows": "x" * 1000}
    large = {"rows": [{"id": i, "title": f"issue {i}"} for i in range(1000)]}
    get_or_set(entry, {"size": "small"}, lambda: small)
    get_or_set(entry, {"size": "large"}, lambda: large)
    small_raw = client.hget("cache:{acme}:dashboard:probe:size=small", "v")
    large_raw = client.hget("cache:{acme}:dashboard:probe:size=large", "v")
    assert small_raw[:1] == b"j"
    assert large_raw[:1] == b"z"
    assert len(large_raw) < len(large["rows"]) * 10
    assert get_or_set(entry, {"size": "large"}, dict).value == large


def test_stats_count_hits_misses_keys_and_top_keys_per_tenant(acme, globex, entry, other_entry):
    connection.set_tenant(acme)
    for _ in range(3):
        get_or_set(entry, None, lambda: 1)
    get_or_set(other_entry, None, lambda: 1)
    connection.set_tenant(globex)
    get_or_set(entry, None, lambda: 1)

    stats = tenant_stats("acme")
    assert (stats["hits"], stats["misses"]) == (2, 2)
    assert stats["hitRate"] == 50.0
    assert stats["totalKeys"] == 2
    assert stats["memoryBytes"] > 0
    assert stats["topKeys"][0] == {"key": "cache:{acme}:dashboard:probe", "hits": 2}
    probe = {"entry": "dashboard:probe", "hits": 2, "misses": 1, "stale": 0, "computations": 1}
    assert probe in stats["entries"]
    assert tenant_stats("globex")["misses"] == 1


def test_stats_do_not_count_keys_that_expired(acme_context, entry):
    get_or_set(entry, None, lambda: 1)
    get_redis_connection("default").delete("cache:{acme}:dashboard:probe")
    assert tenant_stats("acme")["totalKeys"] == 0


def test_global_redis_figures_come_from_info(db):
    figures = redis_stats()
    assert figures["usedMemoryBytes"] > 0
    assert "evictedKeys" in figures


def test_a_failing_fetcher_releases_its_lock(acme_context, entry):
    def boom():
        raise ValueError("query failed")

    with pytest.raises(ValueError, match="query failed"):
        get_or_set(entry, None, boom)
    assert not get_redis_connection("default").exists("cache:{acme}:_meta:lock:dashboard:probe")
    assert get_or_set(entry, None, lambda: 1).status == MISS


def test_a_closed_port_means_bypass_with_correct_data(acme_context, entry, settings):
    from tests.support.fixtures import point_cache_at
    from tests.support.processes import free_port

    point_cache_at(settings, f"redis://127.0.0.1:{free_port()}/0")
    result = get_or_set(entry, None, lambda: {"fresh": True})
    assert (result.status, result.value) == (BYPASS, {"fresh": True})


def test_an_expiring_value_is_stored_alone_until_its_instant_at_most(acme_context, entry):
    client = get_redis_connection("default")
    soon = timezone.now() + dt.timedelta(seconds=5)
    miss = get_or_set(entry, None, lambda: Expiring({"n": 1}, soon))
    hit = get_or_set(entry, None, lambda: Expiring({"n": 2}, soon))
    assert (miss.status, hit.status) == (MISS, HIT)
    assert miss.body == hit.body == b'{"n":1}'  # the value only, as without Expiring
    cache_key = "cache:{acme}:dashboard:probe"
    kept_until = timezone.now() + dt.timedelta(milliseconds=client.pttl(cache_key))
    # kept until `soon`, give or take the time Redis took to run the SET (< a socket timeout)
    assert soon - dt.timedelta(seconds=1) < kept_until <= soon + dt.timedelta(milliseconds=250)


def test_an_expiring_value_lives_at_least_a_second_and_at_most_its_ttl(acme_context, entry):
    client = get_redis_connection("default")
    get_or_set(entry, {"at": "now"}, lambda: Expiring(1, timezone.now()))
    # Read at once: the key's life counts down while the other two are computed.
    assert 500 <= client.pttl("cache:{acme}:dashboard:probe:at=now") <= 1000  # MIN_TTL_MS
    get_or_set(entry, {"at": "later"}, lambda: Expiring(1, timezone.now() + dt.timedelta(days=9)))
    get_or_set(entry, {"at": "never"}, lambda: Expiring(1, None))
    assert 269_000 <= client.pttl("cache:{acme}:dashboard:probe:at=later") <= 300_000
    assert 269_000 <= client.pttl("cache:{acme}:dashboard:probe:at=never") <= 300_000


def test_a_bypass_returns_the_value_of_an_expiring_fetch(acme_context, entry, settings):
    from tests.support.fixtures import point_cache_at
    from tests.support.processes import free_port

    point_cache_at(settings, f"redis://127.0.0.1:{free_port()}/0")
    result = get_or_set(entry, None, lambda: Expiring({"fresh": True}, timezone.now()))
    assert (result.status, result.value) == (BYPASS, {"fresh": True})
