"""Deleting a tenant leaves nothing a new tenant of the same slug could inherit: not its
schema (users, passwords, tokens, data), not its cache keys, not this process's host and
token caches. A slug whose schema or keys still exist is refused with a clear message."""

from __future__ import annotations

import time
from collections.abc import Callable
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django_redis import get_redis_connection
from rest_framework.test import APIClient

from tenant_cache.models import DeferredCacheInvalidation
from tenants.models import Tenant
from tenants.schemas import ARCHIVE_MARK, archive_name
from tests.support.fixtures import point_cache_at
from tests.support.redis_server import PrivateRedis

SLUG, HOST = "reborn", "reborn.localhost"
OLD_PASSWORD, NEW_PASSWORD = "old-customer-pass-1", "new-customer-pass-2"
SECRET = "The old customer's confidential outage"


@pytest.fixture(autouse=True)
def _clean_cache(clean_cache: None) -> None:
    """Redis is not rolled back with the database: each test starts with an empty one."""


@pytest.fixture
def platform_browser(db) -> Client:  # type: ignore[no-untyped-def]
    get_user_model().objects.create_superuser("platform", "p@example.com", "platform-pass-1")
    client = Client(HTTP_HOST="localhost")
    assert client.login(username="platform", password="platform-pass-1")
    return client


def add_tenant(slug: str = SLUG, password: str = OLD_PASSWORD) -> str:
    out = StringIO()
    call_command(
        "add_tenant",
        slug=slug,
        name=slug.title(),
        domain=f"{slug}.localhost",
        admin_user="boss",
        admin_password=password,
        stdout=out,
    )
    return out.getvalue()


def admin_form(slug: str = SLUG, password: str = OLD_PASSWORD) -> dict[str, str]:
    return {
        "slug": slug,
        "name": slug.title(),
        "is_active": "on",
        "admin_username": "boss",
        "admin_password": password,
        "domains-TOTAL_FORMS": "1",
        "domains-INITIAL_FORMS": "0",
        "domains-MIN_NUM_FORMS": "0",
        "domains-MAX_NUM_FORMS": "1000",
        "domains-0-domain": f"{slug}.localhost",
        "domains-0-is_primary": "on",
    }


def token(password: str) -> APIClient | None:
    """A client with boss's token on reborn.localhost, or None if the password is refused."""
    client = APIClient(HTTP_HOST=HOST)
    response = client.post("/api/v1/auth/token/", {"username": "boss", "password": password})
    if response.status_code != 200:
        return None
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


def use_the_tenant() -> APIClient:
    """The old customer: a token, an issue, and a cached activity feed that shows it."""
    client = token(OLD_PASSWORD)
    assert client is not None
    assert client.post("/api/v1/issues/", {"title": SECRET}, format="json").status_code == 201
    assert client.get("/api/v1/dashboard/activity/")["X-Cache"] == "MISS"
    feed = client.get("/api/v1/dashboard/activity/")
    assert (feed["X-Cache"], feed.json()[0]["title"]) == ("HIT", SECRET)
    return client


def schemas_of(slug: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = %s OR nspname LIKE %s",
            [slug, f"{slug}{ARCHIVE_MARK}%"],
        )
        return {row[0] for row in cursor.fetchall()}


def redis_keys(slug: str, client=None) -> set[str]:  # type: ignore[no-untyped-def]
    """The tenant's cache keys, and Django's cache keys of its schema (throttling)."""
    client = client or get_redis_connection("default")
    patterns = (f"cache:{{{slug}}}:*", f"{slug}:*")
    return {k.decode() for pattern in patterns for k in client.scan_iter(pattern)}


def assert_nothing_left(slug: str = SLUG, client=None) -> None:  # type: ignore[no-untyped-def]
    schemas = schemas_of(slug)
    assert slug not in schemas
    assert len(schemas) == 1  # archived: the customer's data can be restored
    assert redis_keys(slug, client) <= {f"cache:{{{slug}}}:_meta:purged"}
    assert APIClient(HTTP_HOST=f"{slug}.localhost").get("/api/v1/issues/").status_code == 404


def pretend_deleted_long_ago(slug: str = SLUG) -> None:
    """Other processes' host and token caches have expired: date the archive a day back."""
    (archived,) = schemas_of(slug) - {slug}
    earlier = archive_name(slug, int(time.time()) - 86_400)
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER SCHEMA "{archived}" RENAME TO "{earlier}"')


def assert_inherits_nothing(old_client: APIClient) -> None:
    assert old_client.get("/api/v1/issues/").status_code == 401  # the old token
    assert token(OLD_PASSWORD) is None  # the old password
    new_client = token(NEW_PASSWORD)
    assert new_client is not None
    assert new_client.get("/api/v1/issues/").json()["count"] == 0  # the old data
    feed = new_client.get("/api/v1/dashboard/activity/")
    assert feed["X-Cache"] == "MISS"  # the old cached entries
    assert SECRET.encode() not in feed.content
    stats = new_client.get("/api/admin/cache/stats").json()
    assert (stats["hits"], stats["misses"], stats["topKeys"]) == (0, 1, [])  # the old stats
    assert new_client.get("/api/v1/dashboard/activity/")["X-Cache"] == "HIT"  # caches again


