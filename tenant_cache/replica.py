"""Reads from a PostgreSQL hot standby that never cache a value older than the write it follows.

The race it closes (the replica-lag race; Facebook's memcache paper answers it with
"remote markers"): a write commits on the primary and its invalidation bumps the entry's
generation; a reader recomputes on a standby that has not replayed the write yet, and
stores the old figures under the new generation, where they would live until their TTL.

So every invalidation records the primary's WAL position after its commit
(`pg_current_wal_lsn()`) with the entry's new generation, in Redis, keeping the highest
(`_meta:lsn:<entry>`, set by the same script that bumps the generation). A recomputation
reads it with the generation (MISS, one script) and runs on the standby only once
`pg_last_wal_replay_lsn()` has reached it: it waits up to CACHE_REPLICA_MAX_WAIT, else it
computes on the primary. WAL replays in order and visibility follows the replayed commit
records, so every query of the computation sees at least what the invalidation followed.
Where no position is recorded (Redis lost it, or it is from another Redis master) the
primary's current position is required instead: the first recomputation after such a loss
may go to the primary, none can be stale.

A standby that errors (down, killed, a query cancelled by recovery), that takes longer than
CACHE_REPLICA_TIMEOUT over a block of queries (hung: its connection is cut), or that is too far
behind CACHE_REPLICA_LAG_FAILURES times in a row is skipped for CACHE_REPLICA_COOLDOWN
seconds (a breaker, as for Redis): every computation runs on the primary meanwhile, and no
request fails or waits for it. A computation inside a transaction on the primary runs
there (it may depend on what the transaction wrote). `tenant_cache.signals.replica_read`
reports each decision (outcome: replica, waited, primary_lag, primary_down,
primary_transaction); the readiness probe asks `replica_status()`.

Read-only work outside the cache (a list endpoint) uses `on_replica(read, max_lag=...)`: the
standby serves them when it has replayed everything the acting user wrote (their latest
write's position, recorded with their read-your-writes generations) and is at most
`max_lag` seconds behind the primary (or caught up with it); otherwise the primary does.

The router (ReplicaRouter, first in DATABASE_ROUTERS) sends reads to the standby only
inside these blocks (`reading_connection()` gives raw SQL the same connection); writes
always go to the primary, and nothing migrates the standby.
django-tenants' schema routing applies on the standby too: each block gives the standby's
connection the primary connection's tenant (its search_path) before the first query.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from tenant_cache import signals
from tenant_cache.backend import _on_reset
from tenant_cache.conf import setting

logger = logging.getLogger("tenant_cache")

T = TypeVar("T")

REPLICA, WAITED = "replica", "waited"
PRIMARY_LAG, PRIMARY_DOWN = "primary_lag", "primary_down"
PRIMARY_TRANSACTION = "primary_transaction"
POLL_SECONDS = 0.005  # between two looks at the standby's replay position while waiting

_active: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "tenant_cache_replica_alias", default=None
)


def replica_alias() -> str | None:
    """The configured standby's database alias, or None (everything on the primary)."""
    alias = setting("CACHE_REPLICA_ALIAS")
    return str(alias) if alias and alias in connections.settings else None


class ReplicaRouter:
    """Reads inside a replica block go to the standby; every write to the primary."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        alias = _active.get()
        if alias is not None:
            return alias
        instance = hints.get("instance")
        if instance is not None and instance._state.db == replica_alias():
            return DEFAULT_DB_ALIAS  # a row read on the standby, followed outside a block
        return None

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS  # never the standby, even for a row loaded from it

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        both = {obj1._state.db, obj2._state.db}
        return True if both <= {DEFAULT_DB_ALIAS, replica_alias()} else None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db == replica_alias() else None


# --- The standby's breaker -------------------------------------------------------------------


class ReplicaBreaker:
    """Closed: the standby is used. Open (after an error, or after `lag_failures` waits in a
    row that timed out): skipped, for `cooldown` seconds; then the next caller tries it."""

    def __init__(self) -> None:
        self.open_until = 0.0
        self.lagged_in_a_row = 0
        self.last_error = ""
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self.open_until

    def allow(self) -> bool:
        return not self.is_open

    def succeeded(self) -> None:
        self.lagged_in_a_row = 0
        if self.open_until:
            with self._lock:
                was_open, self.open_until = bool(self.open_until), 0.0
            if was_open:
                logger.warning("Replica usable again", extra={"replica": "closed"})
                signals.replica_changed.send(sender=None, is_open=False)

    def failed(self, reason: str) -> None:
        self._open(reason)

    def lagged(self) -> None:
        with self._lock:
            self.lagged_in_a_row += 1
            too_far = self.lagged_in_a_row >= int(setting("CACHE_REPLICA_LAG_FAILURES"))
        if too_far:
            self._open(f"behind the primary {self.lagged_in_a_row} times in a row")

    def _open(self, reason: str) -> None:
        cooldown = float(setting("CACHE_REPLICA_COOLDOWN"))
        with self._lock:
            newly = not self.is_open
            self.open_until = time.monotonic() + cooldown
            self.last_error = reason[:300]
            self.lagged_in_a_row = 0
        if newly:
            logger.warning(
                "Replica skipped for %.1fs (%s): computing on the primary",
                cooldown,
                reason,
                extra={"replica": "open"},
            )
            signals.replica_changed.send(sender=None, is_open=True)


breaker = ReplicaBreaker()


def reset() -> None:
    """Close the breaker (tests; a reconfigured standby)."""
    global breaker
    breaker = ReplicaBreaker()


_on_reset.append(reset)  # with the cache's backend (reset_backend, a CACHE_* setting changed)


# --- WAL positions -----------------------------------------------------------------------------


def primary_lsn() -> int:
    """The primary's current WAL write position, in bytes (raises DatabaseError)."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
        row = cursor.fetchone()
    return int(row[0])


