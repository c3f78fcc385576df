"""Shared pieces of the bench: environment, processes it starts, HTTP, wrk, statistics.

Every process the bench starts (gunicorn, private redis-server, wrk) is tracked here and
stopped on exit, also after an error or Ctrl-C. Every load targets 127.0.0.1 only and is
bounded in time.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.gunicorn import Gunicorn
from tests.support.processes import stop_all
from tests.support.redis_server import PrivateRedis as SupportRedis

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
LOGS = RESULTS / "logs"
LOOPBACK = "127.0.0.1"

FULL_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/firelater_bench"
QUICK_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/firelater_bench_quick"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"  # the dev server uses 0, the tests 15
SECRET_KEY = "bench-only-secret-key-not-for-production"

# Ports the bench's own servers listen on (loopback only).
PORT_MAIN = 8601
PORT_PEER = 8602
PORT_FAULT = 8603
PORT_STAMPEDE = 8604
REDIS_PORT_FAULT = 6391
REDIS_PORT_MICRO = 6392
REDIS_PORT_SCALE = 6393
REDIS_PORT_REPLICA = 6394  # the replica phase's second server (its cache starts empty)
CLOSED_PORT = 6399  # nothing listens here: a "dead Redis"


def say(message: str) -> None:
    # The bench is a command-line tool: its progress goes to stderr, its results to files.
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)  # noqa: T201


# --- Configuration -------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """How big and how long: the full run (`make bench`) or --quick (development, smoke)."""

    quick: bool
    database_url: str
    redis_url: str
    issues: int
    changes: int
    requests: int
    applications: int
    load_seconds: int  # the overview's own throughput runs
    peer_seconds: int  # each peer's and baseline's throughput runs
    mixed_seconds: int  # the runs with 1 % writes
    cold_samples: int
    warm_samples: int
    scale_sizes: tuple[int, ...]
    small_tenant_counts: tuple[int, ...]
    fault_seconds: int
    micro_hits: int
    micro_unrelated: tuple[int, int]

    @classmethod
    def make(cls, quick: bool) -> Profile:
        sizes = {name: values[0 if quick else 1] for name, values in _SIZES.items()}
        default_db = QUICK_DATABASE_URL if quick else FULL_DATABASE_URL
        return cls(
            quick=quick,
            database_url=os.environ.get("BENCH_DATABASE_URL", default_db),
            redis_url=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL),
            **sizes,
        )


# Each size and duration of a run: (--quick, the full `make bench`).
_SIZES: dict[str, tuple[Any, Any]] = {
    "issues": (5_000, 100_000),
    "changes": (1_000, 20_000),
    "requests": (1_000, 20_000),
    "applications": (30, 200),
    "load_seconds": (3, 30),
    "peer_seconds": (2, 20),
    "mixed_seconds": (3, 30),
    "cold_samples": (3, 15),
    "warm_samples": (30, 300),
    "scale_sizes": ((1_000, 10_000), (1_000, 10_000, 100_000, 1_000_000)),
    "small_tenant_counts": ((5, 10), (10, 100, 1_000)),
    "fault_seconds": (9, 24),
    "micro_hits": (2_000, 20_000),
    "micro_unrelated": ((10_000, 100_000), (10_000, 1_000_000)),
}


def bench_env(profile: Profile, **overrides: str) -> dict[str, str]:
    """The environment of every bench process: its own database and Redis, DEBUG off."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DATABASE_URL": profile.database_url,
            "REDIS_URL": profile.redis_url,
            "SECRET_KEY": SECRET_KEY,
            "DEBUG": "0",
            "CONN_MAX_AGE": "600",
            "LOG_LEVEL": "INFO",
            "BENCH_INSTRUMENT": "0",
            "BENCH_CACHALOT": "0",
            "BENCH_CACHALOT_PLAIN": "0",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(overrides)
    return env


def setup_django(profile: Profile) -> None:
    """Configure this process as a bench process (bench settings, bench database)."""
    os.environ.update(bench_env(profile))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


@contextlib.contextmanager
def use_redis(url: str) -> Iterator[None]:
    """Point this process's caches (ours and Django's) at another Redis for a while."""
    from django.conf import settings
    from django.test.utils import override_settings

    caches = {alias: {**config, "LOCATION": url} for alias, config in settings.CACHES.items()}
    with override_settings(CACHES=caches):
        yield


# --- Processes -----------------------------------------------------------------------------


def _on_signal(signum: int, frame: Any) -> None:
    stop_all()
    raise SystemExit(128 + signum)


def install_signal_handlers() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _on_signal)


