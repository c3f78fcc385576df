"""No value older than an acknowledged invalidation survives a change of the Redis master.

Redis replication is asynchronous: an invalidation the master acknowledged may never reach
the replica that Sentinel promotes when the master dies. Each value therefore carries the
run_id of the server that stored it (`o`), and a lease the run_id of the server that
granted it; a value or a lease from another server counts for nothing (tenant_cache.scripts).

The failover here is real and deterministic: a primary, its replica (replicaof) and one
Sentinel (quorum 1). The replica is paused (SIGSTOP) and its replication link cut, the
invalidation runs on the primary alone, the primary is killed (SIGKILL: its backlog dies
with it), the replica resumes and Sentinel promotes it. The cache reaches Redis through
django-redis's SentinelClient, as settings.py configures it for REDIS_SENTINELS.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django_redis import get_redis_connection
from redis.sentinel import Sentinel

from tenant_cache import BYPASS, HIT, MISS, CacheEntry, CacheResult, get_or_set, invalidate_entries
from tenant_cache.backend import backend
from tenant_cache.invalidation import invalidate_after_write
from tenant_cache.keys import meta_key, value_key
from tenant_cache.reads import _compute_and_store, _Lease, _Slot
from tests.support.processes import LOOPBACK, free_port, spawn, stop
from tests.support.processes import wait_until as _wait_until
from tests.support.redis_server import PrivateRedis, server_epoch
from tests.support.required import require_binary

KEY = "cache:{acme}:dashboard:probe"
LOCK = "cache:{acme}:_meta:lock:dashboard:probe"
STATS = "cache:{acme}:_meta:stats"


def run_id(client: redis.Redis) -> bytes:
    """The server's epoch (its run_id and replication id) as the scripts record it."""
    return server_epoch(client)


def wait_until(predicate: Callable[[], Any], message: str, seconds: float = 30.0) -> None:
    def answered() -> bool:
        try:
            return bool(predicate())
        except redis.RedisError:
            return False

    if not _wait_until(answered, seconds, 0.05):
        raise AssertionError(message)


def read_until_cached(entry: CacheEntry, fetch: Callable[[], Any]) -> list[CacheResult]:
    """Every read until one is served by Redis again (after the old master's connections
    fail, the breaker bypasses Redis for its cool-down): BYPASS..., then MISS or HIT."""
    results = [get_or_set(entry, None, fetch)]
    deadline = time.monotonic() + 10
    while results[-1].status == BYPASS and time.monotonic() < deadline:
        time.sleep(0.05)
        results.append(get_or_set(entry, None, fetch))
    return results


# --- The primary, its replica and a Sentinel ---------------------------------------------


class SentinelPair:
    """A primary, a replica of it and one Sentinel (quorum 1) that fails over to it."""

    def __init__(self, folder: Path) -> None:
        self.primary = PrivateRedis(folder / "primary").start()
        self.replica = PrivateRedis(
            folder / "replica", extra_args=("--replicaof", LOOPBACK, str(self.primary.port))
        ).start()
        self.sentinel_port = free_port()
        self.service = f"failover{self.sentinel_port}"  # django-redis keeps a pool per URL
        config = folder / "sentinel.conf"
        config.write_text(
            f"port {self.sentinel_port}\nbind {LOOPBACK}\ndir {folder}\n"
            f"sentinel monitor {self.service} {LOOPBACK} {self.primary.port} 1\n"
            # long enough that the paused replica is never judged down (it is paused for
            # milliseconds), short enough that the failover starts soon after the kill
            f"sentinel down-after-milliseconds {self.service} 500\n"
            f"sentinel failover-timeout {self.service} 5000\n"
        )
        self.sentinel = spawn(["redis-server", str(config), "--sentinel"])
        self.watcher = redis.Redis(host=LOOPBACK, port=self.sentinel_port, socket_timeout=0.5)
        wait_until(self._replica_linked, "the replica never synchronised with the primary")
        wait_until(self._replica_known, "the Sentinel never discovered the replica")

    def _replica_linked(self) -> bool:
        return self.replica.client().info("replication").get("master_link_status") == "up"

    def _replica_known(self) -> bool:
        return any(
            int(replica["port"]) == self.replica.port
            and not replica["is_sdown"]
            and not replica["is_disconnected"]
            for replica in self.watcher.sentinel_slaves(self.service)
        )

    def master_port(self) -> int:
        """The master's port as redis-py's Sentinel support finds it (which also wants the
        Sentinel to see it up, as a master)."""
        sentinel = Sentinel([(LOOPBACK, self.sentinel_port)], socket_timeout=0.5)
        return int(sentinel.discover_master(self.service)[1])

    def fail_over(self, during: Callable[[], Any]) -> None:
        """Run `during` (an invalidation) on the primary alone, then kill the primary and
        let the Sentinel promote the replica, which therefore never saw `during`."""
        primary = self.primary.client(socket_timeout=2)
        assert primary.execute_command("WAIT", 1, 1000) == 1  # the replica has all so far
        self.replica.hang()
        try:
            # Cut the link while the replica is paused: what follows never reaches its
            # socket, and it cannot reconnect (and catch up from the backlog) before the
            # primary is gone.
            assert primary.execute_command("CLIENT", "KILL", "TYPE", "replica") == 1
            during()
            self.primary.kill()
        finally:
            self.replica.resume()
        wait_until(
            lambda: self.master_port() == self.replica.port, "the Sentinel did not fail over"
        )
        wait_until(
            lambda: self.replica.client().info("replication")["role"] == "master",
            "the replica was not promoted",
        )

    def close(self) -> None:
        stop(self.sentinel, grace=3)
        self.replica.stop()
        self.primary.stop()


