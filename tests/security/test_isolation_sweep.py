"""Tenant isolation sweep: every URL, every cross-tenant credential, spoofed host headers.

A unique marker is planted in acme's data (issue, application, change, request, a user
name) and in acme's cache (its dashboard entries are read first, so Redis holds them).
Then every URL of the tenant and platform URL confs (read from the resolvers, so a new
endpoint is swept without editing this file), plus the operations endpoints and explicit
detail and query URLs, is requested on globex's host, on the platform's host and on an
unknown host, with acme's token and session, globex's token and session, a platform
superuser's session and none, each with and without forwarded-host headers naming acme.
No response may contain the marker or be a 5xx. Acme's own callers on acme's host do see
it (so the marker and the URLs are real), and writes and cache administration from other
tenants leave acme's records and cache entries alone.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import URLResolver, get_resolver
from django_redis import get_redis_connection
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token

from applications.factories import ApplicationFactory, ApplicationHealthScoreFactory
from changes.factories import ChangeFactory
from cloud.factories import CloudCostReportFactory
from dashboard.entries import DASHBOARD_URLS
from firelater.factories import UserFactory
from issues.factories import IssueFactory
from issues.models import Issue
from requests_app.factories import CatalogItemFactory, RequestFactory
from tenants.models import Domain, Tenant
from tests.conftest import ADMIN_PASSWORD

MARKER = "ACME-ONLY-7f3a9c"  # in acme's data and cache only
# Searched for in URLs: a page may echo its query (a login redirect's ?next=, a search
# box), so URLs carry only this part of the marker, never the marker itself.
MARKER_TAIL = MARKER.rsplit("-", 1)[1]
GLOBEX_MARKER = "GLOBEX-OWN-51d2e8"
PLATFORM_PASSWORD = "platform-pass-1"

# Headers a proxy (or an attacker) might send to name another host. Django must ignore
# them all (USE_X_FORWARDED_HOST stays False), so none may switch the tenant.
SPOOFS: dict[str, dict[str, str]] = {
    "plain": {},
    "forwarded-acme": {
        "HTTP_X_FORWARDED_HOST": "acme.localhost",
        "HTTP_FORWARDED": "host=acme.localhost;proto=https",
        "HTTP_X_ORIGINAL_HOST": "acme.localhost",
        "HTTP_X_HOST": "acme.localhost",
        "HTTP_X_FORWARDED_SERVER": "acme.localhost",
    },
}
OPERATIONS_URLS = ["/healthz", "/readyz", "/metrics"]
DASHBOARD_READS = list(DASHBOARD_URLS)


# --- The planted data --------------------------------------------------------------------


@dataclass(frozen=True)
class Planted:
    """Primary keys of acme's marked records (ids are per schema: globex may reuse them)."""

    ids: dict[str, int]
    content_type_id: int


@pytest.fixture
def planted(acme: Tenant, globex: Tenant) -> Planted:
    with tenant_context(globex):
        globex_user = UserFactory(username=f"{GLOBEX_MARKER}-user")
        globex_app = ApplicationFactory(name=f"{GLOBEX_MARKER} app")
        IssueFactory(reporter=globex_user, title=f"{GLOBEX_MARKER} issue", application=globex_app)
    with tenant_context(acme):
        user = UserFactory(username=f"{MARKER}-user")
        application = ApplicationFactory(name=f"{MARKER} app", owner=f"{MARKER} team")
        score = ApplicationHealthScoreFactory(application=application, score=42)
        issue = IssueFactory(
            reporter=user, assignee=user, application=application, title=f"{MARKER} issue"
        )
        change = ChangeFactory(application=application, title=f"{MARKER} change")
        item = CatalogItemFactory(name=f"{MARKER} item")
        service_request = RequestFactory(
            requester=user, title=f"{MARKER} request", catalog_item=item
        )
        report = CloudCostReportFactory(account=f"{MARKER} account")
        token = Token.objects.get_or_create(user=user)[0]
        ids = {
            "issue": issue.pk,
            "application": application.pk,
            "applicationhealthscore": score.pk,
            "change": change.pk,
            "request": service_request.pk,
            "catalog-item": item.pk,
            "catalogitem": item.pk,
            "cloud-cost": report.pk,
            "cloudcostreport": report.pk,
            "user": user.pk,
            "tokenproxy": token.pk,
            "group": 1,
        }
        content_type_id = ContentType.objects.get_for_model(Issue).pk
    ids["tenant"] = acme.pk
    ids["domain"] = Domain.objects.get(domain="acme.localhost").pk
    return Planted(ids=ids, content_type_id=content_type_id)


