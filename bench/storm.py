"""Write storms: readers on the dashboard while one user writes at 0, 1, 10 and 30 per
second (API POSTs of issues and status PATCHes of them), for ours (sync and gthread
workers; the overview, and the full dashboard mix) and the peers (no cache, cache_page
and django-cachalot, per tenant; the overview).

Per write rate: wrk's req/s, p50 and p99 (16 connections, as the admin user) and their
ratio to no writes; the writer's own reads right after each write that missed it (a
read-your-writes miss); how late another user (a poller, every 20 ms) first saw each write
(seconds from the write's response, which comes after its commit); recomputations per write
(the cache's own counter); the writer's POST/PATCH latency; and where the CPU went (the
gunicorn workers, their PostgreSQL backends, wrk, this process's writer and poller, and
the wall time of the recomputations the servers logged).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import resource
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import (
    LOGS,
    LOOPBACK,
    PORT_MAIN,
    PORT_PEER,
    Server,
    percentile,
    ratio,
    run_wrk,
    say,
)
from bench.compare import CACHALOT_PATH
from bench.data import STORM_TITLE, Context, remove_bench_writes
from bench.endpoints import NOCACHE_PATH, OVERVIEW_PATH, dashboard_endpoints, warm_up

RATES = (0, 1, 10, 30)
HEADLINE_RATE = 10
# Extra (no writes, HEADLINE_RATE) pairs of ours, back to back. The headline ratios are the
# pair's whose runs saw the least other load on the machine ("everything else"): other
# work steals CPU from a CPU-bound quiet run more than from a storm run whose workers wait
# on PostgreSQL, so a disturbed pair flatters the ratio. Every pair is reported.
HEADLINE_PAIRS = 3
CONNECTIONS = 16
POLL_INTERVAL = 0.02
CACHE_PAGE_PATH = "/bench/cachepage/overview/"
APP_NAME = "firelater-bench-storm"  # PGAPPNAME of the servers: finds their backends
_COMPUTED = re.compile(r"Cache miss cache:\{(\w+)\}:(\S+) \(computed in ([\d.]+) ms\)")
WRK_DASHBOARD = LOGS / "dashboard_mix.lua"  # generated from dashboard.entries each run


@dataclass(frozen=True)
class Contender:
    name: str
    path: str  # what the writer and the poller read (the overview, in this contender)
    server: str  # "main" (sync), "gthread", "cachalot"
    mix: bool = False  # wrk reads every dashboard endpoint in turn instead of `path`


CONTENDERS = (
    Contender("ours", OVERVIEW_PATH, "main"),
    Contender("ours_gthread", OVERVIEW_PATH, "gthread"),
    Contender("ours_dashboard_mix", OVERVIEW_PATH, "main", mix=True),
    Contender("nocache", NOCACHE_PATH, "main"),
    Contender("cache_page", CACHE_PAGE_PATH, "main"),
    Contender("cachalot", CACHALOT_PATH, "cachalot"),
)


class Connection:
    """A keep-alive HTTP/1.1 connection (reopened when the server closes it)."""

    def __init__(self, port: int, host: str, token: str) -> None:
        self.port, self.headers = port, {"Host": host, "Authorization": f"Token {token}"}
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any, float]:
        headers = {**self.headers, "Accept": "application/json"}
        payload = None
        if body is not None:
            payload, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=30)
            started = time.perf_counter()
            try:
                self.conn.request(method, path, body=payload, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                continue
            elapsed = time.perf_counter() - started
            if response.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            return response.status, json.loads(data) if data else None, elapsed
        raise AssertionError("unreachable")


def _state(body: dict[str, Any]) -> tuple[int, int]:
    return int(body["issues"]["total"]), int(body["issues"]["open"])


@dataclass
class Timeline:
    """The overview's (total, open) after each write and when the write's response came
    back; the first time the poller saw each."""

    states: dict[tuple[int, int], int] = field(default_factory=dict)
    committed: list[float] = field(default_factory=list)
    seen: dict[int, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, state: tuple[int, int], at: float) -> None:
        with self.lock:
            self.states[state] = len(self.committed)
            self.committed.append(at)

    def observe(self, state: tuple[int, int], at: float) -> None:
        with self.lock:
            index = self.states.get(state)
            if index is None:
                return
            for k in range(index + 1):
                self.seen.setdefault(k, at)


class Writer(threading.Thread):
    """Writes at `rate` per second (POST, then PATCH to resolved, in turn) and reads the
    overview after each write, counting the reads that do not show it."""

    def __init__(self, conn: Connection, path: str, rate: float, timeline: Timeline) -> None:
        super().__init__(daemon=True)
        self.conn, self.path, self.rate, self.timeline = conn, path, rate, timeline
        self.stop = threading.Event()
        self.write_seconds: list[float] = []
        self.own_misses = 0
        self.own_reads = 0
        self.errors = 0
        self.state = (0, 0)

    def run(self) -> None:
        created: list[int] = []
        interval = 1.0 / self.rate
        next_at = time.monotonic()
        total, open_ = self.state
        while not self.stop.is_set():
            if created and len(created) % 2 == 0:
                status, body, took = self.conn.request(
                    "PATCH", f"/api/v1/issues/{created.pop(0)}/", {"status": "resolved"}
                )
                open_ -= 1
            else:
                status, body, took = self.conn.request(
                    "POST", "/api/v1/issues/", {"title": STORM_TITLE, "priority": "high"}
                )
                total, open_ = total + 1, open_ + 1
                if status == 201:
                    created.append(body["id"])
            if status not in (200, 201):
                self.errors += 1
                break
            self.timeline.record((total, open_), time.monotonic())
            self.write_seconds.append(took)
            status, body, _ = self.conn.request("GET", self.path)
            self.own_reads += 1
            if status != 200 or _state(body) != (total, open_):
                self.own_misses += 1
            next_at += interval
            self.stop.wait(max(0.0, next_at - time.monotonic()))


class Poller(threading.Thread):
    """Another user reading the overview every POLL_INTERVAL: when each write showed."""

    def __init__(self, conn: Connection, path: str, timeline: Timeline) -> None:
        super().__init__(daemon=True)
        self.conn, self.path, self.timeline = conn, path, timeline
        self.stop = threading.Event()
        self.reads = 0

    def run(self) -> None:
        while not self.stop.is_set():
            status, body, _ = self.conn.request("GET", self.path)
            if status == 200:
                self.timeline.observe(_state(body), time.monotonic())
                self.reads += 1
            self.stop.wait(POLL_INTERVAL)


def storm_users(ctx: Context) -> dict[str, str]:
    """Tokens of the writer and the poller: two users of acme besides the admin (whom
    wrk reads as), so the writer's writes are other users' writes to everyone else."""
    from django.contrib.auth import get_user_model
    from django_tenants.utils import schema_context
    from rest_framework.authtoken.models import Token

    from firelater import roles
    from firelater.roles import user_roles_set

    tokens = {}
    with schema_context(ctx.acme.slug):
        for name in ("storm-writer", "storm-poller"):
            user, _ = get_user_model().objects.get_or_create(username=name)
            user_roles_set(user=user, roles=[roles.AGENT])  # the dashboard needs a role
            tokens[name] = Token.objects.get_or_create(user=user)[0].key
    return tokens


# --- CPU accounting ------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                found.append(int(entry.name))
    return found


def _backends() -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [APP_NAME])
        return [row[0] for row in cursor.fetchall()]


def _machine_busy() -> float:
    """CPU seconds the whole machine spent busy so far (every process, ours or not)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / _TICK