def invalidation_lsn() -> int | None:
    """What an invalidation records with its generations: the primary's position now (after
    the write's commit), or None when no standby is configured (nothing to record) or the
    primary cannot say (the recomputation then asks the primary for its position itself)."""
    if replica_alias() is None:
        return None
    try:
        return primary_lsn()
    except DatabaseError:
        logger.warning("Could not read the primary's WAL position", exc_info=True)
        return None


def _replay_state(alias: str) -> tuple[int | None, float | None]:
    """(the standby's replay position in bytes, seconds since the last commit it replayed);
    positions are None on a server that is not in recovery (then it is the primary)."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn, "
            "extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())"
        )
        row = cursor.fetchone()
    lsn = None if row[0] is None else int(row[0])
    age = None if row[1] is None else float(row[1])
    return lsn, age


def _wait_for(alias: str, required: int, max_wait: float) -> tuple[bool, bool]:
    """Wait (bounded) until the standby has replayed `required`: (reached, had to wait)."""
    deadline = time.monotonic() + max_wait
    waited = False
    while True:
        replayed, _age = _replay_state(alias)
        if replayed is None or replayed >= required:
            return True, waited
        if time.monotonic() >= deadline:
            return False, waited
        waited = True
        time.sleep(POLL_SECONDS)


def _cut(alias_connection: Any, fired: threading.Event) -> None:
    """Shut the socket of a connection whose queries overran: the query waiting on it in
    another thread then fails at once (OperationalError) instead of waiting for a server
    that may never answer. Shutting a duplicate of the descriptor shuts the socket itself."""
    conn = alias_connection.connection
    if conn is None:
        return
    with contextlib.suppress(Exception):  # closed meanwhile: nothing to cut
        dup = socket.socket(fileno=os.dup(conn.pgconn.socket))
        try:
            dup.shutdown(socket.SHUT_RDWR)
            fired.set()
        finally:
            dup.close()


@contextmanager
def _deadline(alias: str) -> Iterator[None]:
    """Bound the standby's queries in this block by CACHE_REPLICA_TIMEOUT (see _cut)."""
    fired = threading.Event()
    timer = threading.Timer(
        float(setting("CACHE_REPLICA_TIMEOUT")), _cut, (connections[alias], fired)
    )
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        if fired.is_set():  # the block may have finished just as it fired: never reuse it
            with contextlib.suppress(Exception):
                connections[alias].close()


@contextmanager
def _on(alias: str) -> Iterator[None]:
    """Route this block's reads to `alias`, whose connection gets the primary's tenant."""
    primary, standby = connections[DEFAULT_DB_ALIAS], connections[alias]
    tenant = getattr(primary, "tenant", None)
    if tenant is not None and hasattr(standby, "set_tenant"):
        standby.set_tenant(tenant, getattr(primary, "include_public_schema", True))
    token = _active.set(alias)
    try:
        yield
    finally:
        _active.reset(token)


def reading_connection() -> Any:
    """The connection raw SQL of a read should use: the standby's inside a replica block
    (with the tenant's search_path), else the primary's."""
    return connections[_active.get() or DEFAULT_DB_ALIAS]


def _report(outcome: str, tenant: str, entry_id: str, **extra: Any) -> None:
    signals.replica_read.send(sender=None, outcome=outcome, entry_id=entry_id)
    level = logging.DEBUG if outcome in (REPLICA, PRIMARY_TRANSACTION) else logging.INFO
    logger.log(
        level,
        "Cache recomputation of %s %s: %s",
        tenant,
        entry_id,
        outcome,
        extra={"tenant": tenant, "entry": entry_id, "replica_outcome": outcome, **extra},
    )


