"""Cache test fixtures: a clean Redis database per test, and private redis-servers to break."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection
from django_redis import get_redis_connection

from tenant_cache import CacheEntry, reset_backend


@pytest.fixture(autouse=True)
def clean_cache() -> Iterator[None]:
    """Each cache test starts with an empty Redis test database and a closed breaker."""
    reset_backend()
    get_redis_connection("default").flushdb()
    yield
    reset_backend()


@pytest.fixture
def entry() -> CacheEntry:
    return CacheEntry("dashboard", "probe", frozenset({"issues"}))


@pytest.fixture
def other_entry() -> CacheEntry:
    return CacheEntry("dashboard", "other", frozenset({"changes"}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A redis-server of the test's own, to kill (SIGKILL), hang (SIGSTOP) and restart."""

    def __init__(
        self, folder: Path, port: int | None = None, extra_args: tuple[str, ...] = ()
    ) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.extra_args = extra_args
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=0.2, socket_timeout=0.5)

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.folder)),
                *self.extra_args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def hang(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)
            self.process.kill()
            self.process.wait()


def point_cache_at(settings, url: str) -> None:  # type: ignore[no-untyped-def]
    caches = {alias: dict(config) for alias, config in django_settings.CACHES.items()}
    caches["default"]["LOCATION"] = url
    settings.CACHES = caches


@pytest.fixture
def private_redis(settings, tmp_path: Path) -> Iterator[PrivateRedis]:  # type: ignore[no-untyped-def]
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    server = PrivateRedis(tmp_path)
    server.start()
    settings.CACHE_BREAKER_COOLDOWN = 0.3
    point_cache_at(settings, server.url)
    yield server
    server.stop()


@pytest.fixture
def acme_context(acme):  # type: ignore[no-untyped-def]
    """acme as the current tenant, without touching the database."""
    connection.set_tenant(acme)
    yield acme
    connection.set_schema_to_public()
