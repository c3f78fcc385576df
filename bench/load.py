"""Throughput of the warm overview with wrk (16 and 64 connections), beside a trivial
authenticated endpoint and the framework's floor; then with 1 % writes mixed in while a
checker writes through the API and reads the overview straight after, counting stale reads.

The server runs without the query-counting middleware: the production middleware stack,
gunicorn with 2 sync workers, DEBUG off, persistent database connections.
"""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

from bench.common import (
    PORT_MAIN,
    Server,
    WrkResult,
    http_request,
    ratio,
    run_wrk,
    say,
    wrk_tenant,
)
from bench.data import CHECKER_TITLE, Context, remove_bench_writes
from bench.endpoints import FLOOR_PATH, OVERVIEW_PATH, TRIVIAL_PATH, warm_up

CONCURRENCY = (16, 64)
WRITE_EVERY = 100  # 1 % writes


def throughput(
    server: Server, ctx: Context, path: str, seconds: float, *, token: bool = True
) -> dict[str, Any]:
    results = {}
    for connections in CONCURRENCY:
        result = wrk_tenant(
            server,
            ctx.acme,
            path,
            token=token,
            connections=connections,
            seconds=seconds,
        )
        results[str(connections)] = result.as_dict()
        say(
            f"{path:32s} c={connections:<3d} {result.rps:9.1f} req/s  p50 {result.p50_ms:6.2f} ms"
            f"  p99 {result.p99_ms:7.2f} ms  errors {result.errors}"
        )
    return results


class StalenessChecker(threading.Thread):
    """Writes an issue through the API, then reads the overview at once.

    Before each write it counts the tenant's issues in PostgreSQL (c0). Once the POST has
    returned, the write is committed and its invalidation has run, so a fresh overview
    shows at least c0 + 1 issues whatever else commits meanwhile; fewer is a stale read.
    """

    def __init__(self, server: Server, ctx: Context, until: float, pause: float = 0.2) -> None:
        super().__init__(name="staleness-checker", daemon=True)
        self.server, self.ctx, self.until, self.pause = server, ctx, until, pause
        self.checks = 0
        self.stale: list[dict[str, Any]] = []
        self.x_cache: dict[str, int] = {}
        self.failures: list[str] = []

    def run(self) -> None:
        from django.db import connection
        from django_tenants.utils import schema_context

        from issues.models import Issue

        acme = self.ctx.acme
        try:
            with schema_context(acme.slug):
                while time.monotonic() < self.until:
                    before = Issue.objects.count()
                    created = http_request(
                        self.server.port,
                        "/api/v1/issues/",
                        acme.host,
                        token=acme.token,
                        method="POST",
                        body={"title": CHECKER_TITLE, "priority": "low"},
                    )
                    if created.status != 201:
                        self.failures.append(f"POST {created.status}")
                        continue
                    read = http_request(
                        self.server.port, OVERVIEW_PATH, acme.host, token=acme.token
                    )
                    if read.status != 200:
                        self.failures.append(f"GET {read.status}")
                        continue
                    total = read.json()["issues"]["total"]
                    self.checks += 1
                    self.x_cache[read.cache] = self.x_cache.get(read.cache, 0) + 1
                    if total < before + 1:
                        self.stale.append({"expected_at_least": before + 1, "read": total})
                    time.sleep(self.pause)
        finally:
            connection.close()

    def result(self) -> dict[str, Any]:
        return {
            "checks": self.checks,
            "stale": len(self.stale),
            "stale_examples": self.stale[:5],
            "x_cache_after_write": self.x_cache,
            "failures": self.failures[:5],
        }


def mixed(server: Server, ctx: Context) -> dict[str, Any]:
    results = {}
    for connections in CONCURRENCY:
        seconds = ctx.profile.mixed_seconds
        checker = StalenessChecker(server, ctx, time.monotonic() + seconds)
        checker.start()
        result: WrkResult = wrk_tenant(
            server,
            ctx.acme,
            OVERVIEW_PATH,
            connections=connections,
            seconds=seconds,
            write_every=WRITE_EVERY,
        )
        checker.join(seconds + 30)
        results[str(connections)] = {**result.as_dict(), "staleness": checker.result()}
        say(
            f"1% writes c={connections:<3d} {result.rps:9.1f} req/s  p99 {result.p99_ms:7.2f} ms"
            f"  errors {result.errors}  checks {checker.checks}  stale {len(checker.stale)}"
        )
    return results


def floor_pairs(server: Server, ctx: Context, rounds: int, seconds: float) -> dict[str, Any]:
    """The overview and the floor in alternating short wrk runs at 16 connections: the
    headline's warm_rps_vs_floor is the median of the pairs' ratios, so load from
    elsewhere on the machine weighs on both sides of each ratio alike."""
    pairs = []
    for _ in range(rounds):
        overview = wrk_tenant(server, ctx.acme, OVERVIEW_PATH, connections=16, seconds=seconds)
        floor = run_wrk(
            server.port, FLOOR_PATH, ctx.acme.host, None, connections=16, seconds=seconds
        )
        pairs.append(
            {
                "overview_rps": overview.rps,
                "floor_rps": floor.rps,
                "ratio": ratio(overview.rps, floor.rps),
            }
        )
    median = statistics.median(p["ratio"] for p in pairs)
    say(
        f"overview / floor in {rounds} alternating pairs: {[p['ratio'] for p in pairs]} -> {median}"
    )
    return {"seconds_each": seconds, "pairs": pairs, "median_ratio": median}


def run(ctx: Context) -> dict[str, Any]:
    profile = ctx.profile
    say("load: wrk against the warm overview, a trivial endpoint and the floor")
    try:
        with Server(profile, "load", PORT_MAIN) as server:
            warm_up(server, ctx, OVERVIEW_PATH, 10)
            result = {
                "overview": throughput(server, ctx, OVERVIEW_PATH, profile.load_seconds),
                "trivial": throughput(server, ctx, TRIVIAL_PATH, profile.peer_seconds),
                "floor": throughput(server, ctx, FLOOR_PATH, profile.peer_seconds, token=False),
                "overview_vs_floor": floor_pairs(
                    server, ctx, 1 if profile.quick else 5, 2 if profile.quick else 5
                ),
                "mixed_writes": mixed(server, ctx),
            }
    finally:
        removed = remove_bench_writes(ctx)
    result["bench_writes_removed"] = removed
    return result


if __name__ == "__main__":
    from bench.common import main_for

    main_for("load", run)
