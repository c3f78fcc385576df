"""A real FireLater server on the test database, for tests that need other processes."""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings

from tests.support.gunicorn import Gunicorn

LIVE_APP_NAME = "firelater-live-test"  # PGAPPNAME: lets a test find the server's connections


@dataclass
class LiveTenant:
    slug: str
    tenant: Any
    token: str

    @property
    def host(self) -> str:
        return f"{self.slug}.localhost"


def database_url(alias: str = "default", name: str | None = None) -> str:
    """A DATABASE_URL for this process's database `alias` (the test database, or `name`
    on its server): a Unix-socket host (the suite's private pair) percent-encoded."""
    db = settings.DATABASES[alias]
    user = quote(db.get("USER") or "postgres", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    if host.startswith("/"):
        address = quote(host, safe="") + (f":{db['PORT']}" if db.get("PORT") else "")
    else:
        address = f"{host}:{db.get('PORT') or 5432}"
    return f"postgres://{user}{password}@{address}/{name or db['NAME']}"


def test_database_url() -> str:
    """DATABASE_URL of the database this test process uses (pytest-django's test_...)."""
    return database_url()


def database_env() -> dict[str, str]:
    """DATABASE_URL and DATABASE_REPLICA_URL of this test process's databases, for a
    process a test starts (no replica when this process has none)."""
    env = {"DATABASE_URL": database_url()}
    env["DATABASE_REPLICA_URL"] = database_url("replica") if "replica" in settings.DATABASES else ""
    return env


@contextlib.contextmanager
def serve_project(
    redis_url: str,
    *,
    workers: int = 2,
    threads: int = 4,
    cooldown: float = 0.5,
    app: str = "firelater.wsgi",
    **env: str,
) -> Iterator[str]:
    """gunicorn (gthread) serving `app` (firelater.wsgi, or tests.support.worker_wsgi to
    tell the workers apart) on the test database; yields its base URL."""
    server_env = {
        **os.environ,
        **database_env(),
        "REDIS_URL": redis_url,
        "DEBUG": "0",
        "SECRET_KEY": "reliability-suite-secret-key-" + "x" * 30,
        "CACHE_BREAKER_COOLDOWN": str(cooldown),
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "firelater.settings",
        "PGAPPNAME": LIVE_APP_NAME,
        "AUTH_REVOCATION_LISTENER": "1",  # as in production (the test process runs without)
        **env,
    }
    with Gunicorn(env=server_env, app=app, workers=workers, threads=threads) as server:
        yield server.base_url


def replica_outcomes(base: str) -> Counter[str]:
    """The server's replica_read outcomes so far (its /metrics, all workers)."""
    text = requests.get(f"{base}/metrics", timeout=10).text
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        if line.startswith("firelater_replica_reads_total{"):
            outcome = line.split('outcome="', 1)[1].split('"', 1)[0]
            counts[outcome] += int(float(line.rsplit(" ", 1)[1]))
    return counts
