"""A server started after a Redis outage: it must replay what the workers that died during
the outage could not invalidate before it serves their stale entries."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests
from django.contrib.auth import get_user_model
from django.db import connection
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token

from dashboard.entries import OVERVIEW
from tenant_cache import get_or_set
from tenant_cache.models import DeferredCacheInvalidation
from tenants.models import Tenant
from tests.support.live import serve_project

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def on_own_connection(work: Callable[[], Any]) -> Any:
    """Run `work` committed, on a connection of its own (outside the test's transaction),
    as the server's processes would see it."""
    result: list[Any] = []

    def run() -> None:
        try:
            result.append(work())
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    assert result, "the work failed (see the thread's traceback above)"
    return result[0]


def _acme_token(*, delete: bool = False) -> str:
    with tenant_context(Tenant.objects.get(slug="acme")):
        admin = get_user_model().objects.get(username="admin")
        if delete:
            Token.objects.filter(user=admin).delete()
            return ""
        token, _ = Token.objects.get_or_create(user=admin)
        return str(token.key)


def test_a_newly_started_server_does_not_serve_an_entry_a_dead_worker_failed_to_drop(
    acme, private_redis
):
    connection.set_tenant(acme)
    cache = OVERVIEW.cache
    stale = {"issues": {"total": 999_999}}
    get_or_set(cache, cache.default_params, lambda: stale)  # cached before the outage...
    # ...then a write committed and its invalidation failed: the worker that recorded it
    # died before Redis came back, leaving only its row in the shared table.
    on_own_connection(
        lambda: DeferredCacheInvalidation.objects.create(tenant="acme", entry_ids=[cache.id]).pk
    )
    token = on_own_connection(_acme_token)
    try:
        with serve_project(private_redis.url) as base:
            response = requests.get(
                f"{base}/api/v1/dashboard/overview/",
                headers={"Host": "acme.localhost", "Authorization": f"Token {token}"},
                timeout=10,
            )
        assert response.status_code == 200, response.text
        assert response.headers["X-Cache"] == "MISS"
        assert response.json()["issues"]["total"] != stale["issues"]["total"]
        assert not on_own_connection(lambda: DeferredCacheInvalidation.objects.exists())
    finally:
        on_own_connection(lambda: DeferredCacheInvalidation.objects.all().delete())
        on_own_connection(lambda: _acme_token(delete=True))
