"""The cache on a real Redis Cluster (3 masters on loopback, made with redis-cli --cluster),
and through a real Sentinel.

The cache code is unchanged: only the django-redis client class differs
(tenant_cache.cluster.ClusterClient, chosen by a redis+cluster:// REDIS_URL). Every key
of a tenant carries its hash tag, so all of them live in one slot on one node, and each
Lua script and pipeline runs there.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection
from django_redis import get_redis_connection

import tenant_cache
from tenant_cache import (
    BYPASS,
    HIT,
    MISS,
    CacheEntry,
    get_or_set,
    key_space_refusal,
    purge_tenant,
    registry,
    reset_backend,
)
from tenant_cache.cluster import ClusterClient, TenantCacheRedisCluster, node_urls
from tenant_cache.stats import redis_stats, tenant_stats
from tests.support.redis_server import PrivateRedis
from tests.support.required import require_binary

ROOT = Path(__file__).resolve().parents[2]


# --- The cluster -------------------------------------------------------------------------


# A cluster node is a private redis-server with cluster mode on. Its nodes.conf lives in
# its --dir, kept across a restart, so a restarted node rejoins.
CLUSTER_ARGS = (
    "--cluster-enabled",
    "yes",
    "--cluster-config-file",
    "nodes.conf",
    "--cluster-node-timeout",
    "1000",
)


@dataclass
class RedisClusterProcesses:
    nodes: list[PrivateRedis] = field(default_factory=list)

    @property
    def url(self) -> str:
        # Two startup nodes are enough to find the third.
        return ",".join(f"redis+cluster://127.0.0.1:{node.port}" for node in self.nodes[:2])

    def healthy(self) -> bool:
        for node in self.nodes:
            info = node.client().execute_command("CLUSTER INFO")
            if info["cluster_state"] != "ok" or int(info["cluster_known_nodes"]) != 3:
                return False
        return True

    def node_holding(self, pattern: str) -> PrivateRedis:
        holders = [port for port, keys in self.keys_by_node(pattern).items() if keys]
        assert len(holders) == 1, holders
        return next(node for node in self.nodes if node.port == holders[0])

    def keys_by_node(self, pattern: str) -> dict[int, set[str]]:
        return {
            node.port: {key.decode() for key in node.client().scan_iter(match=pattern)}
            for node in self.nodes
        }


def cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free too, both under 65536."""
    for _ in range(200):
        port = random.randint(20_000, 45_000)
        try:
            for candidate in (port, port + 10_000):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