def cpu_snapshot(servers: list[Server]) -> dict[str, Any]:
    workers = [pid for s in servers if s.proc for pid in [s.proc.pid, *_children(s.proc.pid)]]
    backends = _backends()
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "gunicorn": {pid: _cpu_of(pid) for pid in workers},
        "postgres": {pid: _cpu_of(pid) for pid in backends},
        "bench_process": own.ru_utime + own.ru_stime,
        "wrk": kids.ru_utime + kids.ru_stime,
        "machine": _machine_busy(),
    }


def cpu_delta(before: dict[str, Any], after: dict[str, Any], seconds: float) -> dict[str, float]:
    """CPU seconds per second of the run (1.0 = one core busy) by consumer."""

    def summed(kind: str) -> float:
        return sum(after[kind][pid] - before[kind].get(pid, 0.0) for pid in after[kind])

    per = {
        "gunicorn_workers": summed("gunicorn"),
        "postgres_backends": summed("postgres"),
        "wrk": after["wrk"] - before["wrk"],
        "writer_and_poller": after["bench_process"] - before["bench_process"],
    }
    # Everything else the machine ran meanwhile (the other engineers' tests and servers).
    per["everything_else"] = after["machine"] - before["machine"] - sum(per.values())
    return {k: round(v / seconds, 3) for k, v in per.items()}


