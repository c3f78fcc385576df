"""Issue #15's replica scenario: the dashboard and the read-only lists served from a hot
standby, with 0 and with 500 ms of injected apply lag, against the same load on the primary
alone.

The data is the bench's own (the two 100,000-issue tenants of firelater_bench, dumped and
restored into a private primary of scripts/pg_pair.py, `.data/pg-bench`, whose hot standby
streams it); the copy is redone only when the source changed. Both clusters load
pg_stat_statements, so every query each one ran is counted.

Each run: a fresh server (2 sync workers, Redis db 14 flushed), wrk reading every dashboard
endpoint and the four read-only lists in turn as the tenant's admin (16 connections), one
user writing 10 times a second (an issue POSTed, then PATCHed to resolved, in turn) and
reading the overview after each write, and another user polling the overview every 20 ms.
Runs: `primary` (no DATABASE_REPLICA_URL), then `replica` with the standby's apply delay at
0 and at 500 ms, in alternating pairs.

What counts as a stale read (replica_stale_reads, which must be 0):
- the writer's read right after its own write that lacks it (read-your-writes);
- a poll that lacks a write whose response came more than CACHE_MAX_STALE before the poll
  began (the bound everyone else is promised), or shows figures no write produced;
- after the load, once CACHE_MAX_STALE has passed, a dashboard entry whose answer differs
  from the same entry computed on the primary by a second server with an empty cache (a
  value stored from a snapshot older than the write it follows would stay until its TTL).
  A difference is checked twice (a figure that moved with the clock between the two reads
  is not one).

Queries saved (replica_primary_queries_saved): 1 - the primary's queries per request served
with the standby (lag 0) / without it, from pg_stat_statements of the bench's database on
each cluster. Rows read, PostgreSQL CPU by cluster and the servers' replica outcomes
(/metrics) are reported beside it.
"""

from __future__ import annotations

import bisect
import math
import statistics
import subprocess
import time
from typing import Any

from bench.common import (
    LOGS,
    LOOPBACK,
    PORT_FAULT,
    PORT_MAIN,
    PORT_PEER,
    REDIS_PORT_REPLICA,
    PrivateRedis,
    Server,
    http_get,
    ratio,
    run_wrk,
    say,
)
from bench.data import MAIN_TENANTS, Context, flush_bench_redis
from bench.endpoints import OVERVIEW_PATH, dashboard_endpoints
from bench.storm import (
    HEADLINE_RATE,
    POLL_INTERVAL,
    Connection,
    Poller,
    Timeline,
    Writer,
    _children,
    _cpu_of,
    _dashboard_mix_script,
    _machine_busy,
    _state,
    storm_users,
)
from scripts.ensure_services import pg_params
from scripts.pg_pair import Cluster, Pair, ensure_pair
from tests.support.live import replica_outcomes

PAIR_NAME = "pg-bench"  # .data/pg-bench: never the suite's .data/pg
LAGS_MS = (0, 500)
CONNECTIONS = 16
LIST_PATHS = (
    "/api/v1/issues/",
    "/api/v1/changes/",
    "/api/v1/requests/",
    "/api/v1/applications/",
)
WRK_REPLICA_MIX = LOGS / "replica_mix.lua"
APP_NAME = "firelater-bench-replica"
STATEMENTS = "pg_stat_statements"
# Room for every distinct statement of a run (reset before each): an evicted entry would
# take its calls out of the sums. Each run reports how many were evicted (0).
STATEMENTS_MAX = 20000
# The writer's and the poller's server connects as this role, so that pg_stat_statements
# (per user) tells the readers' queries from the writes'.
WRITERS_ROLE = "bench_writers"


# --- The copy of the bench's data ------------------------------------------------------------


def _fingerprint_sql() -> list[str]:
    """What must be equal for the copy to be the source's data: row counts, migrations
    applied and the API tokens the runs use."""
    queries = ["SELECT count(*) FROM public.django_migrations"]
    for slug in MAIN_TENANTS:
        for table in (
            "issues_issue",
            "changes_change",
            "requests_app_request",
            "django_migrations",
        ):
            queries.append(f'SELECT count(*) FROM "{slug}".{table}')
        queries.append(f"SELECT string_agg(key, ',' ORDER BY key) FROM \"{slug}\".authtoken_token")
    return queries


