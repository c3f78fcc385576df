"""Platform-host requests between tenant requests on a real gunicorn's persistent database
connections: no tenant request ever fails or runs in another schema (issue #18.1).

A platform-host request whose host lookup queried (search_path public) used to leave its
connection believing it still had the previous tenant's search_path; that tenant's next
request there skipped `SET search_path` and ran in public. A host name's lookup queries
the first time a worker sees it, so every probe below uses a platform host name the server
has not looked up yet, between two requests of the same (already looked up) tenant.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests
from django.db import connection
from django_tenants.utils import get_public_schema_name, tenant_context

from issues.models import Issue
from tenants.models import Domain, Tenant
from tests.support.live import LiveTenant, serve_project

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

ISSUES_PAGE = "/api/v1/issues/?ordering=number&page_size=5"
FRESH_PLATFORM_NAMES = 30  # platform host names besides localhost and 127.0.0.1


@pytest.fixture(scope="module")
def platform_hosts(django_db_blocker) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """The platform's host names (all public schema): the two defaults and fresh ones."""
    fresh = [f"probe{i}.platform.localhost" for i in range(FRESH_PLATFORM_NAMES)]
    with django_db_blocker.unblock():
        public = Tenant.objects.get(schema_name=get_public_schema_name())
        Domain.objects.bulk_create(
            Domain(domain=name, tenant=public, is_primary=False) for name in fresh
        )
        try:
            yield ["localhost", "127.0.0.1", *fresh]
        finally:
            Domain.objects.filter(domain__in=fresh).delete()


@pytest.fixture(scope="module")
def first_pages(live_tenants, django_db_blocker) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """Each tenant's first page of issue titles, made different (the demo seed is not)."""
    pages = {}
    with django_db_blocker.unblock():
        for live in live_tenants:
            with tenant_context(live.tenant):
                Issue.objects.filter(number=1).update(title=f"Only {live.slug} has this one")
                titles = Issue.objects.order_by("number").values_list("title", flat=True)
                pages[live.slug] = list(titles[:5])
        connection.set_schema_to_public()
    return pages


class Client:
    """One HTTP session (kept alive by gthread workers), alternating a tenant and the platform."""

    def __init__(self, base: str, live: LiveTenant, expected: list[str]) -> None:
        self.base = base
        self.live = live
        self.expected = expected
        self.session = requests.Session()
        self.problems: list[str] = []
        self.tenant_requests = 0

    def tenant_page(self) -> None:
        self.tenant_requests += 1
        response = self.session.get(
            f"{self.base}{ISSUES_PAGE}",
            headers={"Host": self.live.host, "Authorization": f"Token {self.live.token}"},
            timeout=10,
        )
        if response.status_code != 200:
            self.problems.append(f"{self.live.slug}: {response.status_code} {response.text[:80]}")
        elif [row["title"] for row in response.json()["results"]] != self.expected:
            self.problems.append(f"{self.live.slug}: another schema's issues")

    def platform_probe(self, host: str) -> None:
        """What a load balancer's health probe does: GET / on the platform host, anonymous."""
        response = self.session.get(
            f"{self.base}/", headers={"Host": host}, timeout=10, allow_redirects=False
        )
        if (response.status_code, response.headers.get("Location")) != (302, "/admin/"):
            self.problems.append(f"{host}: {response.status_code} {response.text[:80]}")

    def interleave(self, hosts: list[str]) -> None:
        try:
            for host in hosts:
                self.tenant_page()
                self.platform_probe(host)
                self.tenant_page()
        except requests.RequestException as exc:  # a problem to report, not a lost thread
            self.problems.append(f"{self.live.slug}: {exc!r}")


def test_platform_host_requests_on_one_connection_never_make_a_tenant_request_fail(
    live_tenants, first_pages, shared_redis_url, platform_hosts
):

    # One worker with one thread: every request runs on the same database connection.
    with serve_project(shared_redis_url, workers=1, threads=1) as base:
        clients = [Client(base, live, first_pages[live.slug]) for live in live_tenants]
        for host in platform_hosts:
            for client in clients:
                client.interleave([host])

    assert [problem for client in clients for problem in client.problems] == []
    assert sum(client.tenant_requests for client in clients) == 4 * len(platform_hosts)


def test_platform_host_requests_among_busy_tenant_clients_on_2x4_gunicorn_never_fail(
    live_tenants, first_pages, shared_redis_url, platform_hosts
):

    with serve_project(shared_redis_url, workers=2, threads=4) as base:
        busy = [live_tenants[i % 2] for i in range(6)]  # six clients, three per tenant
        clients = [Client(base, live, first_pages[live.slug]) for live in busy]
        start = threading.Barrier(len(clients))

        def run(client: Client) -> None:
            start.wait()
            client.interleave(platform_hosts)

        threads = [threading.Thread(target=run, args=(client,)) for client in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert [problem for client in clients for problem in client.problems] == []
    assert sum(client.tenant_requests for client in clients) == 6 * 2 * len(platform_hosts)