@pytest.fixture
def sentinel_pair(settings, tmp_path: Path) -> Iterator[SentinelPair]:  # type: ignore[no-untyped-def]
    """The pair, and the cache configured through its Sentinel (settings.py's options)."""
    require_binary("redis-server")
    pair = SentinelPair(tmp_path)
    try:
        caches = {alias: dict(config) for alias, config in django_settings.CACHES.items()}
        caches["default"]["LOCATION"] = f"redis://{pair.service}/0"
        caches["default"]["OPTIONS"] = {
            **caches["default"]["OPTIONS"],
            "CLIENT_CLASS": "django_redis.client.SentinelClient",
            "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
            "SENTINELS": [(LOOPBACK, pair.sentinel_port)],
            "SENTINEL_KWARGS": {"socket_timeout": 0.25, "socket_connect_timeout": 0.25},
        }
        settings.CACHES = caches
        settings.CACHE_BREAKER_COOLDOWN = 0.3
        settings.CACHE_REFRESH_AHEAD = 0  # no background thread talking to the dying primary
        settings.CACHE_LOCK_TTL = 60.0  # a lease outlives the failover (its release is shown)
        yield pair
    finally:
        get_redis_connection("default").connection_pool.disconnect()
        pair.close()


# --- A failover after an invalidation only the old master acknowledged -------------------


@pytest.mark.parametrize("max_stale", [0.0, 1.0], ids=["strict", "bounded-staleness"])
def test_after_a_failover_a_value_the_old_master_invalidated_is_never_served(
    sentinel_pair, settings, acme_context, entry, max_stale
):
    settings.CACHE_MAX_STALE = max_stale
    database = {"open": 1}
    reads = [get_or_set(entry, None, lambda: dict(database)) for _ in range(2)]
    assert [r.status for r in reads] == [MISS, HIT]
    assert sentinel_pair.primary.client().execute_command("WAIT", 1, 1000) == 1
    assert sentinel_pair.replica.client().hget(KEY, "v") is not None  # replicated

    def write_and_invalidate() -> None:
        database["open"] = 2  # a write commits, and its invalidation is acknowledged...
        if max_stale:  # the writer's path: the value stays, marked stale
            invalidate_after_write("acme", [entry.id], actor=None)
            assert sentinel_pair.primary.client().hexists(KEY, "s")
        else:  # strict: dropped
            assert invalidate_entries("acme", [entry]) == 1
            assert not sentinel_pair.primary.client().exists(KEY)

    sentinel_pair.fail_over(during=write_and_invalidate)

    new_master = sentinel_pair.replica.client()
    assert new_master.hget(KEY, "g") == b"0"  # ...by the old master alone: the new one
    assert not new_master.hexists(KEY, "s")  # holds the value as current, unmarked
    after = read_until_cached(entry, lambda: dict(database))
    assert [r.value for r in after] == [{"open": 2}] * len(after)  # never the stale figure
    assert after[-1].status == MISS
    assert new_master.hget(KEY, "o") == run_id(new_master)
    again = get_or_set(entry, None, lambda: dict(database))
    assert (again.status, again.value) == (HIT, {"open": 2})