def _source_fingerprint() -> list[Any]:
    from django.db import connection

    found = []
    with connection.cursor() as cursor:
        for sql in _fingerprint_sql():
            cursor.execute(sql)
            found.append(cursor.fetchone()[0])
    return found


def _copy_fingerprint(primary: Cluster, db: str) -> list[Any] | None:
    import psycopg

    try:
        with primary.connect(db) as conn:
            return [conn.execute(sql).fetchone()[0] for sql in _fingerprint_sql()]  # type: ignore[index]
    except psycopg.Error:
        return None


def ensure_copy(ctx: Context, pair: Pair) -> dict[str, Any]:
    """The bench database's public schema and its two main tenants, restored into the
    pair's primary under the same name (the standby streams it); redone when the source
    differs."""
    from psycopg import sql

    source = pg_params(ctx.profile.database_url)
    db = str(source["dbname"])
    wanted = _source_fingerprint()
    if _copy_fingerprint(pair.primary, db) == wanted:
        return {"copied": False, "seconds": 0.0}
    started = time.perf_counter()
    say(f"replica: copying {db} (public, {', '.join(MAIN_TENANTS)}) into the private pair")
    LOGS.mkdir(parents=True, exist_ok=True)
    dump = LOGS / "replica-source.dump"
    subprocess.run(
        [
            str(pair.bindir / "pg_dump"),
            "-h",
            str(source["host"]),
            "-p",
            str(source["port"]),
            "-U",
            str(source["user"]),
            "-Fc",
            "-Z",
            "1",
            "-n",
            "public",
            *[arg for slug in MAIN_TENANTS for arg in ("-n", slug)],
            "-f",
            str(dump),
            db,
        ],
        check=True,
    )
    with pair.primary.connect() as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [db]
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(db)))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(db)))
    restored = subprocess.run(
        [
            str(pair.bindir / "pg_restore"),
            "-h",
            str(pair.primary.socket_dir),
            "-U",
            "postgres",
            "-d",
            db,
            "--no-owner",
            "--clean",
            "--if-exists",
            "-j",
            "2",
            str(dump),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    dump.unlink(missing_ok=True)
    if restored.returncode != 0 or _copy_fingerprint(pair.primary, db) != wanted:
        raise RuntimeError(f"the copy into the pair failed:\n{restored.stderr[-3000:]}")
    with pair.primary.connect(db) as conn:
        for slug in MAIN_TENANTS:
            conn.execute(f'ANALYZE "{slug}".issues_issue')
    pair.wait_caught_up(120)
    seconds = round(time.perf_counter() - started, 1)
    say(f"replica: copy ready in {seconds:.0f}s")
    return {"copied": True, "seconds": seconds}


def ensure_statements(pair: Pair) -> None:
    """pg_stat_statements loaded on both clusters (a restart, once) and created in the
    primary's postgres database (the standby gets it by replication)."""
    clusters = (pair.primary, pair.standby)

    def loaded(cluster: Cluster) -> bool:
        if STATEMENTS not in str(cluster.query("SHOW shared_preload_libraries")):
            return False
        return int(cluster.query(f"SHOW {STATEMENTS}.max")) >= STATEMENTS_MAX

    if not all(loaded(c) for c in clusters):
        say("replica: loading pg_stat_statements on the pair (one restart)")
        for cluster in clusters:
            with cluster.connect() as conn:
                conn.execute(f"ALTER SYSTEM SET shared_preload_libraries = '{STATEMENTS}'")
                conn.execute(f"ALTER SYSTEM SET {STATEMENTS}.max = {STATEMENTS_MAX}")
        pair.standby.stop()
        pair.primary.stop()
        pair.ensure()
    with pair.primary.connect() as conn:
        conn.execute(f"CREATE EXTENSION IF NOT EXISTS {STATEMENTS}")
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [WRITERS_ROLE]).fetchone():
            conn.execute(f"CREATE ROLE {WRITERS_ROLE} LOGIN SUPERUSER")
        conn.execute("SELECT pg_stat_statements_reset()")
    pair.wait_caught_up(30)


def remove_copy_writes() -> int:
    """Delete the issues the runs wrote (through the ORM, so related rows go too). Runs in
    a manage.py shell pointed at the copy."""
    from django_tenants.utils import schema_context

    from bench.data import BENCH_WRITE_TITLES
    from issues.models import Issue

    removed = 0
    for slug in MAIN_TENANTS:
        with schema_context(slug):
            removed += Issue.objects.filter(title__in=BENCH_WRITE_TITLES).delete()[0]
    return removed


def _remove_writes(ctx: Context, pair: Pair, db: str) -> None:
    from bench.data import manage

    manage(
        ctx.profile,
        "shell",
        "-c",
        "from bench.replica import remove_copy_writes; remove_copy_writes()",
        DATABASE_URL=pair.primary_url(db),
        DATABASE_REPLICA_URL="",
        LOG_LEVEL="WARNING",
    )


# --- Counting ----------------------------------------------------------------------------------


def _work(cluster: Cluster, db: str) -> dict[str, float]:
    """What `cluster` did so far for database `db`: statements (pg_stat_statements; all,
    and the readers' server's alone), rows, transactions, and the CPU seconds of all its
    processes."""
    with cluster.connect() as conn:
        row = conn.execute(
            f"SELECT coalesce(sum(calls), 0), coalesce(sum(rows), 0), "
            f"coalesce(sum(total_exec_time), 0), "
            f"coalesce(sum(calls) FILTER (WHERE r.rolname <> %s), 0) FROM {STATEMENTS} s "
            f"JOIN pg_database d ON d.oid = s.dbid JOIN pg_roles r ON r.oid = s.userid "
            f"WHERE d.datname = %s",
            [WRITERS_ROLE, db],
        ).fetchone()
        evicted = conn.execute(f"SELECT dealloc FROM {STATEMENTS}_info").fetchone()
        stats = conn.execute(
            "SELECT xact_commit + xact_rollback, tup_returned + tup_fetched "
            "FROM pg_stat_database WHERE datname = %s",
            [db],
        ).fetchone()
    assert row is not None
    assert stats is not None
    return {
        "queries": float(row[0]),
        "readers_queries": float(row[3]),
        "query_rows": float(row[1]),
        "query_ms": float(row[2]),
        "transactions": float(stats[0]),
        "rows_read": float(stats[1]),
        "statements_evicted": float(evicted[0]) if evicted else math.nan,
        "cpu_s": sum(_cpu_of(pid) for pid in cluster.leftover_pids()),
    }


def _delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: round(after[k] - before[k], 3) for k in after}


