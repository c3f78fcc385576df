"""Side by side on the same data and server settings: (a) no cache, (b) Django's cache_page
keyed per tenant, (c) django-cachalot keyed per tenant, (d) ours. Warm latency, SQL
queries, throughput and freshness (how long each serves stale data after a write).

cachalot patches every ORM query of the process, so it gets a server of its own (the
same settings plus the cachalot app); the others share one. A last server runs cachalot
out of the box, to show what it does across tenants under django-tenants.
"""

from __future__ import annotations

import time
from typing import Any

from bench.common import (
    PORT_MAIN,
    PORT_PEER,
    Server,
    http_get,
    http_request,
    latency_summary,
    ratio,
    sample,
    say,
    wrk_tenant,
)
from bench.data import PROBE_TITLE, Context, remove_bench_writes
from bench.endpoints import NOCACHE_PATH, OVERVIEW_PATH, warm_up

CACHALOT_PATH = "/bench/cachalot/overview/"
CONTENDERS = {
    "nocache": {"path": NOCACHE_PATH, "server": "main", "label": "no cache (selector)"},
    "cache_page": {
        "path": "/bench/cachepage/overview/",
        "server": "main",
        "label": "Django cache_page (per tenant)",
    },
    "cachalot": {
        "path": CACHALOT_PATH,
        "server": "cachalot",
        "label": "django-cachalot (per tenant)",
    },
    "ours": {"path": OVERVIEW_PATH, "server": "main", "label": "ours (tenant_cache)"},
}
CACHE_PAGE_TTL = 300
CONCURRENCY = (16, 64)


def _servers(ctx: Context, instrumented: bool) -> dict[str, Server]:
    flag = "1" if instrumented else "0"
    suffix = "-instrumented" if instrumented else ""
    return {
        "main": Server(ctx.profile, f"compare-main{suffix}", PORT_MAIN, BENCH_INSTRUMENT=flag),
        "cachalot": Server(
            ctx.profile,
            f"compare-cachalot{suffix}",
            PORT_PEER,
            BENCH_INSTRUMENT=flag,
            BENCH_CACHALOT="1",
        ),
    }


def warm_latency(server: Server, ctx: Context, path: str) -> dict[str, Any]:
    acme = ctx.acme
    warm_up(server, ctx, path, 10)
    replies = sample(server.port, path, acme.host, acme.token, ctx.profile.warm_samples)
    return {**latency_summary(replies), "x_cache": sorted({r.cache for r in replies} - {""})}


def freshness(
    server: Server, ctx: Context, path: str, cap: float, trials: int = 2
) -> dict[str, Any]:
    """After a write through the API, how long the endpoint keeps answering the old total.

    The entry is read first (so a caching peer holds it), then an issue is written; the
    endpoint is polled every 50 ms until it shows the write, for at most `cap` seconds.
    """
    acme = ctx.acme
    worst: dict[str, Any] = {"stale_seconds": 0.0, "stale_reads": 0, "capped": False}
    for _ in range(trials):
        before = http_get(server.port, path, acme.host, acme.token).json()["issues"]["total"]
        created = http_request(
            server.port,
            "/api/v1/issues/",
            acme.host,
            token=acme.token,
            method="POST",
            body={"title": PROBE_TITLE, "priority": "low"},
        )
        if created.status != 201:
            raise RuntimeError(f"POST issue: {created.status} {created.body[:200]!r}")
        written = time.monotonic()
        stale_reads = 0
        while True:
            total = http_get(server.port, path, acme.host, acme.token).json()["issues"]["total"]
            if total >= before + 1:
                stale_for = 0.0 if stale_reads == 0 else time.monotonic() - written
                capped = False
                break
            stale_reads += 1
            if time.monotonic() - written >= cap:
                stale_for, capped = time.monotonic() - written, True
                break
            time.sleep(0.05)
        if capped:  # stale until its TTL ends: a second trial would only wait again
            return {
                "stale_seconds": round(stale_for, 3),
                "stale_reads": stale_reads,
                "capped": True,
            }
        if stale_for >= worst["stale_seconds"]:
            worst = {
                "stale_seconds": round(stale_for, 3),
                "stale_reads": stale_reads,
                "capped": capped,
            }
    return worst


def cross_check(server: Server, ctx: Context) -> dict[str, Any]:
    """The ORM overview (cachalot's) must report the same numbers as the selector."""
    acme = ctx.acme
    ours = http_get(server.port, NOCACHE_PATH, acme.host, acme.token).json()
    orm = http_get(server.port, CACHALOT_PATH, acme.host, acme.token).json()
    differences = {
        f"{group}.{name}": [ours[group][name], orm[group].get(name)]
        for group in ours
        for name in ours[group]
        if ours[group][name] != orm[group].get(name)
    }
    return {"same_numbers": not differences, "differences": differences}


def cachalot_leak(ctx: Context) -> dict[str, Any]:
    """cachalot out of the box (keys from the SQL text, a cache without the tenant key
    function): does globex get acme's cached overview?

    acme's overview is read (and cached), an issue is added to globex, then globex's is
    read: isolated, it shows one more issue than before the write; leaking, acme's cached
    numbers come back.
    """
    from django_tenants.utils import schema_context

    from issues.models import Issue

    acme, globex = ctx.acme, ctx.globex
    with Server(ctx.profile, "cachalot-plain", PORT_PEER, BENCH_CACHALOT_PLAIN="1") as server:
        acme_body = http_get(server.port, CACHALOT_PATH, acme.host, acme.token).json()
        with schema_context(globex.slug):
            reporter = Issue.objects.values_list("reporter_id", flat=True).first()
            Issue.objects.create(title=PROBE_TITLE, priority="low", reporter_id=reporter)
            globex_truth = Issue.objects.count()
        globex_body = http_get(server.port, CACHALOT_PATH, globex.host, globex.token).json()
    leaked = globex_body["issues"]["total"] != globex_truth and globex_body == acme_body
    return {
        "leaks_across_tenants": leaked,
        "acme_issues_cached": acme_body["issues"]["total"],
        "globex_issues_true": globex_truth,
        "globex_issues_served": globex_body["issues"]["total"],
        "note": (
            "django-cachalot builds query keys from the database alias and the SQL text; "
            "under django-tenants the same SQL reads another schema, so out of the box "
            "(a cache without django_tenants.cache.make_key) one tenant is served another's "
            "cached rows. The comparison runs it per tenant: CACHALOT_QUERY_KEYGEN and "
            "CACHALOT_TABLE_KEYGEN prefix the connection's schema_name (bench/keys.py)."
        ),
    }


