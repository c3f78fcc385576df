"""Tenant isolation: a host reaches one tenant's data and accounts, never another's."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django_tenants.utils import schema_context, tenant_context
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from firelater.factories import UserFactory
from issues.factories import IssueFactory
from issues.models import Issue
from tests.utils import json_error


@pytest.fixture
def acme_issue(acme):  # type: ignore[no-untyped-def]
    with tenant_context(acme):
        return IssueFactory(reporter=UserFactory(), title="Acme secret outage")


@pytest.fixture
def globex_issue(globex):  # type: ignore[no-untyped-def]
    with tenant_context(globex):
        return IssueFactory(reporter=UserFactory(), title="Globex own issue")


def test_each_tenant_host_lists_only_its_own_issues(acme_api, globex_api, acme_issue, globex_issue):
    acme_titles = [row["title"] for row in acme_api.get("/api/v1/issues/").json()["results"]]
    globex_titles = [row["title"] for row in globex_api.get("/api/v1/issues/").json()["results"]]

    assert acme_titles == ["Acme secret outage"]
    assert globex_titles == ["Globex own issue"]


def test_alternating_tenants_on_one_connection_never_mix_data(
    acme, globex, acme_api, globex_api, acme_issue, globex_issue
):
    def listed(client) -> list[str]:  # type: ignore[no-untyped-def]
        return [row["title"] for row in client.get("/api/v1/issues/").json()["results"]]

    def stored(tenant) -> list[str]:  # type: ignore[no-untyped-def]
        with tenant_context(tenant):
            return list(Issue.objects.values_list("title", flat=True))

    for _ in range(3):
        assert listed(acme_api) == ["Acme secret outage"]
        assert stored(globex) == ["Globex own issue"]
        assert listed(acme_api) == ["Acme secret outage"]
        assert listed(globex_api) == ["Globex own issue"]
        assert stored(acme) == ["Acme secret outage"]
        json_error(Client(HTTP_HOST="nowhere.localhost").get("/api/v1/issues/"), 404)
        assert listed(globex_api) == ["Globex own issue"]


def test_an_acme_issue_id_is_not_found_on_globex(globex_api, acme_issue, acme, globex):
    with tenant_context(globex):  # ids are per schema: make sure the id is not globex's own
        assert not Issue.objects.filter(pk=acme_issue.pk).exists()

    for method in ("get", "put", "patch", "delete"):
        response = getattr(globex_api, method)(
            f"/api/v1/issues/{acme_issue.pk}/", {"title": "Hijacked"}, format="json"
        )
        json_error(response, 404)

    with tenant_context(acme):
        acme_issue.refresh_from_db()
    assert acme_issue.title == "Acme secret outage"


def test_an_acme_token_is_rejected_on_globex(acme_api, acme_issue):
    acme_api.defaults["HTTP_HOST"] = "globex.localhost"

    body = json_error(acme_api.get("/api/v1/issues/"), 401)

    assert body["detail"] == "Invalid token."


def test_an_acme_session_cookie_does_not_log_in_on_globex(acme_browser):
    acme_browser.defaults["HTTP_HOST"] = "globex.localhost"

    json_error(acme_browser.get("/api/v1/issues/"), 401)
    admin_page = acme_browser.get("/admin/")
    assert admin_page.status_code == 302
    assert admin_page["Location"].startswith("/admin/login/")


def test_an_acme_account_cannot_get_a_token_on_globex(
    acme, acme_api, globex_api, forget_token_throttling
):
    with tenant_context(acme):
        UserFactory(username="alice", password="alice-pass-1")
    credentials = {"username": "alice", "password": "alice-pass-1"}
    acme_api.credentials()
    globex_api.credentials()

    assert acme_api.post("/api/v1/auth/token/", credentials, format="json").status_code == 200
    json_error(globex_api.post("/api/v1/auth/token/", credentials, format="json"), 400)


def test_users_of_one_tenant_do_not_exist_in_another(acme, globex):
    with tenant_context(acme):
        UserFactory(username="only-at-acme")
    with tenant_context(globex):
        assert not get_user_model().objects.filter(username="only-at-acme").exists()


@pytest.mark.parametrize("host", ["nowhere.localhost", "acme.localhost.evil.com", "example.com"])
def test_an_unknown_host_is_a_json_404(db, host):
    client = Client(HTTP_HOST=host)

    body = json_error(client.get("/api/v1/issues/"), 404)

    assert body == {"detail": "Unknown host."}


def test_a_deactivated_tenants_host_is_a_json_404(acme, acme_api):
    assert acme_api.get("/api/v1/issues/").status_code == 200

    acme.is_active = False
    acme.save(update_fields=["is_active"])

    body = json_error(acme_api.get("/api/v1/issues/"), 404)
    assert body == {"detail": "Unknown host."}


@pytest.mark.parametrize(
    "host", ["ACME.localhost", "www.acme.localhost", "WWW.Acme.localhost", "acme.localhost:8000"]
)
def test_host_case_www_and_port_do_not_matter(acme_api, acme_issue, host):
    acme_api.defaults["HTTP_HOST"] = host

    results = acme_api.get("/api/v1/issues/").json()["results"]

    assert [row["title"] for row in results] == ["Acme secret outage"]


def test_a_new_domain_of_a_tenant_reaches_the_same_data(acme, acme_api, acme_issue):
    acme.domains.create(domain="support.acme.localhost", is_primary=False)
    acme_api.defaults["HTTP_HOST"] = "support.acme.localhost"

    results = acme_api.get("/api/v1/issues/").json()["results"]

    assert [row["title"] for row in results] == ["Acme secret outage"]


# --- The public (platform) host and the tenant admin -------------------------------------


@pytest.mark.parametrize(
    "url", ["/api/v1/", "/api/v1/issues/", "/api/v1/applications/", "/api-auth/login/"]
)
def test_the_public_host_has_no_tenant_api(db, url):
    client = Client(HTTP_HOST="localhost")

    json_error(client.get(url), 404)


def test_a_tenants_admin_does_not_offer_tenants_or_domains(acme_browser):
    index = acme_browser.get("/admin/")

    assert index.status_code == 200
    assert b"/admin/issues/issue/" in index.content
    assert b"/admin/tenants/" not in index.content
    json_error(acme_browser.get("/admin/tenants/tenant/"), 404)
    json_error(acme_browser.get("/admin/tenants/domain/"), 404)


# --- Platform-host requests between tenant requests on one connection --------------------
# Issue #18.1: a platform-host request whose host lookup queried (with search_path public)
# left the connection believing it still had the previous tenant's search_path, so that
# tenant's next request skipped SET search_path and ran in the public schema.

PLATFORM_HOSTS = ["localhost", "127.0.0.1"]


@contextlib.contextmanager
def search_paths_sent() -> Iterator[list[str]]:
    """Every `SET search_path` this thread's connection sends, as the driver sees it."""
    connection.ensure_connection()
    raw = connection.connection
    original = raw.cursor_factory
    sent: list[str] = []

    class RecordingCursor(original):  # type: ignore[misc, valid-type]
        def execute(self, query, params=None, **kwargs):  # type: ignore[no-untyped-def]
            text = query if isinstance(query, str) else query.as_string(self)
            if text.lstrip().upper().startswith("SET SEARCH_PATH"):
                sent.append(text)
            return super().execute(query, params, **kwargs)

    raw.cursor_factory = RecordingCursor
    try:
        yield sent
    finally:
        raw.cursor_factory = original


