"""Shared pytest fixtures (registered by tests/conftest.py as a plugin)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django_redis import get_redis_connection

from tenant_cache import reset_backend
from tests.support.redis_server import PrivateRedis


@pytest.fixture
def clean_cache() -> Iterator[None]:
    """An empty Redis test database and a fresh cache backend (closed breaker, nothing
    pending), before and after the test. The cache, dashboard, pages and ops suites use it
    for every test (their conftests make it autouse)."""
    reset_backend()
    get_redis_connection("default").flushdb()
    yield
    reset_backend()
    get_redis_connection("default").flushdb()  # no leftover keys for a tenant made later


def point_cache_at(settings: Any, url: str) -> None:
    """Point the default cache (and so tenant_cache) at another Redis for one test."""
    caches = {alias: dict(config) for alias, config in django_settings.CACHES.items()}
    caches["default"]["LOCATION"] = url
    settings.CACHES = caches


@pytest.fixture
def private_redis(settings: Any, tmp_path: Path) -> Iterator[PrivateRedis]:
    """A private redis-server the cache points at, with a short breaker cool-down."""
    server = PrivateRedis(tmp_path)
    server.start()
    settings.CACHE_BREAKER_COOLDOWN = 0.3
    point_cache_at(settings, server.url)
    yield server
    server.stop()


@pytest.fixture
def revocation_listener() -> Iterator[None]:
    """This process's revocation listener, connected (the suite runs without one: a
    listener connecting in the middle of a test would drop the caches it measures)."""
    from firelater import revocation

    revocation.start_listener()
    assert revocation.wait_until_listening(10), "the revocation listener did not connect"
    yield
    revocation.stop_listener()