@pytest.fixture
def warm_acme_cache(planted: Planted, acme_api: Any) -> None:
    """Acme's dashboard entries (activity lists the marked titles) now live in Redis."""
    for url in DASHBOARD_READS:
        assert acme_api.get(url).status_code == 200, url
    assert MARKER.encode() in acme_api.get("/api/v1/dashboard/activity/").content


# --- Callers -----------------------------------------------------------------------------


@dataclass
class Caller:
    """Credentials of one kind: a client (its session cookie, if any) and extra headers."""

    name: str
    client: Client
    headers: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, host: str, url: str, **extra: Any) -> HttpResponse:
        # Each request in a savepoint rolled back afterwards: the sweep's requests cannot
        # change what later ones see, and a database error in one (inside the test's
        # transaction) cannot turn every later request into an error.
        savepoint = transaction.savepoint()
        try:
            return getattr(self.client, method)(url, **{**self.headers, "HTTP_HOST": host, **extra})
        finally:
            transaction.savepoint_rollback(savepoint)


BROWSER = {"HTTP_ACCEPT": "text/html,application/xhtml+xml,*/*;q=0.8"}


def token_caller(name: str, tenant: Tenant, username: str = "admin") -> Caller:
    with tenant_context(tenant):
        user = get_user_model().objects.get(username=username)
        key = Token.objects.get_or_create(user=user)[0].key
    return Caller(name, sweep_client(), {"HTTP_AUTHORIZATION": f"Token {key}"})


def sweep_client() -> Client:
    # A crash must be a 500 answer the sweep records, not an exception that ends it.
    return Client(raise_request_exception=False)


def session_caller(name: str, tenant: Tenant) -> Caller:
    client = sweep_client()
    with tenant_context(tenant):
        assert client.login(username="admin", password=ADMIN_PASSWORD)
    return Caller(name, client, dict(BROWSER))


@pytest.fixture
def callers(acme: Tenant, globex: Tenant, planted: Planted) -> dict[str, Caller]:
    connection.set_schema_to_public()  # an earlier request left the connection in a tenant
    get_user_model().objects.create_superuser("platform", "platform@example.com", PLATFORM_PASSWORD)
    platform = sweep_client()
    assert platform.login(username="platform", password=PLATFORM_PASSWORD)
    return {
        "anonymous": Caller("anonymous", sweep_client()),
        "acme-token": token_caller("acme-token", acme),
        "acme-marker-user-token": token_caller("acme-marker-user-token", acme, f"{MARKER}-user"),
        "acme-session": session_caller("acme-session", acme),
        "globex-token": token_caller("globex-token", globex),
        "globex-session": session_caller("globex-session", globex),
        "platform-session": Caller("platform-session", platform, dict(BROWSER)),
    }


# --- URLs from the resolvers -------------------------------------------------------------


def url_templates(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, list[str]]]:
    """Every reversible URL of a URL conf as ('issues/%(pk)s', ['pk']), namespaces too."""
    for _key, possibilities in resolver.reverse_dict.lists():
        for possibility, _pattern, _defaults, _converters in possibilities:
            for template, params in possibility:
                yield prefix + template, list(params)
    for _namespace, (namespace_prefix, sub_resolver) in resolver.namespace_dict.items():
        unescaped = re.sub(r"\\(.)", r"\1", namespace_prefix.lstrip("^"))
        yield from url_templates(sub_resolver, prefix + unescaped)