class BoundPoller(Poller):
    """The storm's poller, which also counts the polls that break the staleness bound: a
    poll lacking a write whose response came more than `bound` seconds before the poll
    began, or showing figures no write produced."""

    def __init__(self, conn: Connection, path: str, timeline: Timeline, bound: float) -> None:
        super().__init__(conn, path, timeline)
        self.bound = bound
        self.late = 0
        self.unknown = 0
        self.worst_s = 0.0
        self.pending: list[tuple[int, int]] = []

    def finish(self) -> None:
        """After the writer stopped: figures no write produced (a poll may show a write
        before its response reaches the writer, which records it only then)."""
        with self.timeline.lock:
            self.unknown = sum(1 for state in self.pending if state not in self.timeline.states)

    def run(self) -> None:
        while not self.stop.is_set():
            began = time.monotonic()
            status, body, _ = self.conn.request("GET", self.path)
            if status == 200:
                state = _state(body)
                self.timeline.observe(state, time.monotonic())
                self.reads += 1
                self._judge(state, began)
            self.stop.wait(POLL_INTERVAL)

    def _judge(self, state: tuple[int, int], began: float) -> None:
        with self.timeline.lock:
            index = self.timeline.states.get(state)
            committed = list(self.timeline.committed)
        if index is None:  # a write in flight (its response not back yet), or a wrong figure
            self.pending.append(state)
            return
        if index + 1 < len(committed):  # a newer write existed when the poll began
            missed = committed[index + 1]
            if missed < began:
                self.worst_s = max(self.worst_s, began - missed)
        due = bisect.bisect_left(committed, began - self.bound) - 1  # last write past the bound
        if index < due:
            self.late += 1


