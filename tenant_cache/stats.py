"""Cache figures per tenant (from counters the read script keeps) and for Redis overall.

Nothing here uses KEYS or a keyspace SCAN: a tenant's keys are found through its own
entry indexes, so the cost is that tenant's key count, whatever else Redis holds.
"""

from __future__ import annotations

from typing import Any

from redis.cluster import RedisCluster
from redis.exceptions import RedisError

from tenant_cache.backend import backend
from tenant_cache.keys import check_tenant, meta_key
from tenant_cache.tenants import tenant_queryset


def _human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.1f}{unit}" if unit != "B" else f"{int(value)}B"
        value /= 1024
    return f"{value:.1f}GB"


def tenant_stats(tenant: str, *, top: int = 10) -> dict[str, Any]:
    """Hits, misses, hit rate, live keys, memory and top keys of one tenant.

    Raises RedisError when Redis is unreachable (callers say so to their user).
    """
    tenant = check_tenant(tenant)
    client = backend().client
    with client.pipeline(transaction=False) as pipe:
        pipe.hgetall(meta_key(tenant, "stats"))
        pipe.smembers(meta_key(tenant, "entries"))
        counters, entries = pipe.execute()
    entry_ids = sorted(e.decode() for e in entries)

    with client.pipeline(transaction=False) as pipe:
        for entry_id in entry_ids:
            pipe.smembers(meta_key(tenant, "idx", entry_id))
        indexed = pipe.execute() if entry_ids else []
    keys = sorted({k.decode() for members in indexed for k in members})

    memory = 0
    live = []
    if keys:
        with client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.memory_usage(key, samples=0)
            usages = pipe.execute()
        for key, usage in zip(keys, usages, strict=True):
            if usage is not None:  # None: expired since it was indexed
                live.append(key)
                memory += int(usage)

    # Counters: 'h|<key tail>' per value key hit, 's|<key tail>' per stale value served
    # (a hit too: no reader waited), 'm|<entry id>' per entry miss, 'c|<key tail>' per
    # computation stored or tried (readers' and refresh-ahead's).
    key_hits: dict[str, int] = {}

    def counts(entry_id: str) -> dict[str, int]:
        return per_entry.setdefault(
            entry_id, {"hits": 0, "misses": 0, "stale": 0, "computations": 0}
        )

    per_entry: dict[str, dict[str, int]] = {}
    for entry_id in entry_ids:
        counts(entry_id)
    for raw_field, raw_count in counters.items():
        kind, _, name = raw_field.decode().partition("|")
        count = int(raw_count)
        entry_of_key = ":".join(name.split(":", 2)[:2])
        if kind in ("h", "s"):
            key_hits[name] = key_hits.get(name, 0) + count
            counts(entry_of_key)["hits"] += count
            if kind == "s":
                counts(entry_of_key)["stale"] += count
        elif kind == "m":
            counts(name)["misses"] += count
        elif kind == "c":
            counts(entry_of_key)["computations"] += count
    hits = sum(e["hits"] for e in per_entry.values())
    misses = sum(e["misses"] for e in per_entry.values())
    prefix = meta_key(tenant, "")[: -len("_meta:")]
    top_keys = [
        {"key": prefix + tail, "hits": count}
        for tail, count in sorted(key_hits.items(), key=lambda item: (-item[1], item[0]))[:top]
    ]
    return {
        "tenant": tenant,
        "hitRate": round(100.0 * hits / (hits + misses), 1) if hits + misses else 0.0,
        "hits": hits,
        "misses": misses,
        "totalKeys": len(live),
        "memoryUsed": _human_bytes(memory),
        "memoryBytes": memory,
        "topKeys": top_keys,
        "entries": [{"entry": name, **counts} for name, counts in sorted(per_entry.items())],
    }


def reset_tenant_stats(tenant: str) -> None:
    tenant = check_tenant(tenant)
    backend().client.delete(meta_key(tenant, "stats"))


_CLUSTER_SUMMED = (
    "used_memory",
    "maxmemory",
    "evicted_keys",
    "expired_keys",
    "connected_clients",
    "keyspace_hits",
    "keyspace_misses",
)


def _server_info(client: Any) -> dict[str, Any]:
    """INFO of the server; of a Redis Cluster, its primaries' figures added up (INFO on a
    cluster client asks one node only)."""
    if not isinstance(client, RedisCluster):
        return dict(client.info())
    per_node = list(client.info(target_nodes=RedisCluster.PRIMARIES).values())
    summed = {name: sum(int(node.get(name, 0)) for node in per_node) for name in _CLUSTER_SUMMED}
    return {
        **per_node[0],
        **summed,
        "used_memory_human": _human_bytes(summed["used_memory"]),
        "maxmemory_human": _human_bytes(summed["maxmemory"]),
    }


def redis_stats() -> dict[str, Any]:
    """Server-wide figures from INFO: memory, evictions, clients, hit counters."""
    info = _server_info(backend().client)
    return {
        "usedMemory": info.get("used_memory_human"),
        "usedMemoryBytes": info.get("used_memory"),
        "maxMemory": info.get("maxmemory_human"),
        "evictedKeys": info.get("evicted_keys", 0),
        "expiredKeys": info.get("expired_keys", 0),
        "connectedClients": info.get("connected_clients", 0),
        "keyspaceHits": info.get("keyspace_hits", 0),
        "keyspaceMisses": info.get("keyspace_misses", 0),
        "redisVersion": info.get("redis_version"),
    }


def status() -> dict[str, Any]:
    """For a readiness probe: does Redis answer PING now, and the breaker's state."""
    be = backend()
    try:
        available = bool(be.client.ping())
    except RedisError:
        available = False
    return {"available": available, "breaker": str(be.breaker.state)}


def platform_stats(*, top: int = 10) -> dict[str, Any]:
    """Per-tenant figures for every tenant, totals, and Redis's INFO figures."""
    try:
        per_tenant = [tenant_stats(t.schema_name, top=top) for t in tenant_queryset()]
        server = redis_stats()
    except RedisError as error:
        return {"available": False, "error": f"Redis unavailable: {error}", "tenants": []}
    hits = sum(t["hits"] for t in per_tenant)
    misses = sum(t["misses"] for t in per_tenant)
    top_keys = sorted(
        (k for t in per_tenant for k in t["topKeys"]), key=lambda k: (-k["hits"], k["key"])
    )[:top]
    return {
        "available": True,
        "hitRate": round(100.0 * hits / (hits + misses), 1) if hits + misses else 0.0,
        "hits": hits,
        "misses": misses,
        "totalKeys": sum(t["totalKeys"] for t in per_tenant),
        "memoryUsed": server["usedMemory"],
        "topKeys": top_keys,
        "tenants": per_tenant,
        "redis": server,
    }