class Server(Gunicorn):
    """gunicorn serving bench.wsgi on 127.0.0.1:<port>; 2 sync workers unless told
    (the test suite's harness, tests.support.gunicorn, with the bench's settings)."""

    def __init__(
        self,
        profile: Profile,
        name: str,
        port: int,
        *,
        workers: int = 2,
        threads: int = 1,
        **env: str,
    ) -> None:
        super().__init__(
            env=bench_env(profile, **env),
            app="bench.wsgi:application",
            port=port,
            workers=workers,
            threads=threads,
            timeout=120,
            ready_path="/bench/floor/",
            log=LOGS / f"server-{name}.log",
        )
        self.profile = profile
        self.name = name

    def start(self) -> Server:
        assert self.log is not None
        self.log.unlink(missing_ok=True)
        super().start()
        return self

    def log_size(self) -> int:
        assert self.log is not None
        return self.log.stat().st_size if self.log.exists() else 0

    def log_since(self, offset: int) -> str:
        assert self.log is not None
        with self.log.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode(errors="replace")


class PrivateRedis(SupportRedis):
    """A redis-server of the bench's own on 127.0.0.1:<port>, killable and restartable."""

    def __init__(self, port: int, name: str) -> None:
        super().__init__(
            port=port,
            extra_args=("--enable-debug-command", "local", "--maxmemory-policy", "volatile-lru"),
            log=LOGS / f"redis-{name}.log",
        )

    def client(self, socket_timeout: float = 30) -> Any:
        return super().client(socket_timeout=socket_timeout)


# --- HTTP ----------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    ms: float  # round trip seen by the client

    @property
    def cache(self) -> str:
        return self.headers.get("x-cache", "")

    @property
    def server_ms(self) -> float:
        return float(self.headers.get("x-bench-server-ms", "nan"))

    @property
    def queries(self) -> int:
        return int(self.headers.get("x-bench-queries", "-1"))

    @property
    def data_queries(self) -> int:
        return int(self.headers.get("x-bench-data-queries", "-1"))

    def json(self) -> Any:
        return json.loads(self.body)


def http_request(
    port: int,
    path: str,
    host: str,
    *,
    token: str | None = None,
    method: str = "GET",
    body: Any = None,
    timeout: float = 30.0,
) -> Reply:
    """One request to 127.0.0.1:<port> with the tenant's Host header (a new connection:
    gunicorn's sync workers close each one anyway)."""
    headers = {"Host": host, "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    started = time.perf_counter()
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    elapsed = (time.perf_counter() - started) * 1000
    return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data, elapsed)


def http_get(port: int, path: str, host: str, token: str | None = None) -> Reply:
    return http_request(port, path, host, token=token)


# --- wrk -----------------------------------------------------------------------------------

WRK_REPORT = BENCH / "wrk" / "report.lua"
WRK_MIXED = BENCH / "wrk" / "mixed.lua"


def ensure_wrk() -> str:
    """wrk from Debian; installed with apt-get when missing (the bench's one system need)."""
    found = shutil.which("wrk")
    if found:
        return found
    say("wrk is missing: apt-get install -y wrk")
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if os.geteuid() != 0:
        install = ["sudo", "-n", *install]
    result = subprocess.run(install, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        update = (
            ["apt-get", "update", "-q"]
            if os.geteuid() == 0
            else ["sudo", "-n", "apt-get", "update", "-q"]
        )
        subprocess.run(update, capture_output=True, check=False)
        result = subprocess.run(install, capture_output=True, text=True, check=False)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError(f"could not install wrk:\n{result.stderr[-2000:]}")
    return found


@dataclass
class WrkResult:
    path: str
    connections: int
    seconds: float
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    errors: int
    error_detail: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def wrk_tenant(
    server: Any, tenant: Any, path: str, *, connections: int, seconds: float, **options: Any
) -> WrkResult:
    """run_wrk on `server` as `tenant` (its host and token; token=False: anonymous)."""
    token = tenant.token if options.pop("token", True) else None
    return run_wrk(
        server.port, path, tenant.host, token, connections=connections, seconds=seconds, **options
    )


def run_wrk(
    port: int,
    path: str,
    host: str,
    token: str | None,
    *,
    connections: int,
    seconds: float,
    write_every: int = 0,
    threads: int = 2,
    script: Path | None = None,
) -> WrkResult:
    """wrk against 127.0.0.1 for a bounded time; write_every=N makes every Nth request per
    thread a POST of an issue (N=100: 1 % writes); `script`: a Lua file of its own that
    chooses the requests (e.g. every dashboard endpoint in turn)."""
    wrk = ensure_wrk()
    lua = WRK_REPORT.read_text()
    if write_every:
        lua = WRK_MIXED.read_text().replace("WRITE_EVERY", str(write_every)) + lua
    if script is not None:
        lua = script.read_text() + lua
    LOGS.mkdir(parents=True, exist_ok=True)
    suffix = f"-{script.stem}" if script is not None else ""
    script_file = LOGS / f"wrk-{port}-{connections}-{write_every}{suffix}.lua"
    script_file.write_text(lua)
    args = [
        wrk,
        "-t",
        str(min(threads, connections)),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script_file),
        "-H",
        f"Host: {host}",
        "-H",
        "Accept: application/json",
    ]
    if token:
        args += ["-H", f"Authorization: Token {token}"]
    args.append(f"http://{LOOPBACK}:{port}{path}")
    done = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no summary:\n{done.stdout}\n{done.stderr}")
    data = json.loads(line[len("WRKJSON ") :])
    detail = {k: int(data[k]) for k in ("connect", "read", "write", "status", "timeout")}
    duration = data["duration_us"] / 1e6
    return WrkResult(
        path=path,
        connections=connections,
        seconds=round(duration, 2),
        requests=int(data["requests"]),
        rps=round(data["requests"] / duration, 1) if duration else 0.0,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        mean_ms=round(data["mean_us"] / 1000, 3),
        max_ms=data["max_us"] / 1000,
        errors=sum(detail.values()),
        error_detail=detail,
    )