def test_a_reader_leased_on_the_old_master_stores_nothing_on_the_new_one(
    sentinel_pair, acme_context, entry
):
    database = {"open": 1}
    old_master_id = run_id(sentinel_pair.primary.client())

    def fetch_across_a_failover() -> dict[str, int]:
        seen = dict(database)  # the reader has read the database (its MISS leased it)...
        assert sentinel_pair.primary.client().get(LOCK) is not None

        def write_and_invalidate() -> None:
            database["open"] = 2  # ...then a write commits and the old master acknowledges
            assert invalidate_entries("acme", [entry]) == 0  # its invalidation (no value yet)
            assert sentinel_pair.primary.client().get(meta_key("acme", "gen", entry.id)) == b"1"

        sentinel_pair.fail_over(during=write_and_invalidate)
        # The reader's next call (its STORE) reaches the new master: drop the connections
        # to the dead one, as a client does after its first error there.
        get_redis_connection("default").connection_pool.disconnect()
        return seen

    result = get_or_set(entry, None, fetch_across_a_failover)

    assert (result.status, result.value) == (MISS, {"open": 1})  # it answers what it read
    new_master = sentinel_pair.replica.client()
    assert run_id(new_master) != old_master_id
    assert new_master.get(meta_key("acme", "gen", entry.id)) is None  # the bump was lost
    assert new_master.hget(STATS, "c|dashboard:probe") == b"1"  # its STORE ran there...
    assert not new_master.exists(KEY)  # ...and stored nothing
    assert not new_master.exists(LOCK)  # but released the lease it took on the old master
    after = get_or_set(entry, None, lambda: dict(database))
    assert (after.status, after.value) == (MISS, {"open": 2})


# --- One server: values and leases of another run_id --------------------------------------


@pytest.mark.parametrize("origin", [b"0" * 40, None], ids=["another-run-id", "none"])
@pytest.mark.parametrize("max_stale", [0.0, 1.0], ids=["strict", "bounded-staleness"])
def test_a_value_stored_by_another_server_is_not_served(
    settings, acme_context, entry, origin, max_stale
):
    """A value replicated from a former master (or stored by a version without `o`) is
    absent: a miss, recomputed and stored with this server's run_id."""
    settings.CACHE_MAX_STALE = max_stale
    client = get_redis_connection("default")
    assert get_or_set(entry, None, lambda: {"v": "old"}).status == MISS
    assert client.hget(KEY, "o") == run_id(client)
    if origin is None:
        client.hdel(KEY, "o")
    else:
        client.hset(KEY, "o", origin)

    result = get_or_set(entry, None, lambda: {"v": "new"})

    assert (result.status, result.value) == (MISS, {"v": "new"})
    assert client.hget(KEY, "o") == run_id(client)
    assert get_or_set(entry, None, lambda: {"v": "newer"}).status == HIT


def test_a_stale_value_of_another_server_is_not_served_within_the_bound(
    settings, acme_context, entry
):
    settings.CACHE_MAX_STALE = 60.0
    client = get_redis_connection("default")
    get_or_set(entry, None, lambda: {"v": "old"})
    invalidate_after_write("acme", [entry.id], actor=None)
    assert get_or_set(entry, None, lambda: {"v": "new"}).status == "STALE"  # its own: served
    client.hset(KEY, "o", b"0" * 40)

    result = get_or_set(entry, None, lambda: {"v": "new"})

    assert (result.status, result.value) == (MISS, {"v": "new"})


def _leased(entry: CacheEntry) -> tuple[_Slot, list[Any]]:
    """A reader's MISS on the test Redis: its slot and the script's reply (it holds the
    lease)."""
    be = backend()
    key = value_key("acme", entry.id)
    slot = _Slot(key, "acme", key[len("cache:{acme}:") :], entry, meta_key("acme", "ryw", "-"), "")
    reply = be.script("MISS")(
        keys=slot.miss_keys,
        args=[entry.id, "token", be.config.lock_ttl_ms, "1", be.config.max_stale_ms],
        client=be.client,
    )
    assert (reply[0], int(reply[2])) == (0, 1)
    return slot, reply


def test_a_computation_leased_by_another_server_stores_nothing_but_releases_its_lease(
    acme_context, entry
):
    client = get_redis_connection("default")
    slot, reply = _leased(entry)
    assert reply[-1] == run_id(client)  # MISS names the server that granted the lease
    lease = _Lease(reply[1], reply[4], int(reply[3]), b"0" * 40)  # as if by a former master

    result = _compute_and_store(backend(), slot, lease, lambda: {"v": 1}, by_reader=True)

    assert result.status == MISS
    assert not client.exists(KEY)
    assert not client.exists(LOCK)


