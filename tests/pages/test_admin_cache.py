"""The tenant admin's Cache page: figures, invalidation per category, staff only, no 500s."""

from __future__ import annotations

import re
import socket

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django_tenants.utils import tenant_context

from tenant_cache import registry
from tests.conftest import ADMIN_PASSWORD


def _dead_redis_url() -> str:
    with socket.socket() as sock:  # a port nobody listens on once the socket closes
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture
def redis_down(settings):  # type: ignore[no-untyped-def]
    caches = {alias: dict(config) for alias, config in django_settings.CACHES.items()}
    caches["default"]["LOCATION"] = _dead_redis_url()
    settings.CACHES = caches  # the cache backend resets itself on this setting change


@pytest.fixture
def csrf_browser(acme) -> Client:  # type: ignore[no-untyped-def]
    client = Client(HTTP_HOST="acme.localhost", enforce_csrf_checks=True)
    with tenant_context(acme):
        assert client.login(username="admin", password=ADMIN_PASSWORD)
    return client


def _csrf_token(client: Client) -> str:
    html = client.get("/admin/cache/").content.decode()
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_the_admin_index_links_to_the_cache_page(acme_browser, in_acme):
    html = acme_browser.get("/admin/").content.decode()

    assert '<a href="/admin/cache/">Cache</a>' in html


def test_the_cache_page_shows_the_tenants_figures_and_top_keys(acme_browser, acme_api, in_acme):
    for _ in range(3):
        acme_api.get("/api/v1/dashboard/overview/")

    response = acme_browser.get("/admin/cache/")

    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'data-stat="hitRate">66\.7&nbsp;%', html)
    assert 'data-stat="hits">2<' in html
    assert 'data-stat="misses">1<' in html
    assert 'data-stat="totalKeys">1<' in html
    assert "cache:{acme}:dashboard:overview</code></td><td>2<" in html


def test_the_cache_page_offers_an_invalidate_button_per_category(acme_browser, in_acme):
    html = acme_browser.get("/admin/cache/").content.decode()

    for category in registry.data_categories():
        assert f'aria-label="Invalidate {category}"' in html
    assert 'aria-label="Invalidate everything"' in html


def test_invalidating_a_category_drops_its_entries_only(csrf_browser, acme_api, in_acme):
    acme_api.get("/api/v1/dashboard/overview/")
    acme_api.get("/api/v1/dashboard/health/")

    response = csrf_browser.post(
        "/admin/cache/", {"category": "issues", "csrfmiddlewaretoken": _csrf_token(csrf_browser)}
    )

    assert response.status_code == 302
    assert response["Location"] == "/admin/cache/"
    page = csrf_browser.get("/admin/cache/").content.decode()
    assert "Invalidated the entries that depend on issues (1 values dropped)." in page
    assert acme_api.get("/api/v1/dashboard/overview/")["X-Cache"] == "MISS"
    assert acme_api.get("/api/v1/dashboard/health/")["X-Cache"] == "HIT"


def test_invalidating_everything_drops_every_entry(csrf_browser, acme_api, in_acme):
    acme_api.get("/api/v1/dashboard/overview/")
    acme_api.get("/api/v1/dashboard/health/")

    csrf_browser.post(
        "/admin/cache/", {"category": "all", "csrfmiddlewaretoken": _csrf_token(csrf_browser)}
    )

    assert acme_api.get("/api/v1/dashboard/overview/")["X-Cache"] == "MISS"
    assert acme_api.get("/api/v1/dashboard/health/")["X-Cache"] == "MISS"


def test_an_unknown_category_is_refused(csrf_browser, acme_api, in_acme):
    acme_api.get("/api/v1/dashboard/overview/")

    csrf_browser.post(
        "/admin/cache/", {"category": "nope", "csrfmiddlewaretoken": _csrf_token(csrf_browser)}
    )

    assert "Unknown cache category" in csrf_browser.get("/admin/cache/").content.decode()
    assert acme_api.get("/api/v1/dashboard/overview/")["X-Cache"] == "HIT"


def test_invalidation_needs_the_csrf_token(csrf_browser, acme_api, in_acme):
    acme_api.get("/api/v1/dashboard/overview/")

    response = csrf_browser.post("/admin/cache/", {"category": "issues"})

    assert response.status_code == 403
    assert acme_api.get("/api/v1/dashboard/overview/")["X-Cache"] == "HIT"


def test_the_cache_page_is_for_staff_only(acme_staffless_browser, acme):
    anonymous = Client(HTTP_HOST="acme.localhost")

    assert anonymous.get("/admin/cache/")["Location"] == "/admin/login/?next=/admin/cache/"
    assert acme_staffless_browser.get("/admin/cache/")["Location"].startswith("/admin/login/")
    assert acme_staffless_browser.post("/admin/cache/", {"category": "all"}).status_code == 302


def test_with_redis_down_the_cache_page_says_so(acme_browser, in_acme, redis_down):
    response = acme_browser.get("/admin/cache/")

    assert response.status_code == 200
    assert "Redis is not answering" in response.content.decode()


def test_with_redis_down_an_invalidation_is_queued_not_lost(acme_browser, in_acme, redis_down):
    response = acme_browser.post("/admin/cache/", {"category": "issues"}, follow=True)

    assert response.status_code == 200
    html = response.content.decode()
    assert "the invalidation is queued" in html
    assert "Some invalidations are waiting for Redis" in html


def test_with_redis_down_the_dashboard_still_shows_its_numbers(
    acme_browser, small_world, redis_down
):
    response = acme_browser.get("/")

    assert response.status_code == 200
    assert response["X-Cache"] == "BYPASS"
    assert 'data-field="overview.issues.open">4<' in response.content.decode()
