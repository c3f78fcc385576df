"""Page test fixtures: an empty cache per test, logged-in browsers, a small world in acme."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_tenants.utils import tenant_context

from firelater import roles
from firelater.factories import UserFactory
from tests.conftest import ADMIN_PASSWORD
from tests.pages.figures import build_small_world


@pytest.fixture(autouse=True)
def _clean_cache(clean_cache: None) -> None:
    """The database rolls back after each test; the cache must start empty as well."""


@pytest.fixture
def globex_browser(globex) -> Client:  # type: ignore[no-untyped-def]
    client = Client(HTTP_HOST="globex.localhost")
    with tenant_context(globex):
        assert client.login(username="admin", password=ADMIN_PASSWORD)
    return client


@pytest.fixture
def small_world(acme_admin) -> None:  # type: ignore[no-untyped-def]
    build_small_world(reporter=acme_admin)


@pytest.fixture
def acme_staffless_browser(in_acme) -> Client:  # type: ignore[no-untyped-def]
    """Logged in to acme as an agent whose admin access (staff) a tenant admin turned off:
    they read the dashboard but have no admin to link to."""
    agent = UserFactory(username="agent", password="agent-pass-123", roles=[roles.AGENT])
    get_user_model().objects.filter(pk=agent.pk).update(is_staff=False)
    client = Client(HTTP_HOST="acme.localhost")
    assert client.login(username="agent", password="agent-pass-123")
    return client
