"""Per dashboard endpoint: cold (miss) and warm (hit) latency, SQL queries, payload size;
and one full dashboard load (every endpoint once) cold vs warm vs the original's 14.

Server-side latency is X-Bench-Server-Ms (bench.middleware, outermost); client-side is
the round trip on loopback through gunicorn. A cold sample invalidates the entry first
(through the cache module, as a write would), so the request is a MISS and recomputes.
"""

from __future__ import annotations

from typing import Any

from bench.common import PORT_MAIN, Reply, Server, latency_summary, sample, say
from bench.data import Context

# The original FireLater's dashboard: 14 SQL queries per load, uncached (issue #7).
ORIGINAL_QUERIES_PER_LOAD = 14


def dashboard_endpoints() -> list[tuple[str, str, Any]]:
    """(name, path with the default parameters, cache entry) of every declared dashboard
    entry (dashboard.entries.ENTRIES: a new entry is benched without editing this file)."""
    from dashboard.entries import ENTRIES

    return [(e.path, e.default_url, e.cache) for e in ENTRIES]


OVERVIEW_PATH = "/api/v1/dashboard/overview/"
NOCACHE_PATH = "/bench/nocache/overview/"
TRIVIAL_PATH = "/bench/trivial/"
FLOOR_PATH = "/bench/floor/"


def invalidator(tenant: str, entry: Any) -> Any:
    from tenant_cache import invalidate_entries

    return lambda: invalidate_entries(tenant, [entry])


def warm_up(server: Server, ctx: Context, path: str, n: int = 8) -> None:
    """Each worker's first requests look the tenant up and open its connection."""
    sample(server.port, path, ctx.acme.host, ctx.acme.token, n)


def measure_endpoints(server: Server, ctx: Context) -> dict[str, Any]:
    profile, acme = ctx.profile, ctx.acme
    results: dict[str, Any] = {}
    warm_up(server, ctx, TRIVIAL_PATH)
    for name, path, entry in dashboard_endpoints():
        cold = sample(
            server.port,
            path,
            acme.host,
            acme.token,
            profile.cold_samples,
            before=invalidator(acme.slug, entry),
            expect_cache="MISS",
        )
        warm = sample(
            server.port, path, acme.host, acme.token, profile.warm_samples, expect_cache="HIT"
        )
        results[name] = {"path": path, "cold": latency_summary(cold), "warm": latency_summary(warm)}
        say(
            f"{name:20s} cold p50 {results[name]['cold']['server_ms']['p50']:8.2f} ms  "
            f"warm p50 {results[name]['warm']['server_ms']['p50']:6.3f} ms  "
            f"queries {cold[-1].queries}->{warm[-1].queries}  {len(warm[-1].body):,} B"
        )
    return results


def measure_baselines(server: Server, ctx: Context) -> dict[str, Any]:
    """The warm overview beside the selector without a cache (the cold baseline), a trivial
    DRF endpoint and the floor, their requests interleaved round by round: a burst of load
    from elsewhere on the machine then slows all four alike, and their ratios (the
    headline's) stay fair. Each round: one uncached request, then a few of each other."""
    acme = ctx.acme
    rounds = max(ctx.profile.cold_samples * 3, 10)
    per_round = max(1, ctx.profile.warm_samples // rounds)
    interleaved = [
        ("warm_overview", OVERVIEW_PATH, acme.token),
        ("trivial", TRIVIAL_PATH, acme.token),
        ("drf_anonymous", "/bench/drf-anon/", None),
        ("tenant_json", "/bench/tenant-json/", None),
        ("floor", FLOOR_PATH, None),
    ]
    replies: dict[str, list[Reply]] = {"nocache_overview": []}
    replies.update({name: [] for name, _, _ in interleaved})
    sample(server.port, OVERVIEW_PATH, acme.host, acme.token, 2)  # make sure it is cached
    for _ in range(rounds):
        replies["nocache_overview"] += sample(server.port, NOCACHE_PATH, acme.host, acme.token, 1)
        for _ in range(per_round):
            for name, path, token in interleaved:
                replies[name] += sample(server.port, path, acme.host, token, 1)
    return {name: latency_summary(found) for name, found in replies.items()}


def measure_full_load(server: Server, ctx: Context, rounds: int = 3) -> dict[str, Any]:
    """SQL queries of one full dashboard load (every endpoint once), cold and warm."""
    from tenant_cache import invalidate_tenant

    acme = ctx.acme
    loads: dict[str, list[dict[str, float]]] = {"cold": [], "warm": []}
    endpoints = dashboard_endpoints()
    for _ in range(rounds):
        invalidate_tenant(acme.slug)
        for state in ("cold", "warm"):
            replies = [
                sample(server.port, path, acme.host, acme.token, 1)[0] for _, path, _ in endpoints
            ]
            loads[state].append(
                {
                    "queries": sum(r.queries for r in replies),
                    "data_queries": sum(r.data_queries for r in replies),
                    "server_ms": round(sum(r.server_ms for r in replies), 3),
                    "client_ms": round(sum(r.ms for r in replies), 3),
                    "bytes": sum(len(r.body) for r in replies),
                    "x_cache": sorted({r.cache for r in replies}),
                }
            )
    return {
        "endpoints": len(endpoints),
        "original_queries": ORIGINAL_QUERIES_PER_LOAD,
        "cold": loads["cold"][-1],
        "warm": loads["warm"][-1],
        "rounds": loads,
    }


def run(ctx: Context) -> dict[str, Any]:
    say("endpoints: cold vs warm per dashboard endpoint (instrumented server)")
    with Server(ctx.profile, "instrumented", PORT_MAIN, BENCH_INSTRUMENT="1") as server:
        return {
            "endpoints": measure_endpoints(server, ctx),
            "baselines": measure_baselines(server, ctx),
            "full_load": measure_full_load(server, ctx),
        }


if __name__ == "__main__":
    from bench.common import main_for

    main_for("endpoints", run)