# --- One run ----------------------------------------------------------------------------------


def _comparable(reply: Any) -> Any:
    """The body without the moment it was computed at (the mobile summary's generatedAt)."""
    body = reply.json()
    if isinstance(body, dict):
        body.pop("generatedAt", None)
    return body


def _settled_differences(ctx: Context, port: int, truth: Server, truth_redis: Any) -> list[str]:
    """The dashboard entries whose answer (as the admin) differs from the primary's own
    computation through an empty cache; each difference is read again once."""

    def compare(paths: list[str]) -> list[str]:
        truth_redis.flushdb()
        differ = []
        for path in paths:
            ours = http_get(port, path, ctx.acme.host, ctx.acme.token)
            fresh = http_get(truth.port, path, ctx.acme.host, ctx.acme.token)
            if ours.status != 200 or fresh.status != 200 or _comparable(ours) != _comparable(fresh):
                differ.append(path)
        return differ

    first = compare([path for _, path, _ in dashboard_endpoints()])
    return compare(first) if first else []


def _as_role(url: str, role: str) -> str:
    return url.replace("postgres://postgres@", f"postgres://{role}@", 1)


def replica_run(
    ctx: Context,
    pair: Pair,
    db: str,
    name: str,
    lag_ms: int | None,
    tokens: dict[str, str],
    seconds: float,
    truth: Server,
    truth_redis: Any,
) -> dict[str, Any]:
    """One run: lag_ms None means no standby configured (everything on the primary).

    wrk reads through one server (2 sync workers, saturated); the writer and the poller
    through a second one, on the same database and Redis (another app server behind the
    same load balancer), so that the write rate does not depend on wrk's queue and the
    readers' queries are told apart (the second server connects as WRITERS_ROLE)."""
    from django.conf import settings

    acme = ctx.acme
    bound = float(settings.CACHE_MAX_STALE)
    pair.set_apply_delay(lag_ms or 0)
    pair.wait_caught_up(60)
    flush_bench_redis(ctx.profile)
    env = {
        "DATABASE_URL": pair.primary_url(db),
        "DATABASE_REPLICA_URL": pair.standby_url(db) if lag_ms is not None else "",
        "PGAPPNAME": APP_NAME,
    }
    writers_env = {
        **env,
        "DATABASE_URL": _as_role(env["DATABASE_URL"], WRITERS_ROLE),
        "DATABASE_REPLICA_URL": _as_role(env["DATABASE_REPLICA_URL"], WRITERS_ROLE),
    }
    readers = Server(ctx.profile, f"replica-{name}", PORT_MAIN, **env)
    writers = Server(ctx.profile, f"replica-{name}-writers", PORT_FAULT, **writers_env)
    with readers as server, writers as other:
        paths = [path for _, path, _ in dashboard_endpoints()] + list(LIST_PATHS)
        for _ in range(3):  # each worker's connections, the tenant lookup, a warm cache
            for port in (server.port, other.port):
                for path in paths:
                    reply = http_get(port, path, acme.host, acme.token)
                    if reply.status != 200:
                        raise RuntimeError(f"{path}: {reply.status} {reply.body[:300]!r}")
        time.sleep(bound + 0.2)
        writer_conn = Connection(other.port, acme.host, tokens["storm-writer"])
        status, body, _ = writer_conn.request("GET", OVERVIEW_PATH)
        assert status == 200, body
        timeline = Timeline()
        start_state = _state(body)
        timeline.record(start_state, time.monotonic())
        writer = Writer(writer_conn, OVERVIEW_PATH, HEADLINE_RATE, timeline)
        writer.state = start_state
        poller = BoundPoller(
            Connection(other.port, acme.host, tokens["storm-poller"]),
            OVERVIEW_PATH,
            timeline,
            bound,
        )
        clusters = (("primary", pair.primary), ("standby", pair.standby))
        for _, cluster in clusters:
            cluster.query(f"SELECT {STATEMENTS}_reset()::text")
        work_before = {role: _work(cluster, db) for role, cluster in clusters}
        workers = [pid for s in (server, other) if s.proc for pid in [s.proc.pid, *_worker_pids(s)]]
        gunicorn_before = sum(_cpu_of(pid) for pid in workers)
        machine_before = _machine_busy()
        started = time.monotonic()
        poller.start()
        writer.start()
        wrk = run_wrk(
            server.port,
            OVERVIEW_PATH,
            acme.host,
            acme.token,
            connections=CONNECTIONS,
            seconds=seconds,
            script=_dashboard_mix_script(WRK_REPLICA_MIX, LIST_PATHS),
        )
        writer.stop.set()
        writer.join(30)
        time.sleep(bound + 0.5)  # every write is past the bound: the poller must show it
        poller.stop.set()
        poller.join(30)
        poller.finish()
        elapsed = time.monotonic() - started
        time.sleep(1.1)  # PostgreSQL flushes a backend's statistics at most once a second
        work = {role: _delta(work_before[role], _work(cluster, db)) for role, cluster in clusters}
        gunicorn_cpu = sum(_cpu_of(pid) for pid in workers) - gunicorn_before
        machine_cpu = _machine_busy() - machine_before
        differences = _settled_differences(ctx, server.port, truth, truth_redis)
        outcomes = {
            name: dict(replica_outcomes(f"http://{LOOPBACK}:{port}"))
            for name, port in (("readers", server.port), ("writers", other.port))
        }
    writes = len(timeline.committed) - 1
    stale = writer.own_misses + poller.late + poller.unknown + len(differences)
    result = {
        "name": name,
        "apply_delay_ms": lag_ms,
        "seconds": round(elapsed, 1),
        "wrk": wrk.as_dict(),
        "writes": writes,
        "writes_per_second": round(writes / seconds, 2),
        "write_errors": writer.errors,
        "write_p50_ms": round(statistics.median(writer.write_seconds) * 1000, 1)
        if writer.write_seconds
        else None,
        "own_reads": writer.own_reads,
        "own_stale_reads": writer.own_misses,
        "poller_reads": poller.reads,
        "poller_beyond_bound": poller.late,
        "poller_unknown_figures": poller.unknown,
        "poller_worst_staleness_s": round(poller.worst_s, 3),
        "settled_differences": differences,
        "stale_reads": stale,
        "work": work,
        "readers_primary_queries_per_request": round(
            work["primary"]["readers_queries"] / max(1, wrk.requests), 3
        ),
        "primary_queries_per_s": round(work["primary"]["queries"] / elapsed, 1),
        "standby_queries_per_s": round(work["standby"]["queries"] / elapsed, 1),
        "primary_rows_read_per_s": round(work["primary"]["rows_read"] / elapsed),
        "cpu_cores": {
            "gunicorn_workers": round(gunicorn_cpu / elapsed, 3),
            "primary": round(work["primary"]["cpu_s"] / elapsed, 3),
            "standby": round(work["standby"]["cpu_s"] / elapsed, 3),
            "machine": round(machine_cpu / elapsed, 3),
        },
        "replica_outcomes": outcomes,
    }
    say(
        f"replica {name}: {wrk.rps:.0f} req/s p50 {wrk.p50_ms:.1f} p99 {wrk.p99_ms:.1f} ms, "
        f"{writes} writes (p50 {result['write_p50_ms']} ms), stale {stale} "
        f"(own {writer.own_misses}, polls {poller.late}+{poller.unknown}, settled "
        f"{differences}), readers' primary queries/request "
        f"{result['readers_primary_queries_per_request']}, primary "
        f"{result['primary_queries_per_s']}/s, standby {result['standby_queries_per_s']}/s, "
        f"cpu {result['cpu_cores']}, "
        f"outcomes {outcomes}"
    )
    _remove_writes(ctx, pair, db)
    return result


