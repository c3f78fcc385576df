"""Processes the tests and the bench start: tracked, in their own group, always stopped."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[2]

_running: dict[int, subprocess.Popen[bytes]] = {}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def port_open(port: int, timeout: float = 0.2) -> bool:
    with socket.socket() as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((LOOPBACK, port)) == 0


def wait_until(check: Callable[[], Any], seconds: float = 5.0, step: float = 0.05) -> bool:
    """Poll `check` until it is truthy or `seconds` pass; the last answer."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return bool(check())


def spawn(
    args: list[str], *, env: dict[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a tracked process in its own process group; output to `log` (or nowhere)."""
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") if log is not None else open(os.devnull, "wb") as out:
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env if env is not None else dict(os.environ),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _running[proc.pid] = proc
    return proc


def signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def stop(proc: subprocess.Popen[bytes], grace: float = 8.0) -> None:
    """Stop a tracked process and its group (a stopped one is continued first)."""
    if proc.poll() is None:
        signal_group(proc, signal.SIGCONT)
        signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            signal_group(proc, signal.SIGKILL)
            proc.wait(5)
    _running.pop(proc.pid, None)


def stop_all() -> None:
    for proc in list(_running.values()):
        stop(proc, grace=3.0)


atexit.register(stop_all)