# --- Statistics ----------------------------------------------------------------------------


def percentile(values: Iterable[float], p: float) -> float:
    data = sorted(v for v in values if not math.isnan(v))
    if not data:
        return math.nan
    if len(data) == 1:
        return data[0]
    rank = (len(data) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return data[low] + (data[high] - data[low]) * (rank - low)


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": round(percentile(values, 50), 3),
        "p95": round(percentile(values, 95), 3),
        "min": round(min(values), 3) if values else math.nan,
        "max": round(max(values), 3) if values else math.nan,
    }


def ratio(a: float, b: float, digits: int = 2) -> float:
    if not b or math.isnan(a) or math.isnan(b):
        return math.nan
    return round(a / b, digits)


# --- Results -------------------------------------------------------------------------------


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def results_dir(quick: bool) -> Path:
    """bench/results/ for the full run; bench/results/quick/ (git-ignored) for --quick."""
    return RESULTS / "quick" if quick else RESULTS


def phase_file(name: str, quick: bool) -> Path:
    return results_dir(quick) / "phases" / f"{name}.json"


def main_for(name: str, run: Any) -> None:
    """The `python -m bench.<phase> [--quick]` entry point every phase module shares."""
    import argparse

    from bench.data import prepare

    parser = argparse.ArgumentParser(prog=f"python -m bench.{name}")
    parser.add_argument("--quick", action="store_true", help="Small data, short runs.")
    options = parser.parse_args()
    install_signal_handlers()
    profile = Profile.make(options.quick)
    started = time.perf_counter()
    try:
        ctx = prepare(profile)
        result = run(ctx)
    finally:
        stop_all()
    write_json(phase_file(name, profile.quick), result)
    say(f"{name} done in {time.perf_counter() - started:.0f}s -> {phase_file(name, profile.quick)}")


def sample(
    port: int,
    path: str,
    host: str,
    token: str | None,
    n: int,
    *,
    before: Any = None,
    expect_cache: str | None = None,
) -> list[Reply]:
    """n sequential requests (one client); `before()` runs ahead of each (e.g. to
    invalidate the entry so the request is a miss). Non-200 answers fail the bench."""
    replies = []
    for _ in range(n):
        if before is not None:
            before()
        reply = http_get(port, path, host, token)
        if reply.status != 200:
            raise RuntimeError(f"GET {path} on {host}: {reply.status} {reply.body[:300]!r}")
        if expect_cache and reply.cache != expect_cache:
            raise RuntimeError(f"GET {path}: expected X-Cache {expect_cache}, got {reply.cache!r}")
        replies.append(reply)
    return replies


def latency_summary(replies: list[Reply]) -> dict[str, Any]:
    """Server-side and client-side latency, SQL queries and payload size of a sample."""
    return {
        "server_ms": summary([r.server_ms for r in replies]),
        "client_ms": summary([r.ms for r in replies]),
        "queries": summary([float(r.queries) for r in replies]),
        "data_queries": summary([float(r.data_queries) for r in replies]),
        "bytes": len(replies[-1].body) if replies else 0,
    }