def _worker_pids(server: Server) -> list[int]:
    return _children(server.proc.pid) if server.proc else []


# --- The phase ------------------------------------------------------------------------------


def _headline(runs: list[dict[str, Any]]) -> dict[str, Any]:
    primary = [r for r in runs if r["apply_delay_ms"] is None]
    nolag = [r for r in runs if r["apply_delay_ms"] == 0]
    lagged = [r for r in runs if r["apply_delay_ms"] == max(LAGS_MS)]
    pairs = list(zip(nolag, lagged, strict=False))

    def disturbance(pair: tuple[dict[str, Any], dict[str, Any]]) -> float:
        return max(r["cpu_cores"]["machine"] - r["cpu_cores"]["gunicorn_workers"] for r in pair)

    def median(rs: list[dict[str, Any]], *path: str) -> float:
        values = []
        for r in rs:
            value: Any = r
            for part in path:
                value = value[part]
            values.append(value)
        return float(statistics.median(values))

    a, b = min(pairs, key=disturbance)
    base = median(primary, "readers_primary_queries_per_request")
    cores = median(primary, "cpu_cores", "primary")
    return {
        "primary_queries_saved": round(
            1 - median(nolag, "readers_primary_queries_per_request") / base, 2
        )
        if base
        else None,
        "primary_queries_saved_with_lag": round(
            1 - median(lagged, "readers_primary_queries_per_request") / base, 2
        )
        if base
        else None,
        "primary_cpu_saved": round(1 - median(nolag, "cpu_cores", "primary") / cores, 2)
        if cores
        else None,
        "stale_reads": sum(r["stale_reads"] for r in runs),
        "lag_p99_vs_nolag": ratio(b["wrk"]["p99_ms"], a["wrk"]["p99_ms"]),
        "lag_pairs": [
            {
                "p99_ms": [x["wrk"]["p99_ms"], y["wrk"]["p99_ms"]],
                "ratio": ratio(y["wrk"]["p99_ms"], x["wrk"]["p99_ms"]),
            }
            for x, y in pairs
        ],
    }