def _object_id(template: str, planted: Planted) -> str:
    """The marked record a detail URL names: by its model in an admin URL, else by resource."""
    if template.startswith("admin/r/"):  # view on site: content type of Issue, then its id
        return str(planted.ids["issue"])
    admin_model = re.match(r"admin/\w+/(\w+)/", template)
    if admin_model:
        return str(planted.ids.get(admin_model.group(1), 1))
    resource = template.split("/")[2].split(".")[0]  # api/v1/<resource>/...
    return str(planted.ids[{"requests": "request"}.get(resource, resource.rstrip("s"))])


def fill(template: str, params: list[str], planted: Planted) -> list[str]:
    values: dict[str, list[str]] = {
        "format": ["json"],
        "url": ["no-such-page/"],
        "content_type_id": [str(planted.content_type_id)],
        "app_label": sorted({model._meta.app_label for model in admin.site._registry}),
    }
    urls = [template]
    for name in params:
        options = values.get(name) or [_object_id(template, planted)]
        urls = [url.replace(f"%({name})s", option) for url in urls for option in options]
    return ["/" + url for url in urls]


def swept_urls(planted: Planted) -> list[str]:
    urls: set[str] = set(OPERATIONS_URLS) | set(DASHBOARD_READS)
    for conf in ("firelater.urls", "firelater.urls_public"):
        for template, params in url_templates(get_resolver(conf)):
            urls.update(fill(template, params, planted))
    ids = planted.ids
    urls.update(
        {
            f"/api/v1/issues/{ids['issue']}/",
            f"/api/v1/applications/{ids['application']}/health-scores/",
            f"/api/v1/issues/?search={MARKER_TAIL}",
            f"/api/v1/applications/?search={MARKER_TAIL}",
            f"/api/v1/issues/?application={ids['application']}&assignee={ids['user']}",
            f"/admin/issues/issue/?q={MARKER_TAIL}",
            f"/admin/auth/user/?q={MARKER_TAIL}",
            "/admin/cache/",
        }
    )
    # Logging out last, so no session ends before the sweep is over.
    return sorted(urls, key=lambda url: ("logout" in url, url))


# --- The sweep ---------------------------------------------------------------------------


def body_of(response: HttpResponse) -> bytes:
    content = (
        b"".join(response.streaming_content)  # type: ignore[attr-defined]
        if response.streaming
        else response.content
    )
    headers = "\n".join(f"{name}: {value}" for name, value in response.items())
    return content + headers.encode()


@dataclass
class SweepResult:
    requests: int = 0
    leaks: list[str] = field(default_factory=list)
    answered: dict[str, set[str]] = field(default_factory=dict)  # caller -> URLs with a 200
    server_errors: list[str] = field(default_factory=list)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)

    def check(self, label: str, response: HttpResponse) -> None:
        self.requests += 1
        caller = label.split(" ")[0]
        self.statuses[(caller, response.status_code)] += 1
        if response.status_code == 200:
            self.answered.setdefault(caller, set()).add(label.split(" ")[2])
        if MARKER.encode() in body_of(response):
            self.leaks.append(f"{label} -> {response.status_code}")
        if response.status_code >= 500:
            self.server_errors.append(f"{label} -> {response.status_code}")

    def assert_clean(self) -> None:
        assert not self.leaks, f"acme's data leaked in {len(self.leaks)} responses: {self.leaks}"
        assert not self.server_errors, f"5xx answers: {self.server_errors}"


def sweep(
    host: str, callers: list[Caller], urls: list[str], spoofs: dict[str, dict[str, str]]
) -> SweepResult:
    result = SweepResult()
    for url in urls:
        for caller in callers:
            for spoof_name, spoof in spoofs.items():
                response = caller.request("get", host, url, **spoof)
                result.check(f"{caller.name} GET {host}{url} [{spoof_name}]", response)
    return result


