"""Prometheus metrics: request latency by view, cache results, invalidations, breaker state.

Served at /metrics (see firelater.health.OperationsMiddleware for who may read it). With
several gunicorn workers set PROMETHEUS_MULTIPROC_DIR so every worker's figures are summed.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

import tenant_cache

REQUEST_LATENCY = Histogram(
    "firelater_request_duration_seconds",
    "Time to answer a request, by view and status class.",
    ["view", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
# The request metric's method label: a client can send any token as the method, and every
# new label value is a series kept (and exported) for the life of the worker (issue #18.4).
STANDARD_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)


def observe_request(*, view: str, method: str | None, status: int, duration: float) -> None:
    """Count one answered request, with bounded labels only: `view` is the matched URL
    pattern's view name (or "unrouted"), never the path; a method outside the standard set
    is OTHER; the status is its class (2xx, 4xx, ...)."""
    REQUEST_LATENCY.labels(
        view=view,
        method=method if method in STANDARD_METHODS else "OTHER",
        status=f"{status // 100}xx",
    ).observe(duration)


CACHE_RESULTS = Counter(
    "firelater_cache_results_total", "Cache reads by entry and result.", ["entry", "result"]
)
CACHE_INVALIDATIONS = Counter(
    "firelater_cache_invalidations_total", "Entries invalidated, by entry.", ["entry"]
)
CACHE_DEFERRED_INVALIDATIONS = Counter(
    "firelater_cache_deferred_invalidations_total",
    "Invalidations deferred because Redis was unavailable.",
)
REDIS_ERRORS = Counter("firelater_redis_errors_total", "Redis calls that failed.", ["error"])
BREAKER_OPEN = Gauge(
    "firelater_cache_breaker_open",
    "1 while the cache's circuit breaker skips Redis in this process.",
    multiprocess_mode="max",
)


REPLICA_READS = Counter(
    "firelater_replica_reads_total",
    "Recomputations and list reads with a standby configured, by where they ran "
    "(replica, waited, primary_lag, primary_down, primary_transaction).",
    ["outcome"],
)
REPLICA_OPEN = Gauge(
    "firelater_replica_breaker_open",
    "1 while this process skips the PostgreSQL standby (down or too far behind).",
    multiprocess_mode="max",
)


def render_latest() -> tuple[bytes, str]:
    """The exposition text (all workers' figures in multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


# --- The cache's figures, from its signals (tenant_cache knows nothing of Prometheus) -----

_result_counters: dict[tuple[str, str], Any] = {}


def _on_cache_read(*, entry_id: str, result: str, **kwargs: Any) -> None:
    counter = _result_counters.get((entry_id, result))
    if counter is None:  # labels() costs a lock and a lookup: keep the child
        counter = CACHE_RESULTS.labels(entry=entry_id, result=result)
        _result_counters[(entry_id, result)] = counter
    counter.inc()


def _on_invalidated(*, entry_ids: list[str] | None, **kwargs: Any) -> None:
    for entry_id in entry_ids or ["all"]:
        CACHE_INVALIDATIONS.labels(entry=entry_id).inc()


def _on_deferred(**kwargs: Any) -> None:
    CACHE_DEFERRED_INVALIDATIONS.inc()


def _on_redis_failed(*, error: BaseException, **kwargs: Any) -> None:
    REDIS_ERRORS.labels(error=type(error).__name__).inc()


def _on_breaker_changed(*, is_open: bool, **kwargs: Any) -> None:
    BREAKER_OPEN.set(1 if is_open else 0)


def _on_replica_read(*, outcome: str, **kwargs: Any) -> None:
    REPLICA_READS.labels(outcome=outcome).inc()


def _on_replica_changed(*, is_open: bool, **kwargs: Any) -> None:
    REPLICA_OPEN.set(1 if is_open else 0)


tenant_cache.signals.cache_read.connect(_on_cache_read, dispatch_uid="metrics-cache-read")
tenant_cache.signals.cache_invalidated.connect(_on_invalidated, dispatch_uid="metrics-inval")
tenant_cache.signals.invalidation_deferred.connect(_on_deferred, dispatch_uid="metrics-deferred")
tenant_cache.signals.redis_failed.connect(_on_redis_failed, dispatch_uid="metrics-redis-error")
tenant_cache.signals.breaker_changed.connect(_on_breaker_changed, dispatch_uid="metrics-breaker")
tenant_cache.signals.replica_read.connect(_on_replica_read, dispatch_uid="metrics-replica-read")
tenant_cache.signals.replica_changed.connect(_on_replica_changed, dispatch_uid="metrics-replica")