def search_path_in_effect() -> str:
    """The connection's search_path as PostgreSQL has it (read past django-tenants)."""
    with connection.connection.cursor() as cursor:
        return str(cursor.execute("SHOW search_path").fetchone()[0])


def anonymous_platform_request(host: str) -> None:
    """What a load balancer's probe does: GET / on the platform host, no credentials."""
    response = Client(HTTP_HOST=host).get("/")
    assert (response.status_code, response["Location"]) == (302, "/admin/")  # the platform


def titles(client) -> list[str]:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/issues/")
    assert response.status_code == 200, response.content[:300]
    return [row["title"] for row in response.json()["results"]]


@pytest.mark.parametrize("host", PLATFORM_HOSTS)
def test_a_platform_host_request_never_makes_a_tenants_next_request_run_in_public(
    acme_api, acme_issue, host
):
    assert titles(acme_api) == ["Acme secret outage"]

    for _ in range(3):
        anonymous_platform_request(host)
        assert titles(acme_api) == ["Acme secret outage"]
        assert search_path_in_effect() == "acme, public"


@pytest.mark.parametrize("host", PLATFORM_HOSTS)
def test_a_platform_account_cannot_get_a_token_on_a_tenant_host_after_a_platform_request(
    acme_api, public_schema, forget_token_throttling, host
):
    with schema_context(public_schema):
        platform_user = get_user_model().objects.create_superuser(
            "platform", "platform@example.com", "platform-pass-1"
        )
        platform_token = Token.objects.create(user=platform_user)
    credentials = {"username": "platform", "password": "platform-pass-1"}
    assert acme_api.get("/api/v1/issues/").status_code == 200  # the host lookup is cached

    anonymous_platform_request(host)
    anonymous = APIClient(HTTP_HOST="acme.localhost")
    json_error(anonymous.post("/api/v1/auth/token/", credentials, format="json"), 400)

    anonymous_platform_request(host)
    anonymous.credentials(HTTP_AUTHORIZATION=f"Token {platform_token.key}")
    json_error(anonymous.get("/api/admin/cache/stats"), 401)
    json_error(anonymous.post("/api/v1/issues/", {"title": "Forged"}, format="json"), 401)


