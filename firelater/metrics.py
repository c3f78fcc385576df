"""Prometheus metrics: request latency by view, cache results, invalidations, breaker state.

Served at /metrics (see firelater.health.OperationsMiddleware for who may read it). With
several gunicorn workers set PROMETHEUS_MULTIPROC_DIR so every worker's figures are summed.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUEST_LATENCY = Histogram(
    "firelater_request_duration_seconds",
    "Time to answer a request, by view and status class.",
    ["view", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
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


def render_latest() -> tuple[bytes, str]:
    """The exposition text (all workers' figures in multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