def test_a_computation_leased_by_this_server_stores_its_value_with_its_run_id(acme_context, entry):
    client = get_redis_connection("default")
    slot, reply = _leased(entry)
    lease = _Lease(reply[1], reply[4], int(reply[3]), reply[-1])

    _compute_and_store(backend(), slot, lease, lambda: {"v": 1}, by_reader=True)

    assert client.hget(KEY, "o") == run_id(client)
    assert not client.exists(LOCK)
    assert get_or_set(slot.entry, None, lambda: {"v": 2}).value == {"v": 1}


def test_a_value_stored_by_another_server_does_not_block_a_store_of_an_older_generation(
    acme_context, entry
):
    """A foreign value of a higher generation (the old master's numbering) is not "newer":
    this server's own computation replaces it."""
    client = get_redis_connection("default")
    slot, reply = _leased(entry)
    client.hset(KEY, mapping={"v": b"x", "g": 99, "o": b"0" * 40})
    lease = _Lease(reply[1], reply[4], int(reply[3]), reply[-1])

    _compute_and_store(backend(), slot, lease, lambda: {"v": 1}, by_reader=True)

    assert client.hmget(KEY, "g", "o") == [b"0", run_id(client)]


# --- A restart with persistence --------------------------------------------------------


def test_after_a_restart_with_persistence_every_value_misses_once(
    private_redis, acme_context, entry
):
    """A restarted server is a new process with a new run_id: what it reloads from its RDB
    (or AOF) may predate invalidations it acknowledged and lost, so none of it is served."""
    assert get_or_set(entry, None, lambda: {"v": "old"}).status == MISS
    before = run_id(private_redis.client())
    private_redis.client().save()
    private_redis.stop()
    private_redis.start()  # same folder: it loads the snapshot
    assert private_redis.client().hget(KEY, "v") is not None
    assert run_id(private_redis.client()) != before

    after = read_until_cached(entry, lambda: {"v": "new"})

    assert [r.value for r in after] == [{"v": "new"}] * len(after)
    assert after[-1].status == MISS
    assert get_or_set(entry, None, lambda: {"v": "newer"}).status == HIT


def _replicate(replica: redis.Redis, master: PrivateRedis) -> None:
    replica.execute_command("REPLICAOF", LOOPBACK, str(master.port))
    wait_until(
        lambda: (
            replica.info("replication").get("master_link_status") == "up"
            and replica.info("replication")["master_repl_offset"]
            == master.client().info("replication")["master_repl_offset"]
        ),
        "the replica did not catch up with its master",
    )


def test_an_old_master_promoted_again_does_not_take_its_former_values_for_its_own(
    private_redis, tmp_path, acme_context, entry
):
    """Master A stores a value; B replicates it. B is promoted (REPLICAOF NO ONE, as
    Sentinel does) while A, cut off, still acknowledges an invalidation; then A, not
    restarted, becomes B's replica: its data is replaced by B's, the value A stored before
    the invalidation included. Promoted again, A has the same run_id as when it stored that
    value; only its replication id is new. The value must not be served."""
    a = private_redis
    b = PrivateRedis(tmp_path / "b").start()
    try:
        database = {"open": 1}
        assert get_or_set(entry, None, lambda: dict(database)).status == MISS
        a_before = a.client().info("server")["run_id"]
        _replicate(b.client(), a)
        assert b.client().hget(KEY, "v") is not None
        b.client().execute_command("REPLICAOF", "NO", "ONE")  # B is the master now
        database["open"] = 2
        assert invalidate_entries("acme", [entry]) == 1  # acknowledged by A alone
        assert a.client().hget(KEY, "v") is None
        _replicate(a.client(), b)  # A follows B: B's data, the old value included
        assert a.client().hget(KEY, "v") is not None
        a.client().execute_command("REPLICAOF", "NO", "ONE")  # A is the master again
        assert a.client().info("server")["run_id"] == a_before  # the same process

        after = read_until_cached(entry, lambda: dict(database))

        assert [r.value for r in after] == [{"open": 2}] * len(after)
        assert after[-1].status == MISS
        assert a.client().hget(KEY, "o") == run_id(a.client())
    finally:
        b.stop()