# --- One run ---------------------------------------------------------------------------------


def _computations(redis_client: Any, slug: str) -> dict[str, int]:
    counters = redis_client.hgetall(f"cache:{{{slug}}}:_meta:stats")
    found: dict[str, int] = {}
    for raw, count in counters.items():
        kind, _, tail = raw.decode().partition("|")
        if kind == "c":
            entry = ":".join(tail.split(":", 2)[:2])
            found[entry] = found.get(entry, 0) + int(count)
    return found


def _computed_ms(log: str, slug: str) -> dict[str, float]:
    spent: dict[str, float] = {}
    for tenant, tail, ms in _COMPUTED.findall(log):
        if tenant == slug:
            entry = ":".join(tail.split(":", 2)[:2])
            spent[entry] = spent.get(entry, 0.0) + float(ms)
    return {k: round(v, 1) for k, v in spent.items()}


def _dashboard_mix_script(file: Path = WRK_DASHBOARD, extra: tuple[str, ...] = ()) -> Path:
    """wrk's Lua: every dashboard endpoint (and `extra` paths) in turn, written to `file`."""
    paths = [path for _, path, _ in dashboard_endpoints()] + list(extra)
    lua = (
        "local paths = {"
        + ", ".join(json.dumps(p) for p in paths)
        + "}\n"
        + (
            "local i = 0\n"
            "request = function()\n"
            "  i = i + 1\n"
            "  return wrk.format(nil, paths[(i % #paths) + 1])\n"
            "end\n"
        )
    )
    file.parent.mkdir(parents=True, exist_ok=True)
    return _write_if_changed(file, lua)


def _write_if_changed(path: Path, text: str) -> Path:
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def storm_run(
    ctx: Context,
    contender: Contender,
    server: Server,
    servers: list[Server],
    tokens: dict[str, str],
    rate: int,
    seconds: float,
    redis_client: Any,
) -> dict[str, Any]:
    acme = ctx.acme
    time.sleep(1.2)  # the previous run's writes are past the staleness bound
    writer_conn = Connection(server.port, acme.host, tokens["storm-writer"])
    status, body, _ = writer_conn.request("GET", NOCACHE_PATH)  # the truth, uncached
    assert status == 200, body
    timeline = Timeline()
    start_state = _state(body)
    timeline.record(start_state, time.monotonic())
    writer = Writer(writer_conn, contender.path, rate, timeline) if rate else None
    if writer is not None:
        writer.state = start_state
    poller = Poller(
        Connection(server.port, acme.host, tokens["storm-poller"]), contender.path, timeline
    )
    computations_before = _computations(redis_client, acme.slug)
    log_offset = server.log_size()
    cpu_before = cpu_snapshot(servers)
    started = time.monotonic()
    poller.start()
    if writer is not None:
        writer.start()
    wrk = run_wrk(
        server.port,
        contender.path,
        acme.host,
        acme.token,
        connections=CONNECTIONS,
        seconds=seconds,
        script=_dashboard_mix_script() if contender.mix else None,
    )
    if writer is not None:
        writer.stop.set()
        writer.join(30)
    time.sleep(1.5)  # the poller sees the last writes (or the bound passes)
    poller.stop.set()
    poller.join(30)
    elapsed = time.monotonic() - started
    cpu = cpu_delta(cpu_before, cpu_snapshot(servers), elapsed)
    computations_after = _computations(redis_client, acme.slug)
    computed = {
        entry: computations_after.get(entry, 0) - computations_before.get(entry, 0)
        for entry in computations_after
    }
    writes = len(timeline.committed) - 1
    late = [
        max(0.0, timeline.seen[k] - timeline.committed[k]) if k in timeline.seen else None
        for k in range(1, writes + 1)
    ]
    seen = [v for v in late if v is not None]
    overview_computations = computed.get("dashboard:overview", 0)
    result = {
        "rate": rate,
        "wrk": wrk.as_dict(),
        "writes": writes,
        "writes_per_second": round(writes / seconds, 2),
        "write_errors": writer.errors if writer else 0,
        "write_p50_ms": round(percentile((writer.write_seconds if writer else []), 50) * 1000, 1)
        if writer and writer.write_seconds
        else None,
        "write_p99_ms": round(percentile(writer.write_seconds, 99) * 1000, 1)
        if writer and writer.write_seconds
        else None,
        "own_reads": writer.own_reads if writer else 0,
        "own_stale_reads": writer.own_misses if writer else 0,
        "others_seen_writes": len(seen),
        "others_never_saw": len(late) - len(seen),
        "others_staleness_s": {
            "p50": round(percentile(seen, 50), 3) if seen else None,
            "p99": round(percentile(seen, 99), 3) if seen else None,
            "max": round(max(seen), 3) if seen else None,
        },
        "poller_reads": poller.reads,
        "computations": computed,
        "overview_computations_per_write": round(overview_computations / writes, 2)
        if writes
        else None,
        "computed_ms": _computed_ms(server.log_since(log_offset), acme.slug),
        "cpu_cores": cpu,
    }
    say(
        f"storm {contender.name} {rate}/s: {wrk.rps:.0f} req/s p50 {wrk.p50_ms:.1f} "
        f"p99 {wrk.p99_ms:.1f} ms, {writes} writes, own stale {result['own_stale_reads']}, "
        f"others max {result['others_staleness_s']['max']} s, "
        f"comp/write {result['overview_computations_per_write']}, "
        f"write p50 {result['write_p50_ms']} ms, cpu {cpu}"
    )
    return result