def measure_latency_and_freshness(
    ctx: Context,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    cap = 2.0 if ctx.profile.quick else 10.0
    latency: dict[str, Any] = {}
    fresh: dict[str, Any] = {}
    servers = _servers(ctx, instrumented=True)
    with servers["main"] as main:
        check = cross_check(main, ctx)
        for name, spec in CONTENDERS.items():
            if spec["server"] == "main":
                latency[name] = warm_latency(main, ctx, spec["path"])
                fresh[name] = freshness(main, ctx, spec["path"], cap)
    with servers["cachalot"] as peer:
        latency["cachalot"] = warm_latency(peer, ctx, CACHALOT_PATH)
        fresh["cachalot"] = freshness(peer, ctx, CACHALOT_PATH, cap)
    if fresh["cache_page"]["capped"]:
        fresh["cache_page"]["note"] = (
            f"still stale when the probe stopped after {cap:.0f} s: cache_page knows nothing "
            f"of writes, so it serves the old page until its TTL ({CACHE_PAGE_TTL} s) ends"
        )
        fresh["cache_page"]["stale_seconds_expected"] = CACHE_PAGE_TTL
    for name in CONTENDERS:
        say(
            f"{name:10s} warm p50 {latency[name]['server_ms']['p50']:7.3f} ms server, "
            f"{latency[name]['client_ms']['p50']:7.3f} ms client; queries "
            f"{latency[name]['queries']['p50']:.0f} "
            f"(data {latency[name]['data_queries']['p50']:.0f}); "
            f"stale {fresh[name]['stale_seconds']} s"
        )
    return latency, fresh, check


def measure_throughput(ctx: Context) -> dict[str, Any]:
    seconds = ctx.profile.peer_seconds
    results: dict[str, Any] = {}
    servers = _servers(ctx, instrumented=False)
    for server_name in ("main", "cachalot"):
        with servers[server_name] as server:
            for name, spec in CONTENDERS.items():
                if spec["server"] != server_name:
                    continue
                warm_up(server, ctx, spec["path"], 10)
                results[name] = {}
                for connections in CONCURRENCY:
                    result = wrk_tenant(
                        server,
                        ctx.acme,
                        spec["path"],
                        connections=connections,
                        seconds=seconds,
                    )
                    results[name][str(connections)] = result.as_dict()
                    say(
                        f"{name:10s} c={connections:<3d} {result.rps:9.1f} req/s  "
                        f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:7.2f} ms  "
                        f"errors {result.errors}"
                    )
    return results


def ratios(
    latency: dict[str, Any], throughput: dict[str, Any], fresh: dict[str, Any]
) -> dict[str, Any]:
    """ours / peer: latency (lower is better for ours), throughput (higher is better),
    SQL queries (lower), stale seconds (ours minus nothing: shown side by side)."""
    ours_lat = latency["ours"]["server_ms"]["p50"]
    table = {}
    for peer in ("nocache", "cache_page", "cachalot"):
        table[peer] = {
            "warm_latency_ours_over_peer": ratio(ours_lat, latency[peer]["server_ms"]["p50"]),
            "client_latency_ours_over_peer": ratio(
                latency["ours"]["client_ms"]["p50"], latency[peer]["client_ms"]["p50"]
            ),
            "throughput_ours_over_peer": {
                c: ratio(throughput["ours"][c]["rps"], throughput[peer][c]["rps"])
                for c in throughput["ours"]
            },
            "queries_ours_vs_peer": [
                latency["ours"]["queries"]["p50"],
                latency[peer]["queries"]["p50"],
            ],
            "data_queries_ours_vs_peer": [
                latency["ours"]["data_queries"]["p50"],
                latency[peer]["data_queries"]["p50"],
            ],
            "stale_seconds_ours_vs_peer": [
                fresh["ours"]["stale_seconds"],
                fresh[peer].get("stale_seconds_expected", fresh[peer]["stale_seconds"]),
            ],
        }
    return table


def run(ctx: Context) -> dict[str, Any]:
    say("compare: no cache, cache_page, cachalot and ours on the same data and settings")
    try:
        latency, fresh, check = measure_latency_and_freshness(ctx)
        throughput = measure_throughput(ctx)
        leak = cachalot_leak(ctx)
    finally:
        remove_bench_writes(ctx)
    say(f"cachalot out of the box leaks across tenants: {leak['leaks_across_tenants']}")
    return {
        "contenders": {name: spec["label"] for name, spec in CONTENDERS.items()},
        "paths": {name: spec["path"] for name, spec in CONTENDERS.items()},
        "warm_latency": latency,
        "throughput": throughput,
        "freshness": fresh,
        "ratios": ratios(latency, throughput, fresh),
        "orm_overview_cross_check": check,
        "cachalot_out_of_the_box": leak,
    }


if __name__ == "__main__":
    from bench.common import main_for

    main_for("compare", run)
