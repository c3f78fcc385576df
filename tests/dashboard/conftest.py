"""Dashboard test fixtures: a clean cache, and data built with the apps' factories."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django_redis import get_redis_connection

from tenant_cache import reset_backend


@pytest.fixture(autouse=True)
def clean_cache() -> Iterator[None]:
    """The database rolls back after each test; the cache must start empty as well."""
    reset_backend()
    get_redis_connection("default").flushdb()
    yield
    reset_backend()


@pytest.fixture
def dashboard_url():  # type: ignore[no-untyped-def]
    def url(path: str = "") -> str:
        return f"/api/v1/dashboard/{path}"

    return url