CROSS_TENANT_ON_GLOBEX = [
    "anonymous",
    "acme-token",
    "acme-marker-user-token",
    "acme-session",
    "globex-token",
    "globex-session",
]
ON_THE_PLATFORM = ["anonymous", "acme-token", "acme-session", "platform-session"]


@pytest.mark.slow  # about 1,500 requests
@pytest.mark.usefixtures("warm_acme_cache")
def test_no_url_on_globex_ever_shows_acme_data(callers, planted):
    result = sweep(
        "globex.localhost",
        [callers[name] for name in CROSS_TENANT_ON_GLOBEX],
        swept_urls(planted),
        SPOOFS,
    )

    result.assert_clean()
    # Not a sweep of 404s: globex's own users were served globex's pages and API.
    assert result.statuses[("globex-token", 200)] > 30
    assert result.statuses[("globex-session", 200)] > 60
    # Acme's credentials opened nothing on globex but the pages open to everyone.
    open_to_all = {"/healthz", "/readyz", "/metrics", "/login/", "/admin/login/"}
    open_to_all |= {"/api-auth/login/", "/api/schema/", "/api/docs/", "/api/redoc/"}
    assert {url.split("localhost", 1)[1] for url in result.answered["acme-token"]} <= open_to_all
    assert {url.split("localhost", 1)[1] for url in result.answered["acme-session"]} <= open_to_all


@pytest.mark.usefixtures("warm_acme_cache")
def test_the_platform_host_exposes_no_tenant_data(callers, planted):
    result = sweep(
        "localhost", [callers[name] for name in ON_THE_PLATFORM], swept_urls(planted), SPOOFS
    )

    result.assert_clean()
    assert result.statuses[("platform-session", 200)] > 20  # the platform admin was reached


@pytest.mark.usefixtures("warm_acme_cache")
@pytest.mark.parametrize(
    "host",
    [
        "nobody.localhost",
        "acme.localhost.evil.localhost",
        "acme-localhost",
        "acme.localhost@globex.localhost",
        "globex.localhost:80@acme.localhost",
        "globex.localhost, acme.localhost",
        "127.0.0.1",
        "[::1]",
    ],
)
def test_hosts_that_merely_mention_acme_reach_no_acme_data(callers, host):
    urls = ["/api/v1/issues/", "/api/v1/dashboard/activity/", "/admin/issues/issue/", "/"]
    others = [callers[name] for name in ("anonymous", "globex-token", "globex-session")]

    sweep(host, others, urls, SPOOFS).assert_clean()


@pytest.mark.usefixtures("warm_acme_cache")
def test_acme_callers_on_acme_see_the_marker_so_the_sweep_can_see_a_leak(callers, planted):
    ids = planted.ids
    urls = [
        "/api/v1/issues/",
        f"/api/v1/issues/{ids['issue']}/",
        f"/api/v1/applications/{ids['application']}/",
        "/api/v1/dashboard/activity/",
    ]
    pages = [f"/admin/issues/issue/{ids['issue']}/change/", "/admin/applications/application/"]

    for url in urls:
        response = callers["acme-token"].request("get", "acme.localhost", url)
        assert MARKER.encode() in response.content, url
    for url in [*urls, *pages]:
        page = callers["acme-session"].request("get", "acme.localhost", url)
        assert MARKER.encode() in page.content, url


# --- Writes and cache administration from other tenants ----------------------------------


def acme_cache_keys() -> set[bytes]:
    return set(get_redis_connection("default").scan_iter(match="cache:{acme}:*", count=1000))


def acme_state(acme: Tenant) -> dict[str, Any]:
    with tenant_context(acme):
        return {
            "issues": sorted(Issue.objects.values_list("pk", "title", "status", "priority")),
            "users": get_user_model().objects.count(),
        }