def run(ctx: Context) -> dict[str, Any]:
    profile = ctx.profile
    seconds = 4 if profile.quick else 20
    pairs = 1 if profile.quick else 2
    db = str(pg_params(profile.database_url)["dbname"])
    tokens = storm_users(ctx)  # before the copy: their tokens are part of it
    pair = ensure_pair(PAIR_NAME)
    ensure_statements(pair)
    copy = ensure_copy(ctx, pair)
    plan: list[tuple[str, int | None]] = [("primary", None)]
    for k in range(pairs):
        plan += [(f"lag{lag}-{k + 1}", lag) for lag in LAGS_MS]
    if pairs > 1:
        plan.append(("primary-2", None))
    say(f"replica: {', '.join(n for n, _ in plan)}, {seconds}s each")
    runs = []
    truth_env = {"DATABASE_URL": pair.primary_url(db), "DATABASE_REPLICA_URL": ""}
    try:
        with PrivateRedis(REDIS_PORT_REPLICA, "replica-truth") as truth_redis:
            truth_env["REDIS_URL"] = truth_redis.url
            with Server(profile, "replica-truth", PORT_PEER, **truth_env) as truth:
                client = truth_redis.client()
                for name, lag in plan:
                    runs.append(
                        replica_run(ctx, pair, db, name, lag, tokens, seconds, truth, client)
                    )
    finally:
        pair.set_apply_delay(0)
    return {
        "pair": PAIR_NAME,
        "copy": copy,
        "connections": CONNECTIONS,
        "write_rate": HEADLINE_RATE,
        "list_paths": list(LIST_PATHS),
        "runs": runs,
        "headline": _headline(runs),
    }


if __name__ == "__main__":
    from bench.common import main_for

    main_for("replica", run)
