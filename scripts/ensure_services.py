#!/usr/bin/env python
"""Make sure PostgreSQL and Redis answer at DATABASE_URL / REDIS_URL, and the database exists.

When a local service does not answer but its binaries are installed, start it: first the
machine's own cluster (pg_ctlcluster), else a private instance under .data/. When the
binaries are missing, say exactly what to install and exit non-zero.

With --tests (make test): the suite's PostgreSQL is its own primary and hot standby
(scripts/pg_pair.py, .data/pg/), started here unless DATABASE_URL is set; pytest points
at them itself (tests.support.pg_pair_plugin), so a hand-run pytest gets the same.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/firelater"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def say(message: str) -> None:
    print(f"[services] {message}", flush=True)


def wait_for(check, seconds: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.3)
    return check()


# --- PostgreSQL --------------------------------------------------------------------------


def pg_params(url: str, dbname: str | None = None) -> dict[str, object]:
    parts = urlparse(url)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": unquote(parts.username or "postgres"),
        "password": unquote(parts.password or "") or None,
        "dbname": dbname or parts.path.lstrip("/") or "postgres",
        "connect_timeout": 3,
    }


def pg_answers(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(**pg_params(url, "postgres")):  # type: ignore[arg-type]
            return True
    except psycopg.OperationalError:
        return False


def pg_start(url: str) -> None:
    params = pg_params(url)
    port = int(params["port"])  # type: ignore[call-overload]
    if shutil.which("pg_ctlcluster") and Path("/etc/postgresql").is_dir():
        for version in sorted(os.listdir("/etc/postgresql")):
            say(f"starting the machine's PostgreSQL {version} cluster")
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
                check=False,
            )
        if wait_for(lambda: pg_answers(url), 15):
            return
    initdb = shutil.which("initdb") or next(
        iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)), None
    )
    if initdb is None:
        sys.exit(
            "[services] PostgreSQL is not reachable and not installed. Install it with:\n"
            "    apt-get install -y postgresql\n"
            f"or point DATABASE_URL at a running server (now {url})."
        )
    bindir = Path(initdb).parent
    pgdata = DATA / "postgres"
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if not (pgdata / "PG_VERSION").exists():
        say(f"creating a private PostgreSQL cluster in {pgdata}")
        pgdata.mkdir(parents=True, exist_ok=True)
        if as_postgres:
            shutil.chown(pgdata, "postgres", "postgres")
            pgdata.chmod(0o700)
        subprocess.run(
            [
                *as_postgres,
                str(bindir / "initdb"),
                "-D",
                str(pgdata),
                "-U",
                str(params["user"]),
                "--auth=trust",
                "-E",
                "UTF8",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    say(f"starting the private PostgreSQL on port {port}")
    subprocess.run(
        [
            *as_postgres,
            str(bindir / "pg_ctl"),
            "-D",
            str(pgdata),
            "-l",
            str(pgdata / "log"),
            "-o",
            f"-p {port} -k {pgdata} -c listen_addresses=127.0.0.1",
            "-w",
            "start",
        ],
        check=True,
    )
    if not wait_for(lambda: pg_answers(url)):
        sys.exit(f"[services] started PostgreSQL but it does not answer; see {pgdata / 'log'}")


def pg_ensure_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = str(pg_params(url)["dbname"])
    with psycopg.connect(**pg_params(url, "postgres"), autocommit=True) as conn:  # type: ignore[arg-type]
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            say(f"creating database {name}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


# --- Redis -------------------------------------------------------------------------------


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def redis_start(url: str) -> None:
    server = shutil.which("redis-server")
    if server is None:
        sys.exit(
            "[services] Redis is not reachable and not installed. Install it with:\n"
            "    apt-get install -y redis-server\n"
            f"or point REDIS_URL at a running server (now {url})."
        )
    port = urlparse(url).port or 6379
    folder = DATA / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    say(f"starting a private redis-server on port {port} in {folder}")
    subprocess.run(
        [
            server,
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
            "--logfile",
            str(folder / "redis.log"),
            "--pidfile",
            str(folder / "redis.pid"),
        ],
        check=True,
    )
    if not wait_for(lambda: redis_answers(url)):
        sys.exit(f"[services] started redis-server but it does not answer; see {folder}")


def pg_pair_start() -> None:
    """The test suite's private primary and standby (.data/pg)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from scripts.pg_pair import PairError, ensure_pair, stops_after_tests

    if stops_after_tests():
        # CI: pytest starts the pair and stops it at the end of its run; started here, it
        # would outlive a failure between this step and pytest (make test-tools).
        say("PostgreSQL pair: started by pytest, which stops it afterwards (CI=true)")
        return
    try:
        pair = ensure_pair("pg")
    except PairError as exc:
        sys.exit(f"[services] the test suite's PostgreSQL pair: {exc}")
    say(f"PostgreSQL pair ok (primary {pair.primary_url('<db>')})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tests", action="store_true", help="the test suite's services: its own PostgreSQL pair"
    )
    options = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)

    if options.tests and not os.environ.get("DATABASE_URL"):
        pg_pair_start()  # in CI left to pytest, which stops it again (see pg_pair_start)
    else:
        if not pg_answers(database_url):
            if urlparse(database_url).hostname not in LOCAL_HOSTS:
                sys.exit(f"[services] PostgreSQL at {database_url} does not answer.")
            pg_start(database_url)
        pg_ensure_database(database_url)
        say("PostgreSQL ok")

    if not redis_answers(redis_url):
        if urlparse(redis_url).hostname not in LOCAL_HOSTS:
            sys.exit(f"[services] Redis at {redis_url} does not answer.")
        redis_start(redis_url)
    say("Redis ok")


if __name__ == "__main__":
    main()
