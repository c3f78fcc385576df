"""Test fixtures: two tenants created once per session, tenant contexts, API clients."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection, connections
from django.test import Client, override_settings
from django_redis import get_redis_connection
from django_tenants.utils import get_public_schema_name, tenant_context
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from firelater import revocation
from tenants.middleware import flush_tenant_lookup_cache
from tenants.models import Tenant
from tenants.services import public_tenant_ensure, tenant_setup

pytest_plugins = ["tests.support.fixtures", "tests.support.replica"]

ADMIN_PASSWORD = "admin-pass-123"


def pytest_configure(config: pytest.Config) -> None:
    # WhiteNoise warns once per client that STATIC_ROOT is missing until collectstatic has
    # run; tests serve static files from the apps (WHITENOISE_USE_FINDERS) and do not care.
    config.addinivalue_line("filterwarnings", "ignore:No directory at:UserWarning")
    # Servers the suites start (gunicorn) inherit the strict default too; a test of bounded
    # staleness passes CACHE_MAX_STALE itself.
    os.environ.setdefault("CACHE_MAX_STALE", "0")
    # The suite's standby (tests/support) is configured, but only the replica suites read
    # from it (settings.CACHE_REPLICA_ALIAS = "replica", or DATABASE_REPLICA_READS=1 for
    # the servers they start): the others' rolled-back data never reaches a standby.
    os.environ.setdefault("DATABASE_REPLICA_READS", "0")


@pytest.fixture(scope="session", autouse=True)
def _strict_cache_by_default() -> Iterator[None]:
    """Most suites assert that a write is on every reader's next read (strict freshness,
    CACHE_MAX_STALE = 0). The suites of bounded staleness (tests/cache/test_freshness.py,
    tests/reliability/test_write_storm.py) set CACHE_MAX_STALE themselves."""
    with override_settings(CACHE_MAX_STALE=0, CACHE_REPLICA_ALIAS=None):
        yield


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing() -> Iterator[None]:
    """Full-strength PBKDF2 costs ~0.2 s per user; the factories and logins need many."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Schema creation is slow: the test tenants are created once, committed, for all tests."""
    if not connection.settings_dict["NAME"].startswith("test_"):
        # pytest-django creates the test database only when a collected test needs one;
        # otherwise the settings still name the real database, which must stay untouched.
        yield
        return
    from tests.support.replica import point_replica_at_standby  # a plugin: imported by pytest

    point_replica_at_standby()  # the standby's copy of the test database, not a mirror
    # The test database is new, the tests' Redis database is not: keys of a former "acme"
    # would make creating acme refuse (a new tenant never inherits a former one's keys).
    get_redis_connection("default").flushdb()
    with django_db_blocker.unblock():
        public_tenant_ensure()
        for slug, name in (("acme", "Acme"), ("globex", "Globex")):
            tenant_setup(
                slug=slug,
                name=name,
                domain=f"{slug}.localhost",
                admin_username="admin",
                admin_password=ADMIN_PASSWORD,
            )
        connection.set_schema_to_public()
    yield
    # A revocation listener's connection would keep the test database from being dropped.
    revocation.stop_listener()
    if "replica" in settings.DATABASES:
        connections["replica"].close()


@pytest.fixture(autouse=True)
def _reset_tenant_state() -> Iterator[None]:
    yield
    flush_tenant_lookup_cache()
    connection.set_schema_to_public()


@pytest.fixture
def acme(db) -> Tenant:  # type: ignore[no-untyped-def]
    return Tenant.objects.get(slug="acme")


@pytest.fixture
def globex(db) -> Tenant:  # type: ignore[no-untyped-def]
    return Tenant.objects.get(slug="globex")


@pytest.fixture
def in_acme(acme: Tenant) -> Iterator[Tenant]:
    """Run the test body in acme's schema."""
    with tenant_context(acme):
        yield acme


@pytest.fixture
def acme_admin(in_acme: Tenant):  # type: ignore[no-untyped-def]
    """acme's admin: the tenant admin role, every permission of the tenant but no superuser
    (the one the API clients authenticate as). Tests of what the other roles may do build
    their users with `UserFactory(roles=[...])` (tests/security/test_roles.py)."""
    return get_user_model().objects.get(username="admin")


def _tenant_client(tenant: Tenant, *, authenticated: bool = True) -> APIClient:
    client = APIClient(HTTP_HOST=f"{tenant.slug}.localhost")
    if authenticated:
        with tenant_context(tenant):
            user = get_user_model().objects.get(username="admin")
            token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        client.token = token.key  # type: ignore[attr-defined]
    return client


@pytest.fixture
def acme_api(acme: Tenant) -> APIClient:
    """An API client for acme.localhost, authenticated with acme's admin token (the tenant
    admin role)."""
    return _tenant_client(acme)


@pytest.fixture
def globex_api(globex: Tenant) -> APIClient:
    return _tenant_client(globex)


@pytest.fixture
def anon_api(acme: Tenant) -> APIClient:
    return _tenant_client(acme, authenticated=False)


@pytest.fixture
def acme_browser(acme: Tenant) -> Client:
    """A browser-like client for acme.localhost, logged in (session) as acme's admin."""
    client = Client(HTTP_HOST="acme.localhost")
    with tenant_context(acme):
        assert client.login(username="admin", password=ADMIN_PASSWORD)
    return client


@pytest.fixture
def public_schema() -> str:
    return get_public_schema_name()


@pytest.fixture
def forget_token_throttling(acme: Tenant, globex: Tenant) -> Iterator[None]:
    """The token view is rate limited per address in Redis; start (and leave) with no history."""

    def forget() -> None:
        for tenant in (acme, globex):
            with tenant_context(tenant):
                cache.delete("throttle_token_127.0.0.1")

    forget()
    yield
    forget()
