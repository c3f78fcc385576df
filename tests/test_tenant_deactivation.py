"""Deactivating a tenant purges its cache keys and its pending deferred invalidations, on
commit, whichever way it is deactivated (admin action, save, QuerySet.update,
bulk_update); its hosts answer 404; other tenants keep their cache."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django_redis import get_redis_connection
from rest_framework.test import APIClient

from tenant_cache.invalidation import pending_purges
from tenant_cache.models import DeferredCacheInvalidation
from tenants.models import Tenant

SLUG, HOST, PASSWORD = "paused", "paused.localhost", "paused-pass-123"
OVERVIEW = "/api/v1/dashboard/overview/"


@pytest.fixture(autouse=True)
def _clean_cache(clean_cache: None) -> None:
    """Redis is not rolled back with the database: each test starts with an empty one."""


@pytest.fixture
def paused(db, forget_token_throttling) -> APIClient:  # type: ignore[no-untyped-def]
    """A tenant in use: a token, and a cached overview (keys in Redis)."""
    call_command(
        "add_tenant",
        slug=SLUG,
        name="Paused",
        domain=HOST,
        admin_user="boss",
        admin_password=PASSWORD,
        stdout=StringIO(),
    )
    client = APIClient(HTTP_HOST=HOST)
    response = client.post("/api/v1/auth/token/", {"username": "boss", "password": PASSWORD})
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get(OVERVIEW)["X-Cache"] == "MISS"
    assert client.get(OVERVIEW)["X-Cache"] == "HIT"
    return client


@pytest.fixture
def globex_cached(globex_api) -> APIClient:  # type: ignore[no-untyped-def]
    assert globex_api.get(OVERVIEW)["X-Cache"] == "MISS"
    return globex_api


def keys_of(slug: str, client: Any = None) -> set[str]:
    client = client or get_redis_connection("default")
    return {key.decode() for key in client.scan_iter(f"cache:{{{slug}}}:*")}


def platform_admin() -> Client:
    connection.set_schema_to_public()  # a platform account: the public schema's
    user = get_user_model().objects.create_superuser("platform", "p@example.com", "pw-123456")
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def _by_admin_action() -> None:
    tenant = Tenant.objects.get(slug=SLUG)
    response = platform_admin().post(
        "/admin/tenants/tenant/", {"action": "deactivate", "_selected_action": [tenant.pk]}
    )
    assert response.status_code == 302, response.content[:500]
    assert not Tenant.objects.get(slug=SLUG).is_active, response


def _by_save() -> None:
    connection.set_schema_to_public()  # (a tenant may be saved from public or its own schema)
    tenant = Tenant.objects.get(slug=SLUG)
    tenant.is_active = False
    tenant.save()


def _by_queryset_update() -> None:
    assert Tenant.objects.filter(slug=SLUG).update(is_active=False) == 1


def _by_bulk_update() -> None:
    connection.set_schema_to_public()
    tenant = Tenant.objects.get(slug=SLUG)
    tenant.is_active = False
    assert Tenant.objects.bulk_update([tenant], ["is_active"]) == 1


DEACTIVATIONS: list[Callable[[], None]] = [
    _by_admin_action,
    _by_save,
    _by_queryset_update,
    _by_bulk_update,
]


@pytest.mark.parametrize("deactivate", DEACTIVATIONS, ids=lambda f: f.__name__.strip("_"))
def test_deactivating_a_tenant_purges_its_keys_and_deferred_invalidations_only(
    paused, globex_cached, deactivate, django_capture_on_commit_callbacks
):
    DeferredCacheInvalidation.objects.create(tenant=SLUG, entry_ids=["dashboard:overview"])
    DeferredCacheInvalidation.objects.create(tenant="globex", entry_ids=["dashboard:overview"])
    assert keys_of(SLUG)

    with django_capture_on_commit_callbacks(execute=True):
        deactivate()

    assert keys_of(SLUG) == {f"cache:{{{SLUG}}}:_meta:purged"}  # closed for a while
    assert list(DeferredCacheInvalidation.objects.values_list("tenant", flat=True)) == ["globex"]
    assert paused.get(OVERVIEW).status_code == 404
    assert keys_of("globex")
    assert globex_cached.get(OVERVIEW)["X-Cache"] == "HIT"


def test_a_rolled_back_deactivation_purges_nothing(paused, django_capture_on_commit_callbacks):
    cached = keys_of(SLUG)

    with (
        django_capture_on_commit_callbacks(execute=True),
        contextlib.suppress(RuntimeError),
        transaction.atomic(),
    ):
        _by_save()
        raise RuntimeError("rolled back")

    assert Tenant.objects.get(slug=SLUG).is_active
    assert keys_of(SLUG) == cached
    assert paused.get(OVERVIEW)["X-Cache"] == "HIT"


def test_saving_an_inactive_tenant_again_purges_nothing_more(
    paused, django_capture_on_commit_callbacks, caplog
):
    with django_capture_on_commit_callbacks(execute=True):
        _by_save()
    tenant = Tenant.objects.get(slug=SLUG)
    caplog.set_level(logging.INFO, logger="tenant_cache")
    caplog.clear()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        tenant.name = "Paused (renamed)"
        tenant.save()
        Tenant.objects.filter(slug=SLUG).update(is_active=False)

    assert callbacks == []
    assert "Cache purged" not in caplog.text


def test_a_reactivated_tenant_is_served_again_and_caches_again_once_its_key_space_reopens(
    paused, settings, django_capture_on_commit_callbacks
):
    settings.CACHE_PURGED_TENANT_TTL = 1.0
    with django_capture_on_commit_callbacks(execute=True):
        _by_save()

    with django_capture_on_commit_callbacks(execute=True):
        Tenant.objects.filter(slug=SLUG).update(is_active=True)
    served = paused.get(OVERVIEW)
    time.sleep(1.1)  # the key space closed by the purge reopens by itself
    paused.get(OVERVIEW)

    assert (served.status_code, served["X-Cache"]) == (200, "BYPASS")
    assert paused.get(OVERVIEW)["X-Cache"] == "HIT"


def test_a_deactivation_purge_redis_could_not_run_is_replayed_when_it_answers(
    paused, globex_api, private_redis, django_capture_on_commit_callbacks
):
    assert paused.get(OVERVIEW)["X-Cache"] == "MISS"  # now cached in the private Redis
    assert keys_of(SLUG, private_redis.client())
    private_redis.hang()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            _by_save()
        assert pending_purges() == {SLUG}
    finally:
        private_redis.resume()

    deadline = time.monotonic() + 10
    while pending_purges() and time.monotonic() < deadline:  # the retry thread, or a hit
        globex_api.get(OVERVIEW)
        time.sleep(0.1)

    assert pending_purges() == set()
    assert keys_of(SLUG, private_redis.client()) == {f"cache:{{{SLUG}}}:_meta:purged"}