def test_a_platform_host_request_does_not_log_out_a_tenants_browser_session(acme_browser):
    assert acme_browser.get("/").status_code == 200

    anonymous_platform_request("localhost")

    page = acme_browser.get("/")
    assert page.status_code == 200, page.get("Location")


def test_set_search_path_is_sent_exactly_when_the_connection_is_on_another_path(acme_api):
    titles(acme_api)  # warms the host and token lookups

    with search_paths_sent() as sent:
        titles(acme_api)
    assert sent == []  # same tenant as the last request: the path is already right

    anonymous_platform_request("localhost")  # its host lookup queries with path public
    assert search_path_in_effect() == "public"
    with search_paths_sent() as sent:
        titles(acme_api)
    assert sent == ['SET search_path = "acme","public"']


def test_a_schema_switch_that_was_rolled_back_is_never_trusted(
    acme_api, globex, globex_api, acme_issue, globex_issue
):
    assert titles(globex_api) == ["Globex own issue"]  # warms globex's host lookup
    assert titles(acme_api) == ["Acme secret outage"]
    savepoint = transaction.savepoint()
    connection.set_tenant(globex)
    assert Issue.objects.count() == 1  # sends SET search_path to globex's, after the savepoint
    transaction.savepoint_rollback(savepoint)  # which undoes that SET: back on acme's path
    assert search_path_in_effect() == "acme, public"

    assert titles(globex_api) == ["Globex own issue"]


def test_a_new_database_connection_is_always_sent_its_search_path(acme):
    # In a thread of its own: its own connection, outside the test's transaction.
    def on_a_fresh_connection() -> None:
        try:
            connection.set_tenant(acme)
            Issue.objects.count()  # sends SET search_path to acme's
            connection.close()  # as CONN_MAX_AGE or a failed health check does
            connection.set_tenant(acme)  # as the next request's middleware does
            outcome.append(Issue.objects.count())  # a new session, on PostgreSQL's default
        except Exception as error:  # reported to the test below
            outcome.append(error)
        finally:
            connection.close()

    outcome: list[object] = []
    thread = threading.Thread(target=on_a_fresh_connection)
    thread.start()
    thread.join()

    assert [type(result) for result in outcome] == [int], outcome
