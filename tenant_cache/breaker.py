"""A per-process circuit breaker in front of Redis.

Closed: calls go to Redis. After a failure it opens: for `cooldown` seconds every call is
skipped at the cost of one comparison, so a dead or hung Redis costs microseconds per
request instead of a timeout each. Then one caller probes; success closes it, failure
re-opens it. The warning is logged once per opening, not per request.
"""

from __future__ import annotations

import logging
import threading
import time
from enum import StrEnum

from tenant_cache import signals

logger = logging.getLogger("tenant_cache")


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(self, cooldown: float) -> None:
        self.cooldown = cooldown
        self.state = BreakerState.CLOSED
        self.opened_at = 0.0
        self.open_until = 0.0
        self.openings = 0
        self._lock = threading.Lock()

    def allow(self) -> str | None:
        """'call' (closed), 'probe' (this caller tests Redis), or None (skip Redis)."""
        if self.state is BreakerState.CLOSED:
            return "call"
        with self._lock:
            if self.state is BreakerState.OPEN and time.monotonic() >= self.open_until:
                self.state = BreakerState.HALF_OPEN
                return "probe"
            return None

    def record_success(self) -> bool:
        """Close the breaker; True if it was not closed (the caller just recovered it)."""
        if self.state is BreakerState.CLOSED:
            return False
        with self._lock:
            previous: BreakerState = self.state  # may have changed since the check above
            was_open = previous is not BreakerState.CLOSED
            self.state = BreakerState.CLOSED
        if was_open:
            signals.breaker_changed.send(sender=None, is_open=False)
            logger.warning(
                "Redis reachable again; cache resumes after %.1fs",
                time.monotonic() - self.opened_at,
                extra={"breaker": "closed"},
            )
        return was_open

    def record_failure(self, error: BaseException) -> None:
        signals.redis_failed.send(sender=None, error=error)
        with self._lock:
            newly_open = self.state is BreakerState.CLOSED
            self.state = BreakerState.OPEN
            self.open_until = time.monotonic() + self.cooldown
            if newly_open:
                self.opened_at = time.monotonic()
                self.openings += 1
        if newly_open:
            signals.breaker_changed.send(sender=None, is_open=True)
            logger.warning(
                "Redis unavailable (%s: %s); serving from PostgreSQL for %.1fs before retrying",
                type(error).__name__,
                error,
                self.cooldown,
                extra={"breaker": "open"},
            )