def wait_until(predicate: Any, message: str, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except redis.RedisError:
            pass
        time.sleep(0.05)
    raise RuntimeError(message)


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterProcesses]:
    for binary in ("redis-server", "redis-cli"):
        require_binary(binary, "redis-server")
    folder = tmp_path_factory.mktemp("redis-cluster")
    cluster = RedisClusterProcesses(
        [
            PrivateRedis(folder / str(port), port=port, extra_args=CLUSTER_ARGS)
            for port in (cluster_port() for _ in range(3))
        ]
    )
    try:
        for node in cluster.nodes:
            node.start()
        subprocess.run(
            [
                shutil.which("redis-cli") or "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{node.port}" for node in cluster.nodes),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        wait_until(cluster.healthy, "the cluster did not reach cluster_state:ok")
        yield cluster
    finally:
        for node in cluster.nodes:
            node.stop()


@pytest.fixture
def on_cluster(settings, redis_cluster: RedisClusterProcesses) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """The cache configured as settings.py does for REDIS_URL=redis+cluster://..., emptied."""
    caches = {alias: dict(config) for alias, config in django_settings.CACHES.items()}
    caches["default"]["LOCATION"] = redis_cluster.url
    caches["default"]["OPTIONS"] = {
        **caches["default"]["OPTIONS"],
        "CLIENT_CLASS": "tenant_cache.cluster.ClusterClient",
    }
    settings.CACHES = caches
    settings.CACHE_BREAKER_COOLDOWN = 0.3
    client = get_redis_connection("default")
    assert isinstance(client, TenantCacheRedisCluster)
    client.flushdb()  # every primary
    yield client
    reset_backend()


class Counter:
    def __init__(self, value: Any) -> None:
        self.calls = 0
        self.value = value

    def __call__(self) -> Any:
        self.calls += 1
        return self.value


@pytest.fixture
def dashboard_entries() -> Iterator[tuple[CacheEntry, CacheEntry]]:
    issues = registry.register(CacheEntry("clustertest", "issue_counts", frozenset({"issues"})))
    changes = registry.register(CacheEntry("clustertest", "change_counts", frozenset({"changes"})))
    yield issues, changes
    registry.unregister(issues)
    registry.unregister(changes)


def read(tenant: Any, entry: CacheEntry, value: Any, params: dict[str, Any] | None = None) -> str:
    connection.set_tenant(tenant)
    try:
        return get_or_set(entry, params, lambda: value).status
    finally:
        connection.set_schema_to_public()


# --- Configuration -----------------------------------------------------------------------


def settings_in_subprocess(**env: str) -> dict[str, Any]:
    script = (
        "import json, firelater.settings as s; print(json.dumps(s.CACHES['default'], default=repr))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), "DEBUG": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_a_redis_cluster_url_selects_the_cluster_client():
    cache = settings_in_subprocess(REDIS_URL="redis+cluster://10.0.0.1:6379,10.0.0.2:6379")

    assert cache["OPTIONS"]["CLIENT_CLASS"] == "tenant_cache.cluster.ClusterClient"
    assert cache["LOCATION"] == "redis+cluster://10.0.0.1:6379,10.0.0.2:6379"
    plain = settings_in_subprocess(REDIS_URL="redis://10.0.0.1:6379/0", REDIS_CLUSTER="1")
    assert plain["OPTIONS"]["CLIENT_CLASS"] == "tenant_cache.cluster.ClusterClient"


def test_sentinels_select_django_redis_sentinel_client():
    cache = settings_in_subprocess(
        REDIS_URL="redis://mymaster/0", REDIS_SENTINELS="10.0.0.5:26379,10.0.0.6:26380"
    )

    assert cache["OPTIONS"]["CLIENT_CLASS"] == "django_redis.client.SentinelClient"
    assert cache["OPTIONS"]["CONNECTION_FACTORY"] == "django_redis.pool.SentinelConnectionFactory"
    assert cache["OPTIONS"]["SENTINELS"] == [["10.0.0.5", 26379], ["10.0.0.6", 26380]]


def test_startup_nodes_may_be_urls_or_host_and_port():
    assert node_urls(["redis+cluster://a:7000", "b:7001", " rediss+cluster://c:7002"]) == [
        "redis://a:7000",
        "redis://b:7001",
        "rediss://c:7002",
    ]


def test_the_cluster_client_keeps_the_tight_timeouts_and_no_retries(on_cluster):
    connection_kwargs = on_cluster.get_default_node().redis_connection.connection_pool
    assert connection_kwargs.connection_kwargs["socket_timeout"] == 0.25
    assert connection_kwargs.connection_kwargs["socket_connect_timeout"] == 0.25
    assert on_cluster.retry.get_retries() == 0
    assert isinstance(get_redis_connection("default"), TenantCacheRedisCluster)
    assert ClusterClient.get_next_client_index(None, write=False) == 0


# --- The cache on the cluster ------------------------------------------------------------


@pytest.mark.usefixtures("on_cluster")
def test_all_keys_of_a_tenant_hash_to_one_slot_on_one_node(acme, globex, redis_cluster, entry):
    for tenant in (acme, globex):
        read(tenant, entry, 1)
        tenant_cache.invalidate_tenant(tenant.schema_name)  # a generation key too
        read(tenant, entry, 1)
        read(tenant, entry, 2, {"days": 7})
        read(tenant, entry, 3)  # a hit: the stats hash exists too

    for tenant in ("acme", "globex"):
        by_node = redis_cluster.keys_by_node(f"cache:{{{tenant}}}:*")
        keys = set().union(*by_node.values())
        assert len(keys) == 6  # 2 values, generation, index, entries, stats
        assert sum(1 for found in by_node.values() if found) == 1  # one node holds them all
        slots = {
            redis_cluster.nodes[0].client().execute_command("CLUSTER KEYSLOT", key) for key in keys
        }
        assert len(slots) == 1
    acme_slot = redis_cluster.nodes[0].client().execute_command("CLUSTER KEYSLOT", "{acme}")
    assert slots != {acme_slot}  # globex's slot is not acme's (so the test spans nodes)


@pytest.mark.usefixtures("on_cluster")
def test_a_read_misses_then_hits_and_tenants_keep_their_own_values(acme, globex, entry):
    fetch = Counter({"total": 3})
    connection.set_tenant(acme)
    first = get_or_set(entry, None, fetch)
    second = get_or_set(entry, None, fetch)
    connection.set_tenant(globex)
    theirs = get_or_set(entry, None, lambda: {"total": 99})
    connection.set_schema_to_public()

    assert (first.status, second.status, theirs.status) == (MISS, HIT, MISS)
    assert second.value == {"total": 3}
    assert theirs.value == {"total": 99}
    assert fetch.calls == 1


@pytest.mark.usefixtures("on_cluster")
def test_bounded_staleness_read_your_writes_and_refresh_ahead_run_on_the_cluster(
    acme, entry, settings
):
    """Every script of the new freshness contract (stale marks, the writer's generations,
    refresh candidates) touches only keys in the tenant's slot."""
    from tenant_cache import STALE, acting_as
    from tenant_cache import refresh as refresh_ahead
    from tenant_cache.invalidation import invalidate_after_write

    settings.CACHE_MAX_STALE = 10.0
    settings.CACHE_REFRESH_DELAY = 3600.0  # drained below
    probe = registry.register(
        CacheEntry("dashboard", "probe", entry.depends_on, fetch=Counter({"v": 1}))
    )
    try:
        connection.set_tenant(acme)
        assert read(acme, probe, None) == MISS
        connection.set_tenant(acme)
        invalidate_after_write("acme", [probe.id], "writer")
        with acting_as("someone-else"):
            assert get_or_set(probe, None, lambda: {"v": 2}).status == STALE
        with acting_as("writer"):
            assert get_or_set(probe, None, lambda: {"v": 2}).status == MISS
        invalidate_after_write("acme", [probe.id], None)
        assert refresh_ahead.run_due(everything=True) == 0  # not read via read(): skipped
        from tenant_cache import read as read_entry

        tenant_cache.invalidate_entries("acme", [probe])  # strict: dropped
        assert read_entry(probe).status == MISS  # stored with its parameters
        invalidate_after_write("acme", [probe.id], None)
        assert refresh_ahead.run_due(everything=True) == 1
        assert read_entry(probe).status == HIT
    finally:
        registry.unregister(probe)
        connection.set_schema_to_public()


@pytest.mark.usefixtures("on_cluster")
def test_the_dashboard_api_caches_on_the_cluster(acme_api):
    first = acme_api.get("/api/v1/dashboard/overview/")
    second = acme_api.get("/api/v1/dashboard/overview/")

    assert (first["X-Cache"], second["X-Cache"]) == ("MISS", "HIT")
    assert first.json() == second.json()


@pytest.mark.usefixtures("on_cluster")
def test_invalidating_a_category_drops_only_that_tenants_dependent_entries(
    acme, globex, dashboard_entries
):
    issues, changes = dashboard_entries
    for tenant in (acme, globex):
        for entry in (issues, changes):
            read(tenant, entry, 1)
            read(tenant, entry, 1, {"days": 7})

    assert tenant_cache.invalidate_data("acme", "issues") == 2

    assert read(acme, issues, 2) == MISS
    assert read(acme, issues, 2, {"days": 7}) == MISS
    assert read(acme, changes, 2) == HIT
    assert read(globex, issues, 2) == HIT
    assert read(globex, issues, 2, {"days": 7}) == HIT


@pytest.mark.usefixtures("on_cluster")
def test_invalidating_a_whole_tenant_leaves_the_other_alone(acme, globex, dashboard_entries):
    issues, changes = dashboard_entries
    for tenant in (acme, globex):
        for entry in (issues, changes):
            read(tenant, entry, 1)

    assert tenant_cache.invalidate_tenant("acme") == 2

    assert [read(acme, entry, 2) for entry in (issues, changes)] == [MISS, MISS]
    assert [read(globex, entry, 2) for entry in (issues, changes)] == [HIT, HIT]


def test_purging_a_deleted_tenant_deletes_its_keys_and_leaves_the_other_alone(
    on_cluster, acme, globex, entry
):
    for tenant in (acme, globex):
        read(tenant, entry, 1)
        read(tenant, entry, 1, {"days": 7})

    assert purge_tenant("acme") > 0

    left = {key.decode() for key in on_cluster.scan_iter("cache:{acme}:*")}  # every node
    assert left == {"cache:{acme}:_meta:purged"}
    assert key_space_refusal("acme") is None  # reopened for a new tenant
    assert read(globex, entry, 2) == HIT
    assert read(globex, entry, 2, {"days": 7}) == HIT


@pytest.mark.usefixtures("on_cluster")
def test_tenant_stats_count_that_tenants_hits_misses_and_keys(acme, globex, entry):
    for _ in range(3):
        read(acme, entry, {"n": 1})
    read(acme, entry, {"n": 1}, {"days": 7})
    read(globex, entry, {"n": 1})

    acme_stats = tenant_stats("acme")
    globex_stats = tenant_stats("globex")

    assert (acme_stats["hits"], acme_stats["misses"], acme_stats["totalKeys"]) == (2, 2, 2)
    assert acme_stats["topKeys"] == [{"key": "cache:{acme}:dashboard:probe", "hits": 2}]
    assert acme_stats["memoryBytes"] > 0
    assert (globex_stats["hits"], globex_stats["misses"], globex_stats["totalKeys"]) == (0, 1, 1)
    assert "acme" not in json.dumps(globex_stats)


@pytest.mark.usefixtures("on_cluster")
def test_server_figures_add_up_every_master(redis_cluster):
    figures = redis_stats()

    per_node = [node.client().info("memory")["used_memory"] for node in redis_cluster.nodes]
    assert figures["usedMemoryBytes"] > 2 * max(per_node)  # all three, not one
    assert figures["connectedClients"] >= 3
    assert figures["redisVersion"]


@pytest.mark.usefixtures("on_cluster")
def test_a_dead_master_means_correct_bypass_answers_then_caching_resumes(
    acme, redis_cluster, entry
):
    read(acme, entry, "cached")
    owner = redis_cluster.node_holding("cache:{acme}:*")
    owner.kill()
    try:
        statuses = [read(acme, entry, "fresh") for _ in range(3)]
        connection.set_tenant(acme)
        result = get_or_set(entry, None, lambda: "fresh")
        connection.set_schema_to_public()
    finally:
        owner.start()
    assert statuses == [BYPASS] * 3
    assert result.value == "fresh"

    wait_until(redis_cluster.healthy, "the cluster did not recover")
    # The restarted master came back empty (no persistence); the client finds it again.
    deadline = time.monotonic() + 10
    statuses = []
    while time.monotonic() < deadline and statuses[-2:] != [MISS, HIT]:
        statuses.append(read(acme, entry, "again"))
        time.sleep(0.1)
    assert statuses[-2:] == [MISS, HIT], statuses


def test_an_unreachable_cluster_is_a_bypass_not_an_error(settings, acme, entry, anon_api):
    caches = {alias: dict(config) for alias, config in django_settings.CACHES.items()}
    caches["default"]["LOCATION"] = f"redis+cluster://127.0.0.1:{cluster_port()}"
    caches["default"]["OPTIONS"] = {
        **caches["default"]["OPTIONS"],
        "CLIENT_CLASS": "tenant_cache.cluster.ClusterClient",
    }
    settings.CACHES = caches

    statuses = [read(acme, entry, "from the database") for _ in range(2)]
    dashboard = anon_api.get("/api/v1/dashboard/overview/")
    token = anon_api.post("/api/v1/auth/token/", {"username": "admin", "password": "wrong"})

    assert statuses == [BYPASS, BYPASS]
    assert dashboard.status_code == 401  # routing and authentication work without Redis
    assert token.status_code == 400  # the throttle (Django's cache) fails open, no 500


# --- Sentinel (django-redis's SentinelClient, as settings.py configures it) --------------


@pytest.fixture
def on_sentinel(settings, tmp_path: Path) -> Iterator[redis.Redis]:  # type: ignore[no-untyped-def]
    """A primary and one Sentinel watching it; the cache configured through the Sentinel."""
    require_binary("redis-server")
    primary = PrivateRedis(tmp_path)
    primary.start()
    sentinel_port = cluster_port()
    service = f"firelater{sentinel_port}"  # django-redis keeps pools per URL: one per test
    config = tmp_path / "sentinel.conf"
    config.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor {service} 127.0.0.1 {primary.port} 1\n"
    )
    sentinel = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", str(config), "--sentinel"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        watcher = redis.Redis(port=sentinel_port, socket_timeout=0.5)
        wait_until(lambda: watcher.sentinel_get_master_addr_by_name(service), "no Sentinel answer")
        caches = {alias: dict(config) for alias, config in django_settings.CACHES.items()}
        caches["default"]["LOCATION"] = f"redis://{service}/0"
        caches["default"]["OPTIONS"] = {
            **caches["default"]["OPTIONS"],
            "CLIENT_CLASS": "django_redis.client.SentinelClient",
            "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
            "SENTINELS": [("127.0.0.1", sentinel_port)],
            "SENTINEL_KWARGS": {"socket_timeout": 0.25, "socket_connect_timeout": 0.25},
        }
        settings.CACHES = caches
        yield redis.Redis(port=primary.port)
    finally:
        sentinel.kill()
        sentinel.wait()
        primary.stop()
        reset_backend()


def test_the_cache_works_through_sentinel_on_the_primary_it_names(on_sentinel, acme, entry):
    statuses = [read(acme, entry, {"n": 1}) for _ in range(2)]
    tenant_cache.invalidate_tenant("acme")

    assert statuses == [MISS, HIT]
    assert read(acme, entry, {"n": 2}) == MISS
    assert on_sentinel.exists("cache:{acme}:dashboard:probe")