def quiet_writes(ctx: Context, server: Server, tokens: dict[str, str], n: int) -> dict[str, Any]:
    """The writer's POST/PATCH latency with nothing else running (2 writes a second)."""
    conn = Connection(server.port, ctx.acme.host, tokens["storm-writer"])
    _, body, _ = conn.request("GET", NOCACHE_PATH)
    timeline = Timeline()
    timeline.record(_state(body), time.monotonic())
    writer = Writer(conn, OVERVIEW_PATH, 2.0, timeline)
    writer.state = _state(body)
    writer.start()
    while len(writer.write_seconds) < n and writer.is_alive():
        time.sleep(0.1)
    writer.stop.set()
    writer.join(30)
    return {
        "writes": len(writer.write_seconds),
        "p50_ms": round(percentile(writer.write_seconds, 50) * 1000, 1),
        "p99_ms": round(percentile(writer.write_seconds, 99) * 1000, 1),
        "own_stale_reads": writer.own_misses,
    }


def _with_ratios(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    quiet = next((r for r in runs if r["rate"] == 0), None)
    for run in runs:
        if quiet is not None:
            run["rps_vs_quiet"] = ratio(run["wrk"]["rps"], quiet["wrk"]["rps"])
            run["p50_vs_quiet"] = ratio(run["wrk"]["p50_ms"], quiet["wrk"]["p50_ms"])
            run["p99_vs_quiet"] = ratio(run["wrk"]["p99_ms"], quiet["wrk"]["p99_ms"])
    return runs


def run(ctx: Context) -> dict[str, Any]:
    import redis

    profile = ctx.profile
    seconds = 4 if profile.quick else 15
    peer_seconds = 3 if profile.quick else 8
    say(f"storm: {', '.join(c.name for c in CONTENDERS)} at {RATES} writes/s")
    tokens = storm_users(ctx)
    redis_client = redis.Redis.from_url(profile.redis_url, socket_timeout=5)
    env = {"PGAPPNAME": APP_NAME}
    servers = {
        "main": Server(profile, "storm-main", PORT_MAIN, **env),
        "gthread": Server(profile, "storm-gthread", PORT_PEER, threads=4, **env),
        "cachalot": Server(profile, "storm-cachalot", PORT_PEER, BENCH_CACHALOT="1", **env),
    }
    result: dict[str, Any] = {
        "rates": list(RATES),
        "connections": CONNECTIONS,
        "contenders": {},
        "errors": {},
    }
    try:
        with servers["main"] as main:
            warm_up(main, ctx, OVERVIEW_PATH, 10)
            result["quiet_writes"] = quiet_writes(ctx, main, tokens, 6 if profile.quick else 20)
            remove_bench_writes(ctx)
            for contender in CONTENDERS:
                if contender.server == "main":
                    result["contenders"][contender.name] = _contender_runs(
                        ctx, contender, main, [main], tokens, seconds, peer_seconds, redis_client
                    )
            pair_rates = [0, HEADLINE_RATE] * HEADLINE_PAIRS
            result["contenders"]["ours_pairs"] = _contender_runs(
                ctx,
                CONTENDERS[0],
                main,
                [main],
                tokens,
                seconds,
                peer_seconds,
                redis_client,
                rates=pair_rates,
            )
        for name in ("gthread", "cachalot"):
            try:
                with servers[name] as other:
                    warm_up(other, ctx, OVERVIEW_PATH, 10)
                    for contender in CONTENDERS:
                        if contender.server == name:
                            result["contenders"][contender.name] = _contender_runs(
                                ctx,
                                contender,
                                other,
                                [other],
                                tokens,
                                seconds,
                                peer_seconds,
                                redis_client,
                            )
            except Exception as error:  # one server's failure: the others' figures stay
                result["errors"][name] = repr(error)
                say(f"storm: {name} failed: {error!r}")
    finally:
        result["bench_writes_removed"] = remove_bench_writes(ctx)
    pairs = result["contenders"].get("ours_pairs", [])
    if pairs:
        result["headline"] = _headline(pairs, result["quiet_writes"]["p50_ms"])
    return result


def _headline(pairs: list[dict[str, Any]], quiet_write_ms: float) -> dict[str, Any]:
    """Issue #12's figures from the back-to-back (0, HEADLINE_RATE) pairs of ours."""
    import statistics

    quiet = [r for r in pairs if r["rate"] == 0]
    storm = [r for r in pairs if r["rate"] == HEADLINE_RATE]
    both = list(zip(quiet, storm, strict=True))

    def disturbance(pair: tuple[dict[str, Any], dict[str, Any]]) -> float:
        return max(run["cpu_cores"]["everything_else"] for run in pair)

    q, s = min(both, key=disturbance)
    return {
        "pairs": [
            {
                "rps_vs_quiet": ratio(b["wrk"]["rps"], a["wrk"]["rps"]),
                "p99_vs_quiet": ratio(b["wrk"]["p99_ms"], a["wrk"]["p99_ms"]),
                "everything_else_cores": [
                    a["cpu_cores"]["everything_else"],
                    b["cpu_cores"]["everything_else"],
                ],
            }
            for a, b in both
        ],
        "rps_vs_quiet": ratio(s["wrk"]["rps"], q["wrk"]["rps"]),
        "p99_vs_quiet": ratio(s["wrk"]["p99_ms"], q["wrk"]["p99_ms"]),
        "own_stale_reads": sum(r["own_stale_reads"] for r in storm),
        "others_staleness_max_s": max(r["others_staleness_s"]["max"] or 0.0 for r in storm),
        "computations_per_write": max(r["overview_computations_per_write"] or 0 for r in storm),
        "write_p50_vs_quiet": round(
            statistics.median(r["write_p50_ms"] for r in storm) / quiet_write_ms, 2
        ),
    }


def _contender_runs(
    ctx: Context,
    contender: Contender,
    server: Server,
    servers: list[Server],
    tokens: dict[str, str],
    seconds: float,
    peer_seconds: float,
    redis_client: Any,
    rates: list[int] | None = None,
) -> list[dict[str, Any]]:
    warm_up(server, ctx, contender.path, 10)
    length = seconds if contender.name.startswith("ours") else peer_seconds
    runs = []
    for rate in rates or RATES:
        runs.append(storm_run(ctx, contender, server, servers, tokens, rate, length, redis_client))
        remove_bench_writes(ctx)
    return _with_ratios(runs)


if __name__ == "__main__":
    from bench.common import main_for

    main_for("storm", run)
