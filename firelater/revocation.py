"""Immediate revocation across processes: PostgreSQL NOTIFY of per-tenant auth epochs.

Triggers (firelater and tenants migrations) send a notification on channel
`firelater_revocation` when a schema's users or tokens change (any UPDATE but last_login,
DELETE, TRUNCATE: saves, `QuerySet.update`, raw SQL alike) and when a tenant or domain
changes. Each server process runs one listener thread with its own psycopg connection; a
notification bumps an in-process epoch, and the per-process caches (token -> user in
firelater.authentication, host -> tenant in tenants.middleware) keep the epoch an answer
was read under and drop it once the epoch moved. Checking is a dict lookup: a warm request
still runs no SQL and no Redis call.

Payloads: `auth:<schema>` (a user or token of that schema), `tenant:<schema>` (the tenant
row: its tokens and every host route), `routing` (a domain). NOTIFY is delivered on
commit, so a rolled-back change revokes nothing, and at most once per transaction.

When the listener is not connected (PostgreSQL away, AUTH_REVOCATION_LISTENER off) the
caches' TTLs still bound what another process may keep. The listener reconnects with
backoff; connecting bumps every epoch, because notifications sent while it was away are
lost: what was cached before may be stale.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from typing import Any

import psycopg
from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

CHANNEL = "firelater_revocation"
ROUTING = "routing"
APPLICATION_NAME = "firelater-revocation"
_PING_SECONDS = 5.0  # a silent connection is checked this often (half-open TCP)
_WAKE_SECONDS = 0.5  # how soon stop_listener() is noticed
_BACKOFF_FIRST, _BACKOFF_MAX = 0.1, 5.0

# key ("auth:<schema>" or "routing") -> how often it was bumped; _generation: reconnects.
_epochs: dict[str, int] = {}
_generation = 0
_lock = threading.Lock()
_thread: threading.Thread | None = None
_stop = threading.Event()
_connected = threading.Event()
_backend_pid: int | None = None


def auth_key(schema: str) -> str:
    return f"auth:{schema}"


def stamp(key: str) -> tuple[int, int]:
    """The epoch of `key` now. An answer cached under one stamp is stale once the stamp of
    its key differs. Read it *before* reading the database for the answer."""
    return (_generation, _epochs.get(key, 0))


def bump(key: str) -> None:
    with _lock:
        _epochs[key] = _epochs.get(key, 0) + 1


def bump_all() -> None:
    global _generation
    with _lock:
        _generation += 1


def apply(payload: str) -> None:
    """Act on one notification's payload."""
    kind, _, schema = payload.partition(":")
    if kind == "auth" and schema:
        bump(auth_key(schema))
    elif kind == "tenant" and schema:
        bump(auth_key(schema))
        bump(ROUTING)
    elif kind == ROUTING:
        bump(ROUTING)
    else:
        logger.warning("Ignored revocation notification %r", payload)


# --- The listener thread -------------------------------------------------------------------


def listener_connected() -> bool:
    return _connected.is_set()


def listener_backend_pid() -> int | None:
    """The PostgreSQL backend of the listener's connection (None: not connected)."""
    return _backend_pid if _connected.is_set() else None


def ensure_listener(**kwargs: Any) -> None:
    """Start this process's listener if it is not running (a request_started receiver:
    server processes start it on their first request, after any fork)."""
    if _thread is not None or not getattr(settings, "AUTH_REVOCATION_LISTENER", True):
        return
    start_listener()


def start_listener() -> None:
    global _thread
    with _lock:
        if _thread is not None and _thread.is_alive():
            return
        _stop.clear()
        _thread = threading.Thread(target=_listen_forever, name="auth-revocation", daemon=True)
        _thread.start()


def stop_listener(timeout: float = 5.0) -> None:
    """Stop the listener and close its connection (tests; a process shutting down)."""
    global _thread
    with _lock:
        thread, _thread = _thread, None
    _stop.set()
    if thread is not None:
        thread.join(timeout)
    _connected.clear()


def wait_until_listening(timeout: float) -> bool:
    return _connected.wait(timeout)


def _forget_after_fork() -> None:
    """A forked child has no listener thread (only the forking thread survives), and a lock
    another thread held at the fork would stay held."""
    global _thread, _backend_pid, _lock
    _thread, _backend_pid, _lock = None, None, threading.Lock()
    _connected.clear()


os.register_at_fork(after_in_child=_forget_after_fork)


def _connection_params() -> dict[str, Any]:
    """The default database's connection settings, as psycopg.connect takes them."""
    params = dict(connections["default"].get_connection_params())
    for django_only in ("cursor_factory", "context"):  # Django's cursor and adapters
        params.pop(django_only, None)
    params["application_name"] = APPLICATION_NAME
    # A dead peer is noticed even while no notification comes (and by the ping).
    params.update(keepalives=1, keepalives_idle=10, keepalives_interval=3, keepalives_count=3)
    return params


def _listen_forever() -> None:
    backoff = _BACKOFF_FIRST
    while not _stop.is_set():
        try:
            _listen_once()
        except Exception as error:  # the listener must outlive any database trouble
            if _stop.is_set():
                break
            logger.warning(
                "Revocation listener disconnected (%s); reconnecting in %.1f s",
                error,
                backoff,
                extra={"error": str(error)},
            )
        if _connected.is_set():  # it was up: the next try comes soon again
            backoff = _BACKOFF_FIRST
        _connected.clear()
        _stop.wait(backoff * random.uniform(0.8, 1.2))
        backoff = min(backoff * 2, _BACKOFF_MAX)


def _listen_once() -> None:
    """One connection's life: LISTEN, then apply notifications until it breaks or stops."""
    global _backend_pid
    with psycopg.connect(**_connection_params(), autocommit=True) as conn:
        conn.execute(f"LISTEN {CHANNEL}")
        _backend_pid = conn.info.backend_pid
        # Listening from now on; anything cached before may have missed a notification.
        bump_all()
        _connected.set()
        logger.info("Revocation listener connected", extra={"backend_pid": _backend_pid})
        pinged = time.monotonic()
        while not _stop.is_set():
            for notification in conn.notifies(timeout=_WAKE_SECONDS):
                apply(notification.payload)
            if time.monotonic() - pinged >= _PING_SECONDS:
                conn.execute("SELECT 1")  # raises if the connection died silently
                pinged = time.monotonic()
