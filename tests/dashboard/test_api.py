"""Dashboard endpoints: X-Cache, parameters, query counts, auth and the cache admin API."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from redis import Redis

from dashboard.entries import DASHBOARD_URLS
from firelater import roles
from firelater.factories import UserFactory
from issues.factories import IssueFactory
from tenant_cache import reset_backend

ENDPOINTS = [url.removeprefix("/api/v1/dashboard/") for url in DASHBOARD_URLS]
DATA_TABLES = ("issues_issue", "changes_change", "requests_app_request", "applications_")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_each_endpoint_misses_then_hits_with_the_same_body(acme_api, in_acme, dashboard_url, path):
    first = acme_api.get(dashboard_url(path))
    second = acme_api.get(dashboard_url(path))
    assert (first.status_code, second.status_code) == (200, 200)
    assert (first["X-Cache"], second["X-Cache"]) == ("MISS", "HIT")
    assert first["Content-Type"] == second["Content-Type"] == "application/json"
    assert first.content == second.content


def test_the_root_and_overview_share_one_cache_entry(acme_api, in_acme, dashboard_url):
    acme_api.get(dashboard_url("overview/"))
    assert acme_api.get(dashboard_url())["X-Cache"] == "HIT"


def test_normalised_parameters_share_a_key(acme_api, in_acme, dashboard_url):
    acme_api.get(dashboard_url("trends/?days=30"))
    assert acme_api.get(dashboard_url("trends/?days=030"))["X-Cache"] == "HIT"
    assert acme_api.get(dashboard_url("trends/"))["X-Cache"] == "HIT"  # the default is 30


@pytest.mark.parametrize(
    "path",
    [
        "trends/?days=0",
        "trends/?days=366",
        "trends/?days=abc",
        "trends/?days=1.5",
        "activity/?limit=0",
        "activity/?limit=101",
        "activity/?limit=-3",
        "activity/?limit=ten",
    ],
)
def test_bad_parameters_get_a_json_400(acme_api, in_acme, dashboard_url, path):
    response = acme_api.get(dashboard_url(path))
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    field = path.split("?")[1].split("=")[0]
    assert field in response.json()


def test_anonymous_dashboard_requests_get_401(anon_api, dashboard_url):
    response = anon_api.get(dashboard_url("overview/"))
    assert response.status_code == 401
    assert response.json()["detail"]


def test_the_browsable_api_renders_the_cached_data(acme_browser, in_acme, dashboard_url):
    response = acme_browser.get(dashboard_url("overview/"), HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["X-Cache"] == "MISS"
    assert b"resolvedToday" in response.content
    assert acme_browser.get(dashboard_url("overview/"), HTTP_ACCEPT="text/html")["X-Cache"] == "HIT"


def test_a_warm_request_runs_no_query_at_all(acme_api, in_acme, dashboard_url):
    IssueFactory(reporter=UserFactory())
    for path in ENDPOINTS:
        acme_api.get(dashboard_url(path))  # warm the cache, the tenant and the token lookup
    for path in ENDPOINTS:
        with CaptureQueriesContext(connection) as queries:
            response = acme_api.get(dashboard_url(path))
        assert response["X-Cache"] == "HIT"
        # Tenant (host) and user (token) come from their per-process caches, the body
        # from Redis: not one SQL statement, not even SET search_path.
        assert [q["sql"] for q in queries.captured_queries] == []


def test_with_the_revocation_listener_running_a_warm_hit_is_still_no_sql_and_one_redis_call(
    acme_api, in_acme, dashboard_url, private_redis, revocation_listener
):
    """Revocation (firelater.revocation) is checked against an in-process epoch: it adds
    no query and no Redis round trip to a warm hit."""
    acme_api.get(dashboard_url("overview/"))  # warm the cache, the tenant and the token
    acme_api.get(dashboard_url("overview/"))
    redis = Redis.from_url(private_redis.url)
    redis.config_resetstat()

    with CaptureQueriesContext(connection) as queries:
        response = acme_api.get(dashboard_url("overview/"))

    calls = {
        name.removeprefix("cmdstat_"): stats["calls"]
        for name, stats in redis.info("commandstats").items()
        if not name.startswith(("cmdstat_config", "cmdstat_info"))  # this test's own
    }
    assert response["X-Cache"] == "HIT"
    assert queries.captured_queries == []
    # One round trip: the hit's Lua script (its GET and HINCRBY are counted inside it).
    assert calls == {"evalsha": 1, "hmget": 1, "time": 1, "hincrby": 1}


def test_with_the_token_cache_off_a_warm_request_runs_only_the_token_and_role_queries(
    acme_api, in_acme, dashboard_url, settings
):
    settings.AUTH_TOKEN_CACHE_TTL = 0
    acme_api.get(dashboard_url("overview/"))
    with CaptureQueriesContext(connection) as queries:
        assert acme_api.get(dashboard_url("overview/"))["X-Cache"] == "HIT"
    statements = [q["sql"] for q in queries.captured_queries]
    # The token and its user, then Django's two permission reads (the user's own, its
    # groups'): what the role check needs when nothing is kept in the process.
    assert len(statements) == 3
    assert "authtoken_token" in statements[0]
    assert all("auth_permission" in s for s in statements[1:])
    assert not [s for s in statements if any(t in s for t in DATA_TABLES)]


def test_a_cold_overview_is_one_query(acme_api, in_acme, dashboard_url, django_assert_num_queries):
    acme_api.get("/api/v1/issues/")  # warm the host and token lookups
    acme_api.get(dashboard_url("health/"))  # and the process's first cache call (below)
    with django_assert_num_queries(1):  # the overview itself
        assert acme_api.get(dashboard_url("overview/"))["X-Cache"] == "MISS"


def test_a_process_reads_the_shared_deferred_invalidations_once_before_its_first_hit(
    acme_api, in_acme, dashboard_url
):
    acme_api.get(dashboard_url("overview/"))  # cached by "another process"
    reset_backend()  # this process starts now
    acme_api.get("/api/v1/issues/")  # warm the host and token lookups
    with CaptureQueriesContext(connection) as first:
        assert acme_api.get(dashboard_url("overview/"))["X-Cache"] == "HIT"
    with CaptureQueriesContext(connection) as second:
        assert acme_api.get(dashboard_url("overview/"))["X-Cache"] == "HIT"
    statements = [q["sql"] for q in first.captured_queries]
    assert len(statements) == 1
    assert "tenants_deferredcacheinvalidation" in statements[0]
    assert second.captured_queries == []


def test_another_tenant_reads_its_own_numbers(acme_api, globex_api, acme, globex, dashboard_url):
    with connection.cursor():
        pass
    from django_tenants.utils import tenant_context

    with tenant_context(acme):
        IssueFactory.create_batch(3, reporter=UserFactory())
    assert acme_api.get(dashboard_url("overview/")).json()["issues"]["total"] == 3
    globex_response = globex_api.get(dashboard_url("overview/"))
    assert globex_response["X-Cache"] == "MISS"
    assert globex_response.json()["issues"]["total"] == 0


def test_cache_stats_are_the_tenants_own_and_staff_only(acme_api, globex_api, in_acme):
    acme_api.get("/api/v1/dashboard/overview/")
    acme_api.get("/api/v1/dashboard/overview/")
    globex_api.get("/api/v1/dashboard/health/")
    body = acme_api.get("/api/admin/cache/stats").json()
    assert body["tenant"] == "acme"
    assert (body["hits"], body["misses"], body["hitRate"]) == (1, 1, 50.0)
    assert body["totalKeys"] == 1
    assert body["topKeys"] == [{"key": "cache:{acme}:dashboard:overview", "hits": 1}]
    assert set(body) >= {"hitRate", "hits", "misses", "totalKeys", "memoryUsed", "topKeys"}


@pytest.mark.parametrize("role", [roles.AGENT, roles.CHANGE_MANAGER])
def test_cache_admin_endpoints_refuse_staff_who_are_not_tenant_admins(acme, dashboard_url, role):
    from django_tenants.utils import tenant_context
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    with tenant_context(acme):
        user = UserFactory(roles=[role])
        assert user.is_staff
        token = Token.objects.create(user=user)
    client = APIClient(HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=f"Token {token.key}")
    refused = client.get("/api/admin/cache/stats")
    assert refused.status_code == 403
    assert "dashboard.administer_cache" in refused.json()["detail"]
    assert client.post("/api/admin/cache/invalidate", {}, format="json").status_code == 403
    assert client.get(dashboard_url("overview/")).status_code == 200  # agents read it


def test_cache_invalidate_by_category_and_all(acme_api, in_acme, dashboard_url):
    for path in ("overview/", "health/", "issues/by-status/"):
        acme_api.get(dashboard_url(path))
    response = acme_api.post("/api/admin/cache/invalidate", {"category": "issues"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"tenant": "acme", "category": "issues", "keysDropped": 2}
    assert acme_api.get(dashboard_url("health/"))["X-Cache"] == "HIT"
    assert acme_api.get(dashboard_url("overview/"))["X-Cache"] == "MISS"
    response = acme_api.post("/api/admin/cache/invalidate", {}, format="json")
    assert response.json()["category"] == "all"
    assert acme_api.get(dashboard_url("health/"))["X-Cache"] == "MISS"


@pytest.mark.parametrize("body", [{"category": "nope"}, {"category": 5}, {"category": "*"}])
def test_cache_invalidate_rejects_unknown_categories(acme_api, in_acme, body):
    response = acme_api.post("/api/admin/cache/invalidate", body, format="json")
    assert response.status_code == 400
    assert "category" in response.json()
