"""Dashboard test fixtures: a clean cache, and data built with the apps' factories."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _clean_cache(clean_cache: None) -> None:
    """The database rolls back after each test; the cache must start empty as well."""


@pytest.fixture
def dashboard_url():  # type: ignore[no-untyped-def]
    def url(path: str = "") -> str:
        return f"/api/v1/dashboard/{path}"

    return url
