"""Roles x endpoints x methods: the status each role gets from every API endpoint (#19).

The endpoints are read from the tenant URLconf (every DRF view and each of its methods),
so an endpoint added without a row in EXPECTED fails
`test_every_api_endpoint_and_method_has_an_expected_status_per_role`. Each cell is then
asked for real, as that role, with a body the endpoint accepts: an allowed cell gets its
success status, a refused one a JSON 403 that names the permission it lacks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from applications.factories import ApplicationFactory
from changes.factories import ChangeFactory
from cloud.factories import CloudCostReportFactory
from firelater import roles
from firelater.factories import UserFactory
from issues.factories import IssueFactory
from requests_app.factories import CatalogItemFactory, RequestFactory
from tests.utils import json_error

PASSWORD = "role-pass-123"
ANONYMOUS = "anonymous"
COLUMNS = (ANONYMOUS, roles.REQUESTER, roles.AGENT, roles.CHANGE_MANAGER, roles.TENANT_ADMIN)


def row(anonymous: int, requester: int, agent: int, manager: int, admin: int) -> dict[str, int]:
    return dict(zip(COLUMNS, (anonymous, requester, agent, manager, admin), strict=True))


# (URL name, method) -> the status each role gets. Issues and requests are the requester's
# own (their detail is theirs to read; others' are 404, tested below).
EXPECTED: dict[tuple[str, str], dict[str, int]] = {
    ("issue-list", "GET"): row(401, 200, 200, 200, 200),
    ("issue-list", "POST"): row(401, 201, 201, 201, 201),
    ("issue-detail", "GET"): row(401, 200, 200, 200, 200),
    ("issue-detail", "PUT"): row(401, 403, 200, 200, 200),
    ("issue-detail", "PATCH"): row(401, 403, 200, 200, 200),
    ("issue-detail", "DELETE"): row(401, 403, 403, 403, 204),
    ("request-list", "GET"): row(401, 200, 200, 200, 200),
    ("request-list", "POST"): row(401, 201, 201, 201, 201),
    ("request-detail", "GET"): row(401, 200, 200, 200, 200),
    ("request-detail", "PUT"): row(401, 403, 200, 200, 200),
    ("request-detail", "PATCH"): row(401, 403, 200, 200, 200),
    ("request-detail", "DELETE"): row(401, 403, 403, 403, 204),
    ("change-list", "GET"): row(401, 403, 200, 200, 200),
    ("change-list", "POST"): row(401, 403, 201, 201, 201),
    ("change-detail", "GET"): row(401, 403, 200, 200, 200),
    ("change-detail", "PUT"): row(401, 403, 200, 200, 200),
    ("change-detail", "PATCH"): row(401, 403, 200, 200, 200),
    ("change-detail", "DELETE"): row(401, 403, 403, 403, 204),
    ("application-list", "GET"): row(401, 403, 200, 200, 200),
    ("application-list", "POST"): row(401, 403, 403, 403, 201),
    ("application-detail", "GET"): row(401, 403, 200, 200, 200),
    ("application-detail", "PUT"): row(401, 403, 403, 403, 200),
    ("application-detail", "PATCH"): row(401, 403, 403, 403, 200),
    ("application-detail", "DELETE"): row(401, 403, 403, 403, 204),
    ("application-health-scores", "GET"): row(401, 403, 200, 200, 200),
    ("application-health-scores", "POST"): row(401, 403, 403, 403, 201),
    # The catalog: everyone who files requests reads it; the tenant admin keeps it.
    ("catalog-item-list", "GET"): row(401, 200, 200, 200, 200),
    ("catalog-item-list", "POST"): row(401, 403, 403, 403, 201),
    ("catalog-item-detail", "GET"): row(401, 200, 200, 200, 200),
    ("catalog-item-detail", "PUT"): row(401, 403, 403, 403, 200),
    ("catalog-item-detail", "PATCH"): row(401, 403, 403, 403, 200),
    ("catalog-item-detail", "DELETE"): row(401, 403, 403, 403, 204),
    # Cloud costs: agents and above read them; the tenant admin records them.
    ("cloud-cost-list", "GET"): row(401, 403, 200, 200, 200),
    ("cloud-cost-list", "POST"): row(401, 403, 403, 403, 201),
    ("cloud-cost-detail", "GET"): row(401, 403, 200, 200, 200),
    ("cloud-cost-detail", "PUT"): row(401, 403, 403, 403, 200),
    ("cloud-cost-detail", "PATCH"): row(401, 403, 403, 403, 200),
    ("cloud-cost-detail", "DELETE"): row(401, 403, 403, 403, 204),
    ("cache-stats", "GET"): row(401, 403, 403, 403, 200),
    ("cache-invalidate", "POST"): row(401, 403, 403, 403, 200),
    ("api-token", "POST"): row(200, 200, 200, 200, 200),  # credentials in the body
    ("api-token", "DELETE"): row(401, 204, 204, 204, 204),
    ("api-root", "GET"): row(401, 200, 200, 200, 200),
    ("schema", "GET"): row(200, 200, 200, 200, 200),  # the API's description is public
    ("api-docs", "GET"): row(200, 200, 200, 200, 200),
    ("api-redoc", "GET"): row(200, 200, 200, 200, 200),
}
# Every dashboard entry (dashboard.entries: one value per tenant), however many there are:
# agents and above.
DASHBOARD = row(401, 403, 200, 200, 200)


def expected(name: str, method: str) -> dict[str, int] | None:
    if name.startswith("dashboard-") and method == "GET":
        return DASHBOARD
    return EXPECTED.get((name, method))


def _walk(patterns: list[Any]) -> Iterator[URLPattern]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns)
        else:
            yield pattern


def api_endpoints() -> list[tuple[str, str]]:
    """(URL name, method) of every DRF view of the tenant URLconf (format suffixes aside)."""
    cells = set()
    for pattern in _walk(get_resolver("firelater.urls").url_patterns):
        view = getattr(pattern.callback, "cls", None)
        if view is None or "format" in pattern.pattern.regex.groupindex:
            continue
        actions = getattr(pattern.callback, "actions", None)
        if actions is not None:
            methods = set(actions)
        else:
            methods = {m for m in view.http_method_names if hasattr(view, m)}
        for method in methods - {"options", "head"}:
            cells.add((pattern.name, method.upper()))
    return sorted(cells)


ENDPOINTS = api_endpoints()


def test_every_api_endpoint_and_method_has_an_expected_status_per_role() -> None:
    missing = [cell for cell in ENDPOINTS if expected(*cell) is None]
    assert not missing, f"endpoints without a row in EXPECTED (add one per role): {missing}"
    stale = sorted(set(EXPECTED) - set(ENDPOINTS))
    assert not stale, f"rows of EXPECTED for endpoints that do not exist: {stale}"


@dataclass
class World:
    users: dict[str, Any]
    tokens: dict[str, str]
    ids: dict[str, int]


@pytest.fixture
def world(acme: Any) -> World:
    with tenant_context(acme):
        users = {
            role: UserFactory(
                username=f"as-{role.replace(' ', '-')}", password=PASSWORD, roles=[role]
            )
            for role in roles.ROLES
        }
        tokens = {role: Token.objects.create(user=user).key for role, user in users.items()}
        requester = users[roles.REQUESTER]
        application = ApplicationFactory()
        ids = {
            "issue": IssueFactory(reporter=requester).pk,
            "request": RequestFactory(requester=requester).pk,
            "change": ChangeFactory(status="draft").pk,
            "application": application.pk,
            "catalog-item": CatalogItemFactory().pk,
            "cloud-cost": CloudCostReportFactory().pk,
        }
    return World(users, tokens, ids)


# URL name prefix -> (base path, the body of a create or replace for `role`, a patch).
OTHER_RESOURCES: dict[str, tuple[str, Any, dict[str, Any]]] = {
    "catalog-item": (
        "/api/v1/catalog-items/",
        lambda role: {"name": f"Item for {role}", "category": "Hardware"},
        {"active": False},
    ),
    "cloud-cost": (
        "/api/v1/cloud-costs/",
        lambda role: {
            "provider": "aws",
            "account": f"account of {role}",
            "periodStart": "2026-01-01",
            "totalCost": "10.00",
        },
        {"totalCost": "12.50"},
    ),
}


BODIES: dict[str, dict[str, Any]] = {
    "issue": {"title": "Printer on fire", "priority": "high"},
    "request": {"title": "A new laptop", "priority": "medium"},
    "change": {"title": "Patch the VPN", "risk": "low", "type": "normal"},
    "application": {"name": "Ledger", "tier": 2, "owner": "Finance"},
}


def _path_and_body(name: str, method: str, world: World, role: str) -> tuple[str, Any]:
    resource, _, kind = name.partition("-")
    if name.startswith("dashboard-"):
        return reverse(name), None
    for prefix, (base, body_for, patch) in OTHER_RESOURCES.items():
        if name.startswith(f"{prefix}-"):
            if name.endswith("-list"):
                return base, body_for(role)
            body = patch if method == "PATCH" else body_for(role)
            return f"{base}{world.ids[prefix]}/", body
    if resource in BODIES:
        pk = world.ids[resource]
        base = f"/api/v1/{resource}s/"
        if kind == "list":
            return base, BODIES[resource]
        if kind == "health-scores":
            return f"{base}{pk}/health-scores/", {"score": 77}
        body = {"title": "Renamed"} if method == "PATCH" else BODIES[resource]
        if resource == "application" and method == "PATCH":
            body = {"owner": "Platform"}
        return f"{base}{pk}/", body
    return {
        "cache-stats": ("/api/admin/cache/stats", None),
        "cache-invalidate": ("/api/admin/cache/invalidate", {"category": "issues"}),
        "api-token": (
            "/api/v1/auth/token/",
            {"username": world.users[role].username, "password": PASSWORD}
            if role != ANONYMOUS
            else {"username": world.users[roles.REQUESTER].username, "password": PASSWORD},
        ),
        "api-root": ("/api/v1/", None),
        "schema": ("/api/schema/", None),
        "api-docs": ("/api/docs/", None),
        "api-redoc": ("/api/redoc/", None),
    }[name]


CELLS = [
    pytest.param(name, method, role, id=f"{name}-{method}-{role.replace(' ', '_')}")
    for name, method in ENDPOINTS
    if expected(name, method) is not None
    for role in COLUMNS
]


@pytest.mark.usefixtures("forget_token_throttling")
@pytest.mark.parametrize(("name", "method", "role"), CELLS)
def test_each_role_gets_its_expected_status_from_each_endpoint(
    world: World, name: str, method: str, role: str
) -> None:
    client = APIClient(HTTP_HOST="acme.localhost")
    logging_in = (name, method) == ("api-token", "POST")  # the credentials are the body
    if role != ANONYMOUS and not logging_in:
        client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[role]}")
    path, body = _path_and_body(name, method, world, role)
    if method in ("GET", "DELETE"):
        response = getattr(client, method.lower())(path)
    else:
        response = getattr(client, method.lower())(path, body, format="json")

    want = expected(name, method)[role]  # type: ignore[index]
    assert response.status_code == want, (role, method, path, response.content[:300])
    if want == 403:
        refusal = json_error(response, 403)
        assert "needs" in refusal["detail"], refusal  # says which permission is missing
        assert refusal.get("requiredPermissions"), refusal
    if want == 401:
        json_error(response, 401)
