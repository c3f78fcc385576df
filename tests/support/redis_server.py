"""A private redis-server to kill (SIGKILL), hang (SIGSTOP), resume and restart."""

from __future__ import annotations

import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

import redis

from tests.support.processes import LOOPBACK, free_port, port_open, signal_group, spawn, stop
from tests.support.processes import wait_until as _wait_until

INSTALL_HINT = "redis-server is not installed: apt-get install redis-server (`make test` does)"


class PrivateRedis:
    def __init__(
        self,
        folder: Path | None = None,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
        log: Path | None = None,
        password: str | None = None,
    ) -> None:
        self.password = password
        self.folder = folder or Path(tempfile.mkdtemp(prefix="private-redis-"))
        self.port = port or free_port()
        self.extra_args = extra_args
        self.log = log
        self.process: Any = None

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def client(self, socket_timeout: float = 0.5) -> redis.Redis:
        return redis.Redis(
            host=LOOPBACK,
            port=self.port,
            password=self.password,
            socket_connect_timeout=0.2,
            socket_timeout=socket_timeout,
        )

    def start(self) -> PrivateRedis:
        server = shutil.which("redis-server")
        if server is None:
            import pytest  # a missing server fails the test that needs it, with the hint

            pytest.fail(INSTALL_HINT)
        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is busy")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = spawn(
            [
                server,
                *("--port", str(self.port), "--bind", LOOPBACK),
                *("--save", "", "--appendonly", "no", "--dir", str(self.folder)),
                *(("--requirepass", self.password) if self.password else ()),
                *self.extra_args,
            ],
            log=self.log,
        )
        if not _wait_until(self._answers, 15, 0.05):
            raise RuntimeError(f"private redis-server on {self.port} did not start")
        return self

    def _answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """SIGKILL: the server dies at once, losing everything."""
        assert self.process is not None
        signal_group(self.process, signal.SIGKILL)
        self.process.wait()
        stop(self.process)

    def hang(self) -> None:
        """SIGSTOP: connections stay open, nothing answers (a hung server)."""
        assert self.process is not None
        signal_group(self.process, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        signal_group(self.process, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process, grace=3)
            self.process = None

    def __enter__(self) -> PrivateRedis:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def server_epoch(client: redis.Redis) -> bytes:
    """A Redis server's epoch as tenant_cache's scripts record it (a value's `o`, a WAL
    position's tag): 20 hex digits of its run_id, then 20 of its replication id."""
    server, replication = client.info("server"), client.info("replication")
    return (str(server["run_id"])[:20] + str(replication["master_replid"])[:20]).encode()