def _standby_failed(alias: str, error: BaseException) -> None:
    breaker.failed(f"{type(error).__name__}: {error}")
    with contextlib.suppress(DatabaseError):
        connections[alias].close()  # a broken session must not be reused


def compute(fetch: Callable[[], T], recorded_lsn: int | None, tenant: str, entry_id: str) -> T:
    """Run a recomputation's `fetch` on the standby if it has replayed `recorded_lsn` (the
    highest position recorded by the invalidations it follows; None: unknown, so the
    primary's current one), waiting up to CACHE_REPLICA_MAX_WAIT; else on the primary."""
    alias = replica_alias()
    if alias is None:
        return fetch()
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        _report(PRIMARY_TRANSACTION, tenant, entry_id)
        return fetch()
    if not breaker.allow():
        _report(PRIMARY_DOWN, tenant, entry_id, reason=breaker.last_error)
        return fetch()
    try:
        required = recorded_lsn if recorded_lsn is not None else primary_lsn()
        with _deadline(alias):
            reached, waited = _wait_for(alias, required, float(setting("CACHE_REPLICA_MAX_WAIT")))
    except DatabaseError as error:
        _standby_failed(alias, error)
        _report(PRIMARY_DOWN, tenant, entry_id, reason=str(error)[:200])
        return fetch()
    if not reached:
        breaker.lagged()
        _report(PRIMARY_LAG, tenant, entry_id, required_lsn=required)
        return fetch()
    try:
        with _deadline(alias), _on(alias):
            value = fetch()
    except DatabaseError as error:  # killed or hung meanwhile, a query cancelled by recovery
        _standby_failed(alias, error)
        _report(PRIMARY_DOWN, tenant, entry_id, reason=str(error)[:200])
        return fetch()
    breaker.succeeded()
    _report(WAITED if waited else REPLICA, tenant, entry_id, required_lsn=required)
    return value


def _fresh_enough(alias: str, max_lag: float, actor_lsn: Callable[[], int | None] | None) -> bool:
    own = actor_lsn() if actor_lsn is not None else None
    replayed, age = _replay_state(alias)
    if replayed is None:
        return True  # not in recovery: the "standby" is a primary
    if own is not None and replayed < own:
        return False
    return (age is not None and age < max_lag) or replayed >= primary_lsn()


def on_replica(
    read: Callable[[], T],
    *,
    max_lag: float | None = None,
    actor_lsn: Callable[[], int | None] | None = None,
) -> T:
    """Run a read-only `read` on the standby when it is fresh enough, else on the primary:
    the standby must have replayed the acting user's latest write (`actor_lsn()`, by
    default the position their latest invalidation recorded; None: no recent write) and
    either the primary's current position or a commit younger than `max_lag` seconds (by
    default CACHE_MAX_STALE, the staleness others accept from the cache; 0: caught up
    exactly). A standby that fails meanwhile costs a rerun on the primary, never an
    error. Writes inside still go to the primary, but reads after them in `read` would not
    see them: read-only work only."""
    if max_lag is None:
        max_lag = float(setting("CACHE_MAX_STALE"))
    if actor_lsn is None:
        from tenant_cache.reads import own_write_lsn

        actor_lsn = own_write_lsn
    alias = replica_alias()
    if alias is None or not breaker.allow() or connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return read()
    try:
        with _deadline(alias):
            fresh = _fresh_enough(alias, max_lag, actor_lsn)
    except DatabaseError as error:
        _standby_failed(alias, error)
        return read()
    if not fresh:
        signals.replica_read.send(sender=None, outcome=PRIMARY_LAG, entry_id="")
        return read()
    try:
        with _deadline(alias), _on(alias):
            value = read()
    except DatabaseError as error:
        _standby_failed(alias, error)
        signals.replica_read.send(sender=None, outcome=PRIMARY_DOWN, entry_id="")
        return read()
    breaker.succeeded()
    signals.replica_read.send(sender=None, outcome=REPLICA, entry_id="")
    return value


def replica_status() -> dict[str, Any] | None:
    """For a readiness probe: None without a standby; else whether it answers, whether it
    is in recovery, seconds since its last replayed commit, and the breaker's state."""
    alias = replica_alias()
    if alias is None:
        return None
    status: dict[str, Any] = {"breaker": "open" if breaker.is_open else "closed"}
    try:
        with _deadline(alias):
            replayed, age = _replay_state(alias)
    except DatabaseError as error:
        _standby_failed(alias, error)
        return {**status, "available": False, "breaker": "open", "error": str(error)[:300]}
    status.update(available=True, in_recovery=replayed is not None, replay_age_s=age)
    return status