@pytest.mark.usefixtures("warm_acme_cache")
def test_writes_from_other_tenants_and_hosts_never_touch_acme(callers, planted, acme):
    before, keys_before = acme_state(acme), acme_cache_keys()
    ids = planted.ids
    targets = [
        ("post", "/api/v1/issues/"),
        ("post", "/api/v1/applications/"),
        ("post", f"/api/v1/applications/{ids['application']}/health-scores/"),
        ("put", f"/api/v1/issues/{ids['issue']}/"),
        ("patch", f"/api/v1/issues/{ids['issue']}/"),
        ("patch", f"/api/v1/changes/{ids['change']}/"),
        ("patch", f"/api/v1/requests/{ids['request']}/"),
        ("delete", f"/api/v1/issues/{ids['issue']}/"),
        ("delete", f"/api/v1/applications/{ids['application']}/"),
        ("post", "/api/admin/cache/invalidate"),
    ]
    body = {"title": "hijacked", "name": "hijacked", "score": 1, "status": "closed"}
    result = SweepResult()
    for host, names in (
        ("globex.localhost", ["acme-token", "acme-session", "anonymous"]),
        ("localhost", ["acme-token", "acme-session"]),
        ("nobody.localhost", ["acme-token"]),
    ):
        for name in names:
            for spoof_name, spoof in SPOOFS.items():
                for method, url in targets:
                    response = callers[name].request(
                        method, host, url, data=body, content_type="application/json", **spoof
                    )
                    result.check(f"{name} {method.upper()} {host}{url} [{spoof_name}]", response)
                    assert response.status_code in {401, 403, 404}, (name, host, url, response)

    result.assert_clean()
    assert acme_state(acme) == before
    assert acme_cache_keys() == keys_before


@pytest.mark.usefixtures("warm_acme_cache")
@pytest.mark.parametrize("category", [None, "issues", "changes", "requests", "health"])
def test_globex_invalidating_its_cache_leaves_acme_entries_alone(callers, acme_api, category):
    keys_before = acme_cache_keys()
    assert len(keys_before) > len(DASHBOARD_READS)

    for spoof in SPOOFS.values():
        response = callers["globex-token"].request(
            "post",
            "globex.localhost",
            "/api/admin/cache/invalidate",
            data={"category": category},
            content_type="application/json",
            **spoof,
        )
        assert response.status_code == 200
        assert response.json()["tenant"] == "globex"

    assert acme_cache_keys() == keys_before
    assert acme_api.get("/api/v1/dashboard/activity/")["X-Cache"] == "HIT"


@pytest.mark.usefixtures("warm_acme_cache")
def test_globex_cache_figures_never_list_acme_keys(callers, globex_api):
    globex_api.get("/api/v1/dashboard/overview/")
    globex_api.get("/api/v1/dashboard/overview/")  # a hit, so globex has a top key

    for caller in (callers["globex-token"], callers["globex-session"]):
        for spoof in SPOOFS.values():
            response = caller.request(
                "get", "globex.localhost", "/api/admin/cache/stats", HTTP_ACCEPT="*/*", **spoof
            )
            assert response.status_code == 200
            stats = response.json()
            assert stats["tenant"] == "globex"
            assert [k["key"] for k in stats["topKeys"]] == ["cache:{globex}:dashboard:overview"]
            assert b"acme" not in response.content
            page = caller.request("get", "globex.localhost", "/admin/cache/", **spoof)
            assert b"acme" not in page.content


@pytest.mark.usefixtures("warm_acme_cache")
def test_the_platform_cache_figures_need_a_platform_superuser(callers):
    for name in ("anonymous", "acme-token", "acme-session", "globex-token"):
        for spoof in SPOOFS.values():
            response = callers[name].request(
                "get", "localhost", "/api/admin/cache/stats", HTTP_ACCEPT="*/*", **spoof
            )
            assert response.status_code in {401, 403}, name
            assert b"acme" not in response.content

    figures = callers["platform-session"].request(
        "get", "localhost", "/api/admin/cache/stats", HTTP_ACCEPT="application/json"
    )
    assert figures.status_code == 200
    assert MARKER.encode() not in figures.content  # keys and counts, never values