def test_a_tenant_deleted_and_recreated_in_the_platform_admin_inherits_nothing(
    platform_browser, django_capture_on_commit_callbacks
):
    assert platform_browser.post("/admin/tenants/tenant/add/", admin_form()).status_code == 302
    old_client = use_the_tenant()
    tenant = Tenant.objects.get(slug=SLUG)

    with django_capture_on_commit_callbacks(execute=True):
        response = platform_browser.post(
            f"/admin/tenants/tenant/{tenant.pk}/delete/", {"post": "yes"}
        )

    assert response.status_code == 302
    assert_nothing_left()
    pretend_deleted_long_ago()
    form = admin_form(password=NEW_PASSWORD)
    assert platform_browser.post("/admin/tenants/tenant/add/", form).status_code == 302
    assert_inherits_nothing(old_client)


def test_a_tenant_deleted_by_queryset_and_recreated_by_add_tenant_inherits_nothing(
    db, forget_token_throttling, django_capture_on_commit_callbacks
):
    add_tenant()
    old_client = use_the_tenant()

    with django_capture_on_commit_callbacks(execute=True):
        Tenant.objects.filter(slug=SLUG).delete()

    assert_nothing_left()
    pretend_deleted_long_ago()
    assert "Created tenant reborn" in add_tenant(password=NEW_PASSWORD)
    assert_inherits_nothing(old_client)


def test_the_platform_admins_bulk_delete_archives_and_purges_each_tenant(
    platform_browser, django_capture_on_commit_callbacks
):
    for slug in (SLUG, "other"):
        assert platform_browser.post("/admin/tenants/tenant/add/", admin_form(slug)).status_code
    use_the_tenant()
    chosen = list(Tenant.objects.filter(slug__in=[SLUG, "other"]).values_list("pk", flat=True))

    with django_capture_on_commit_callbacks(execute=True):
        response = platform_browser.post(
            "/admin/tenants/tenant/",
            {"action": "delete_selected", "_selected_action": chosen, "post": "yes"},
        )

    assert response.status_code == 302
    assert not Tenant.objects.filter(pk__in=chosen).exists()
    for slug in (SLUG, "other"):
        assert_nothing_left(slug)


def test_a_slug_deleted_moments_ago_is_refused_while_other_processes_may_still_route_it(
    platform_browser, django_capture_on_commit_callbacks
):
    add_tenant()
    with django_capture_on_commit_callbacks(execute=True):
        Tenant.objects.filter(slug=SLUG).delete()

    with pytest.raises(CommandError, match=r"was deleted \d+ s ago.*try again in \d+ s"):
        add_tenant(password=NEW_PASSWORD)
    response = platform_browser.post("/admin/tenants/tenant/add/", admin_form())
    assert response.status_code == 200
    assert "try again in" in " ".join(response.context["adminform"].form.errors["slug"])
    assert not Tenant.objects.filter(slug=SLUG).exists()


def test_a_slug_whose_schema_exists_is_refused_not_adopted(platform_browser):
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{SLUG}"')  # a former tenant's data, restored by hand

    with pytest.raises(CommandError, match="already exists") as refused:
        add_tenant()
    response = platform_browser.post("/admin/tenants/tenant/add/", admin_form())

    assert "\n" not in str(refused.value)
    assert response.status_code == 200
    assert "already exists" in " ".join(response.context["adminform"].form.errors["slug"])
    assert not Tenant.objects.filter(slug=SLUG).exists()


def test_a_slug_whose_cache_keys_exist_is_refused_until_they_are_purged(platform_browser):
    planted = f"cache:{{{SLUG}}}:dashboard:activity:limit=20"
    get_redis_connection("default").set(planted, b'j[{"title": "a former tenant\'s"}]')

    with pytest.raises(CommandError, match="cache_purge reborn"):
        add_tenant()
    response = platform_browser.post("/admin/tenants/tenant/add/", admin_form(), follow=True)
    assert "cache_purge reborn" in response.content.decode()
    assert not Tenant.objects.filter(slug=SLUG).exists()

    call_command("cache_purge", SLUG, stdout=StringIO())
    add_tenant()

    client = token(OLD_PASSWORD)
    assert client is not None
    feed = client.get("/api/v1/dashboard/activity/")
    assert (feed["X-Cache"], feed.json()) == ("MISS", [])


def test_cache_purge_refuses_a_live_tenants_name(db):
    with pytest.raises(CommandError, match="A tenant uses acme"):
        call_command("cache_purge", "acme", stdout=StringIO())


def until_accepted(attempt: Callable[[], str], seconds: float = 5.0) -> str:
    """Retry while the cache's breaker cools down after Redis came back (bounded)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return attempt()
        except CommandError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_a_purge_missed_while_redis_hung_is_not_lost_and_blocks_the_slug_until_it_ran(
    db, settings, tmp_path, forget_token_throttling, django_capture_on_commit_callbacks
):
    redis_server = PrivateRedis(tmp_path)
    redis_server.start()
    try:
        settings.CACHE_BREAKER_COOLDOWN = 0.3
        point_cache_at(settings, redis_server.url)
        add_tenant()
        old_client = use_the_tenant()
        redis_server.hang()
        try:
            with django_capture_on_commit_callbacks(execute=True):
                Tenant.objects.filter(slug=SLUG).delete()
            assert DeferredCacheInvalidation.objects.filter(tenant=SLUG, purge=True).exists()
            pretend_deleted_long_ago()
            with pytest.raises(CommandError, match="not been purged yet"):
                add_tenant(password=NEW_PASSWORD)
        finally:
            redis_server.resume()  # with the old tenant's keys still in memory
        assert redis_keys(SLUG, redis_server.client())

        until_accepted(lambda: add_tenant(password=NEW_PASSWORD))

        assert not DeferredCacheInvalidation.objects.exists()
        assert_inherits_nothing(old_client)
    finally:
        redis_server.stop()
