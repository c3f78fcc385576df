"""Shared pieces of the bench: environment, processes it starts, HTTP, wrk, statistics.

Every process the bench starts (gunicorn, private redis-server, wrk) is tracked here and
stopped on exit, also after an error or Ctrl-C. Every load targets 127.0.0.1 only and is
bounded in time.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
        redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
        if quick:
            return cls(
                quick=True,
                database_url=os.environ.get("BENCH_DATABASE_URL", QUICK_DATABASE_URL),
                redis_url=redis_url,
                issues=5_000,
                changes=1_000,
                requests=1_000,
                applications=30,
                load_seconds=3,
                peer_seconds=2,
                mixed_seconds=3,
                cold_samples=3,
                warm_samples=30,
                scale_sizes=(1_000, 10_000),
                small_tenant_counts=(5, 10),
                fault_seconds=9,
                micro_hits=2_000,
                micro_unrelated=(10_000, 100_000),
            )
        return cls(
            quick=False,
            database_url=os.environ.get("BENCH_DATABASE_URL", FULL_DATABASE_URL),
            redis_url=redis_url,
            issues=100_000,
            changes=20_000,
            requests=20_000,
            applications=200,
            load_seconds=30,
            peer_seconds=20,
            mixed_seconds=30,
            cold_samples=15,
            warm_samples=300,
            scale_sizes=(1_000, 10_000, 100_000, 1_000_000),
            small_tenant_counts=(10, 100, 1_000),
            fault_seconds=24,
            micro_hits=20_000,
            micro_unrelated=(10_000, 1_000_000),
        )


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

_running: dict[int, subprocess.Popen[bytes]] = {}


def _stop_process(proc: subprocess.Popen[bytes], grace: float = 8.0) -> None:
    """Stop a process this bench started (and its process group, e.g. gunicorn's workers)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    _running.pop(proc.pid, None)


def stop_all() -> None:
    for proc in list(_running.values()):
        _stop_process(proc, grace=3.0)


def _on_signal(signum: int, frame: Any) -> None:
    stop_all()
    raise SystemExit(128 + signum)


atexit.register(stop_all)


def install_signal_handlers() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _on_signal)


def spawn(args: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a tracked process in its own process group, output to a log file."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _running[proc.pid] = proc
    return proc


def port_open(port: int, timeout: float = 0.2) -> bool:
    with socket.socket() as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((LOOPBACK, port)) == 0


def wait_until(check: Any, seconds: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return bool(check())


class Server:
    """gunicorn serving bench.wsgi on 127.0.0.1:<port>; 2 sync workers unless told."""

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
        self.profile = profile
        self.name = name
        self.port = port
        self.workers = workers
        self.threads = threads
        self.env = bench_env(profile, **env)
        self.log = LOGS / f"server-{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is busy; is another bench running?")
        self.log.unlink(missing_ok=True)
        args = [
            sys.executable,
            "-m",
            "gunicorn",
            "bench.wsgi:application",
            "--bind",
            f"{LOOPBACK}:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-tmp-dir",
            "/dev/shm" if Path("/dev/shm").is_dir() else tempfile.gettempdir(),
            "--timeout",
            "120",
            "--graceful-timeout",
            "3",
            "--log-level",
            "warning",
        ]
        if self.threads > 1:
            args += ["--worker-class", "gthread", "--threads", str(self.threads)]
        self.proc = spawn(args, env=self.env, log=self.log)
        ready = wait_until(self._ready, 60, 0.2)
        if not ready:
            self.stop()
            raise RuntimeError(f"server {self.name} did not start; see {self.log}")
        return self

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"server {self.name} exited; see {self.log}")
        try:
            return http_get(self.port, "/bench/floor/", "localhost").status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            _stop_process(self.proc)
            self.proc = None

    def log_size(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def log_since(self, offset: int) -> str:
        with self.log.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode(errors="replace")

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class PrivateRedis:
    """A redis-server of the bench's own on 127.0.0.1:<port>, killable and restartable."""

    def __init__(self, port: int, name: str) -> None:
        self.port = port
        self.name = name
        self.dir = Path(tempfile.mkdtemp(prefix=f"bench-redis-{port}-"))
        self.log = LOGS / f"redis-{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def start(self) -> PrivateRedis:
        server = shutil.which("redis-server")
        if server is None:
            raise RuntimeError("redis-server is not installed (apt-get install -y redis-server)")
        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is busy; is another bench running?")
        args = [
            server,
            "--port",
            str(self.port),
            "--bind",
            LOOPBACK,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.dir),
            "--enable-debug-command",
            "local",
            "--maxmemory-policy",
            "volatile-lru",
        ]
        self.proc = spawn(args, env=dict(os.environ), log=self.log)
        if not wait_until(lambda: port_open(self.port), 10, 0.02):
            raise RuntimeError(f"private redis-server on {self.port} did not start")
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, sig)
            if sig == signal.SIGKILL:
                self.proc.wait(5)
                _running.pop(self.proc.pid, None)
                self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGCONT)
            _stop_process(self.proc, grace=3)
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def client(self) -> Any:
        import redis

        return redis.Redis(host=LOOPBACK, port=self.port, socket_timeout=30)

    def __enter__(self) -> PrivateRedis:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


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
) -> WrkResult:
    """wrk against 127.0.0.1 for a bounded time; write_every=N makes every Nth request per
    thread a POST of an issue (N=100: 1 % writes)."""
    wrk = ensure_wrk()
    script = WRK_REPORT.read_text()
    if write_every:
        script = WRK_MIXED.read_text().replace("WRITE_EVERY", str(write_every)) + script
    LOGS.mkdir(parents=True, exist_ok=True)
    script_file = LOGS / f"wrk-{port}-{connections}-{write_every}.lua"
    script_file.write_text(script)
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
