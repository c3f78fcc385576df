"""Faults under load: a private Redis killed (SIGKILL) and hung (SIGSTOP) during a wrk run
against the overview; and a stampede of 64 concurrent cold requests for one key.

The server under fault uses a private redis-server of the bench (never the shared one).
A probe thread reads the overview every 25 ms beside wrk and records latency and X-Cache,
so the outage's latency can be set against the cold baseline under the same load (the
same probe beside the same wrk load on the uncached selector), and the moment caching
resumes after the restart is visible. The server counts its own time per request
(X-Bench-Server-Ms): the ratio uses it, as client times under load are mostly queueing.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from bench.common import (
    PORT_FAULT,
    PORT_STAMPEDE,
    REDIS_PORT_FAULT,
    PrivateRedis,
    Server,
    http_get,
    percentile,
    say,
    summary,
    wrk_tenant,
)
from bench.data import Context
from bench.endpoints import NOCACHE_PATH, OVERVIEW_PATH, invalidator, warm_up

CONNECTIONS = 16
STAMPEDE_CLIENTS = 64


class Probe(threading.Thread):
    """Sequential reads beside the load, each filed by the moment its answer came back:
    under load a request can wait in gunicorn's queue for a while before a worker runs it,
    so its start says little about when the server handled it."""

    def __init__(self, server: Server, ctx: Context, path: str, until: float) -> None:
        super().__init__(name="probe", daemon=True)
        self.server, self.ctx, self.path, self.until = server, ctx, path, until
        self.started = time.monotonic()
        # (seconds since start when answered, client ms, status, X-Cache, server ms)
        self.samples: list[tuple[float, float, int, str, float]] = []

    def run(self) -> None:
        acme = self.ctx.acme
        while time.monotonic() < self.until:
            try:
                reply = http_get(self.server.port, self.path, acme.host, acme.token)
                at = time.monotonic() - self.started
                self.samples.append((at, reply.ms, reply.status, reply.cache, reply.server_ms))
            except OSError as error:
                nan = float("nan")
                at = time.monotonic() - self.started
                self.samples.append((at, nan, 0, type(error).__name__, nan))
            time.sleep(0.025)

    def window(self, start: float, end: float) -> list[tuple[float, float, int, str, float]]:
        return [s for s in self.samples if start <= s[0] < end]


def _x_cache_counts(samples: list[tuple[float, float, int, str, float]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, _, status, cache, _ in samples:
        label = cache or f"status {status}"
        counts[label] = counts.get(label, 0) + 1
    return counts


def loaded_baseline(server: Server, ctx: Context, seconds: float) -> dict[str, Any]:
    """The cold baseline under load: wrk and the probe both on the uncached selector."""
    probe = Probe(server, ctx, NOCACHE_PATH, time.monotonic() + seconds)
    probe.start()
    result = wrk_tenant(server, ctx.acme, NOCACHE_PATH, connections=CONNECTIONS, seconds=seconds)
    probe.join(seconds + 15)
    return {"wrk": result.as_dict(), **_probe_summary(probe.samples)}


def _probe_summary(samples: list[tuple[float, float, int, str, float]]) -> dict[str, Any]:
    return {
        "server_ms": summary([s[4] for s in samples]),
        "client_ms": summary([s[1] for s in samples]),
        "x_cache": _x_cache_counts(samples),
    }


def outage_run(
    server: Server, ctx: Context, redis: PrivateRedis, mode: str, seconds: float
) -> dict[str, Any]:
    """wrk on the overview for `seconds`; Redis is killed (or stopped) at 1/6 of the run
    and restarted (or continued) at 7/12."""
    fail_at, back_at = seconds / 6, seconds * 7 / 12
    log_offset = server.log_size()
    probe = Probe(server, ctx, OVERVIEW_PATH, time.monotonic() + seconds)
    events: dict[str, float] = {}

    def inject() -> None:
        time.sleep(fail_at)
        if mode == "killed":
            redis.kill()
        else:
            redis.hang()
        events["fail"] = time.monotonic() - probe.started
        time.sleep(back_at - fail_at)
        if mode == "killed":
            redis.start()
        else:
            redis.resume()
        events["back"] = time.monotonic() - probe.started

    injector = threading.Thread(target=inject, name="fault-injector", daemon=True)
    probe.start()
    injector.start()
    result = wrk_tenant(server, ctx.acme, OVERVIEW_PATH, connections=CONNECTIONS, seconds=seconds)
    injector.join(seconds)
    probe.join(seconds + 15)
    fail, back = events["fail"], events["back"]
    before = probe.window(0, fail)
    during = probe.window(fail, back)
    after = probe.window(back, seconds + 60)
    first_hit = next((s[0] - back for s in after if s[3] == "HIT"), None)
    first_cached = next((s[0] - back for s in after if s[3] in ("HIT", "MISS")), None)
    log = server.log_since(log_offset)
    return {
        "mode": mode,
        "seconds": seconds,
        "redis_down_at_s": round(fail, 2),
        "redis_back_at_s": round(back, 2),
        "wrk": result.as_dict(),
        "errors": result.errors,
        "probe_before": _probe_summary(before),
        "probe_during": _probe_summary(during),
        "probe_after": _probe_summary(after),
        "probe_non_200": sum(1 for s in probe.samples if s[2] != 200),
        "resumed_caching_after_s": round(first_cached, 2) if first_cached is not None else None,
        "first_hit_after_s": round(first_hit, 2) if first_hit is not None else None,
        "server_tracebacks": log.count("Traceback"),
        "timeline": [
            [round(t, 3), round(server, 2), cache] for t, _, _, cache, server in probe.samples
        ],
        "breaker_openings_logged": log.count("Redis unavailable"),
    }


def redis_faults(ctx: Context) -> dict[str, Any]:
    seconds = ctx.profile.fault_seconds
    with (
        PrivateRedis(REDIS_PORT_FAULT, "fault") as redis,
        Server(
            ctx.profile, "fault", PORT_FAULT, REDIS_URL=redis.url, BENCH_INSTRUMENT="1"
        ) as server,
    ):
        warm_up(server, ctx, OVERVIEW_PATH, 10)
        baseline = loaded_baseline(server, ctx, seconds / 2.4)
        killed = outage_run(server, ctx, redis, "killed", seconds)
        warm_up(server, ctx, OVERVIEW_PATH, 10)
        hung = outage_run(server, ctx, redis, "hung", seconds * 2 / 3)
    cold_p50 = baseline["server_ms"]["p50"]
    for run in (killed, hung):
        during = run["probe_during"]
        run["during_vs_cold_baseline_p50"] = round(during["server_ms"]["p50"] / cold_p50, 3)
        run["during_vs_cold_baseline_client_p50"] = round(
            during["client_ms"]["p50"] / baseline["client_ms"]["p50"], 3
        )
        say(
            f"Redis {run['mode']:6s}: wrk errors {run['errors']}, server p50 during "
            f"{during['server_ms']['p50']:.1f} ms vs cold baseline {cold_p50:.1f} ms "
            f"({run['during_vs_cold_baseline_p50']}x); caching resumed "
            f"{run['resumed_caching_after_s']} s after Redis came back, "
            f"first HIT {run['first_hit_after_s']} s"
        )
    return {"cold_baseline_under_load": baseline, "killed": killed, "hung": hung}


# --- Stampede ------------------------------------------------------------------------------


def _stampede_round(server: Server, ctx: Context, key: str) -> dict[str, Any]:
    acme = ctx.acme
    from dashboard.entries import OVERVIEW

    invalidator(acme.slug, OVERVIEW.cache)()
    offset = server.log_size()
    barrier = threading.Barrier(STAMPEDE_CLIENTS)
    replies: list[Any] = []
    lock = threading.Lock()

    def client() -> None:
        barrier.wait(10)
        reply = http_get(server.port, OVERVIEW_PATH, acme.host, acme.token)
        with lock:
            replies.append(reply)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(STAMPEDE_CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    elapsed = time.perf_counter() - started
    time.sleep(0.3)  # let the workers' log lines land
    log = server.log_since(offset)
    misses = sum(1 for line in log.splitlines() if "Cache miss" in line and key in line)
    statuses: dict[str, int] = {}
    for reply in replies:
        statuses[reply.cache or str(reply.status)] = (
            statuses.get(reply.cache or str(reply.status), 0) + 1
        )
    return {
        "computations": misses + statuses.get("BYPASS", 0),
        "x_cache": statuses,
        "non_200": sum(1 for r in replies if r.status != 200),
        "seconds": round(elapsed, 3),
        "p50_ms": round(percentile([r.ms for r in replies], 50), 1),
        "max_ms": round(max(r.ms for r in replies), 1),
    }


def stampede(ctx: Context, rounds: int = 3) -> dict[str, Any]:
    """64 concurrent cold requests for the overview, counting computations from the
    servers' "Cache miss <key>" log lines (one per computation) plus any BYPASS answers.

    With the bench's standard server (2 sync workers) only two requests run at once;
    the gthread server (2 workers x 32 threads) really runs all 64 at once.
    """
    key = f"cache:{{{ctx.acme.slug}}}:dashboard:overview"
    results: dict[str, Any] = {}
    for name, options in (
        ("sync_2_workers", {}),
        ("gthread_2x32", {"threads": STAMPEDE_CLIENTS // 2}),
    ):
        with Server(ctx.profile, f"stampede-{name}", PORT_STAMPEDE, **options) as server:
            warm_up(server, ctx, "/bench/trivial/", 8)
            runs = [_stampede_round(server, ctx, key) for _ in range(rounds)]
        results[name] = {
            "rounds": runs,
            "max_computations": max(r["computations"] for r in runs),
        }
        say(
            f"stampede {name}: computations per round {[r['computations'] for r in runs]}, "
            f"X-Cache {runs[-1]['x_cache']}"
        )
    return results


def run(ctx: Context) -> dict[str, Any]:
    say("faults: Redis killed and hung under load; stampede of 64 cold requests")
    return {"redis": redis_faults(ctx), "stampede": stampede(ctx)}


if __name__ == "__main__":
    from bench.common import main_for

    main_for("faults", run)
