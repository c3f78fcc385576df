"""Cache test fixtures: a clean Redis database per test, probe entries, a tenant context."""

from __future__ import annotations

import pytest
from django.db import connection

from tenant_cache import CacheEntry


@pytest.fixture(autouse=True)
def _clean_cache(clean_cache: None) -> None:
    """Each cache test starts with an empty Redis test database and a closed breaker."""


@pytest.fixture
def entry() -> CacheEntry:
    return CacheEntry("dashboard", "probe", frozenset({"issues"}))


@pytest.fixture
def other_entry() -> CacheEntry:
    return CacheEntry("dashboard", "other", frozenset({"changes"}))


@pytest.fixture
def acme_context(acme):  # type: ignore[no-untyped-def]
    """acme as the current tenant, without touching the database."""
    connection.set_tenant(acme)
    yield acme
    connection.set_schema_to_public()
