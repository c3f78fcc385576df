"""A real gunicorn serving the project (or the bench's instrumented app) on loopback."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import requests

from tests.support.processes import LOOPBACK, free_port, port_open, spawn, stop, wait_until


class Gunicorn:
    """`with Gunicorn(env=...) as server:` serves `app` until the block ends.

    Readiness is a GET of `ready_path` with Host `ready_host` answering 200.
    """

    def __init__(
        self,
        *,
        env: dict[str, str],
        app: str = "firelater.wsgi",
        port: int | None = None,
        workers: int = 2,
        threads: int = 1,
        timeout: int = 30,
        ready_path: str = "/healthz",
        ready_host: str = "localhost",
        log: Path | None = None,
    ) -> None:
        self.env = env
        self.app = app
        self.port = port or free_port()
        self.workers = workers
        self.threads = threads
        self.timeout = timeout
        self.ready_path = ready_path
        self.ready_host = ready_host
        self.log = log
        self.proc: Any = None

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> Gunicorn:
        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is busy")
        args = [
            sys.executable,
            *("-m", "gunicorn", self.app),
            *("--bind", f"{LOOPBACK}:{self.port}", "--workers", str(self.workers)),
            "--worker-tmp-dir",
            "/dev/shm" if Path("/dev/shm").is_dir() else tempfile.gettempdir(),
            *("--timeout", str(self.timeout), "--graceful-timeout", "3"),
            *("--log-level", "warning"),
        ]
        if self.threads > 1:
            args += ["--worker-class", "gthread", "--threads", str(self.threads)]
        self.proc = spawn(args, env=self.env, log=self.log)
        if not wait_until(self._ready, 60, 0.1):
            self.stop()
            raise RuntimeError(f"gunicorn did not start (log: {self.log})")
        return self

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited (log: {self.log})")
        try:
            url = self.base_url + self.ready_path
            return requests.get(url, headers={"Host": self.ready_host}, timeout=5).ok
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
