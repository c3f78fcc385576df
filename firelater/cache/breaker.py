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

from firelater import metrics

logger = logging.getLogger("firelater.cache")


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
            metrics.BREAKER_OPEN.set(0)
            logger.warning(
                "Redis reachable again; cache resumes after %.1fs",
                time.monotonic() - self.opened_at,
                extra={"breaker": "closed"},
            )
        return was_open

    def record_failure(self, error: BaseException) -> None:
        metrics.REDIS_ERRORS.labels(error=type(error).__name__).inc()
        with self._lock:
            newly_open = self.state is BreakerState.CLOSED
            self.state = BreakerState.OPEN
            self.open_until = time.monotonic() + self.cooldown
            if newly_open:
                self.opened_at = time.monotonic()
                self.openings += 1
        if newly_open:
            metrics.BREAKER_OPEN.set(1)
            logger.warning(
                "Redis unavailable (%s: %s); serving from PostgreSQL for %.1fs before retrying",
                type(error).__name__,
                error,
                self.cooldown,
                extra={"breaker": "open"},
            )

    def reset(self) -> None:
        metrics.BREAKER_OPEN.set(0)
        with self._lock:
            self.state = BreakerState.CLOSED
            self.open_until = 0.0
