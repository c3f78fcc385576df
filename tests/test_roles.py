"""Roles per tenant (#19): the groups, "their own" records, change approval, the admin per
role and the dashboard gated by role (the API matrix is tests/security/test_roles.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django_redis import get_redis_connection
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

import firelater.urls  # noqa: F401  (configures the tenant admin site, as every request does)
from changes.factories import ChangeFactory
from changes.models import Change
from dashboard.entries import DASHBOARD_URLS
from firelater import roles
from firelater.factories import UserFactory
from issues.factories import IssueFactory
from requests_app.factories import RequestFactory
from tenants.models import Tenant
from tests.utils import json_error

PASSWORD = "role-pass-123"


def _api(tenant: Tenant, user: Any) -> APIClient:
    with tenant_context(tenant):
        token = Token.objects.get_or_create(user=user)[0]
    client = APIClient(HTTP_HOST=f"{tenant.slug}.localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def _browser(tenant: Tenant, user: Any) -> Client:
    client = Client(HTTP_HOST=f"{tenant.slug}.localhost")
    with tenant_context(tenant):
        assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def people(in_acme: Tenant) -> dict[str, Any]:
    """One acme user per role."""
    return {
        role: UserFactory(username=f"{role.replace(' ', '')}-1", password=PASSWORD, roles=[role])
        for role in roles.ROLES
    }


# --- The groups ----------------------------------------------------------------------------


def test_every_tenant_has_the_four_roles_with_their_declared_permissions(acme, globex):
    for tenant in (acme, globex):
        with tenant_context(tenant):
            available = list(Permission.objects.select_related("content_type"))
            for role in roles.ROLES:
                group = Group.objects.get(name=role)
                assert set(group.permissions.all()) == set(roles.role_permissions(role, available))


def test_every_permission_a_role_names_exists(in_acme):
    """A misspelt codename would silently grant nothing."""
    available = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.select_related("content_type")
    }
    named = {p for patterns in roles.ROLE_PERMISSIONS.values() for p in patterns if "*" not in p}
    assert named <= available, named - available
    for role in roles.ROLES:
        assert roles.role_permissions(role, Permission.objects.select_related("content_type"))


def test_the_roles_nest_requester_within_agent_within_change_manager_within_tenant_admin(in_acme):
    held = {role: set(Group.objects.get(name=role).permissions.all()) for role in roles.ROLES}
    assert held[roles.AGENT] < held[roles.CHANGE_MANAGER] < held[roles.TENANT_ADMIN]
    assert held[roles.REQUESTER] < held[roles.AGENT]
    assert held[roles.TENANT_ADMIN] == set(Permission.objects.all())


def test_ensuring_the_roles_again_writes_nothing_and_restores_a_tampered_role(
    in_acme, django_assert_max_num_queries
):
    agent = Group.objects.get(name=roles.AGENT)
    before = set(agent.permissions.all())
    agent.permissions.add(Permission.objects.get(codename="delete_issue"))  # tampered

    roles.roles_ensure()
    assert set(agent.permissions.all()) == before
    with django_assert_max_num_queries(20) as queries:  # reads only: nothing to change
        roles.roles_ensure()
    assert not [q for q in queries.captured_queries if q["sql"].startswith(("INSERT", "DELETE"))]


def test_migrating_a_tenant_that_lost_its_roles_recreates_them(acme):
    from django.core.management import call_command

    with tenant_context(acme):
        Group.objects.filter(name__in=roles.ROLES).delete()
    call_command("migrate_schemas", schema_name="acme", verbosity=0)
    with tenant_context(acme):
        assert set(Group.objects.values_list("name", flat=True)) >= set(roles.ROLES)


def test_an_unknown_role_is_refused(in_acme):
    with pytest.raises(ValueError, match="Unknown role"):
        roles.user_roles_set(user=UserFactory(), roles=["superhero"])


def test_staff_follows_from_the_roles(people):
    assert not people[roles.REQUESTER].is_staff
    assert all(people[role].is_staff for role in roles.STAFF_ROLES)
    assert not any(user.is_superuser for user in people.values())


# --- Their own ---------------------------------------------------------------------------


def test_a_requester_lists_and_reads_only_the_issues_and_requests_they_filed(acme, people):
    requester = people[roles.REQUESTER]
    other = people[roles.AGENT]
    mine = IssueFactory(reporter=requester, title="mine")
    theirs = IssueFactory(reporter=other, title="theirs")
    my_request = RequestFactory(requester=requester)
    their_request = RequestFactory(requester=other)
    client = _api(acme, requester)

    assert [i["id"] for i in client.get("/api/v1/issues/").json()["results"]] == [mine.pk]
    assert [r["id"] for r in client.get("/api/v1/requests/").json()["results"]] == [my_request.pk]
    assert client.get(f"/api/v1/issues/{mine.pk}/").status_code == 200
    json_error(client.get(f"/api/v1/issues/{theirs.pk}/"), 404)  # not even its existence
    json_error(client.get(f"/api/v1/requests/{their_request.pk}/"), 404)
    agent_sees = {i["id"] for i in _api(acme, other).get("/api/v1/issues/").json()["results"]}
    assert {mine.pk, theirs.pk} <= agent_sees


def test_a_requesters_new_issue_is_theirs_and_they_see_it(acme, people):
    client = _api(acme, people[roles.REQUESTER])
    created = client.post("/api/v1/issues/", {"title": "Screen flickers"}, format="json")
    assert created.status_code == 201
    assert created.json()["reporter"]["username"] == people[roles.REQUESTER].username
    assert client.get(f"/api/v1/issues/{created.json()['id']}/").status_code == 200


def test_a_requester_files_records_but_does_not_set_what_agents_decide(acme, people):
    """Status, assignee and SLA are the agents': a requester's body cannot resolve its
    own issue, hand it to someone or push its SLA out; an agent's can."""
    agent = people[roles.AGENT]
    far = "2030-01-01T00:00:00Z"
    chosen = {"status": "resolved", "assignee": agent.pk, "slaDueAt": far}
    filed = _api(acme, people[roles.REQUESTER]).post(
        "/api/v1/issues/", {"title": "Printer on fire", "priority": "high", **chosen}, format="json"
    )
    assert filed.status_code == 201, filed.content
    body = filed.json()
    assert (body["status"], body["assignee"], body["priority"]) == ("new", None, "high")
    assert body["slaDueAt"] != far  # the priority's SLA, not the filer's
    request = _api(acme, people[roles.REQUESTER]).post(
        "/api/v1/requests/", {"title": "New laptop", "status": "fulfilled"}, format="json"
    )
    assert request.status_code == 201, request.content
    assert request.json()["status"] == "submitted"

    worked = _api(acme, agent).post(
        "/api/v1/issues/", {"title": "Disk full", **chosen}, format="json"
    )
    assert worked.status_code == 201, worked.content
    assert (worked.json()["status"], worked.json()["assignee"]) == ("resolved", agent.pk)
    assert worked.json()["slaDueAt"] == far


# --- Change approval -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status", "allowed"),
    [
        (roles.AGENT, "submitted", True),
        (roles.AGENT, "approved", False),
        (roles.AGENT, "scheduled", False),
        (roles.CHANGE_MANAGER, "approved", True),
        (roles.CHANGE_MANAGER, "scheduled", True),
        (roles.TENANT_ADMIN, "approved", True),
    ],
)
def test_only_change_managers_move_a_change_into_approved_or_scheduled(
    acme, people, role, status, allowed
):
    change = ChangeFactory(status="submitted" if status != "submitted" else "draft")
    response = _api(acme, people[role]).patch(
        f"/api/v1/changes/{change.pk}/", {"status": status}, format="json"
    )
    change.refresh_from_db()
    if allowed:
        assert response.status_code == 200, response.content
        assert change.status == status
    else:
        body = json_error(response, 403)
        assert body["requiredPermissions"] == ["changes.approve_change"]
        assert "change managers" in body["detail"]
        assert change.status == "submitted"


def test_an_agent_may_not_create_a_change_already_approved_nor_reschedule_one(acme, people):
    client = _api(acme, people[roles.AGENT])
    json_error(
        client.post("/api/v1/changes/", {"title": "x", "status": "approved"}, format="json"), 403
    )
    scheduled = ChangeFactory(status="scheduled")
    json_error(
        client.patch(
            f"/api/v1/changes/{scheduled.pk}/",
            {"scheduledEnd": "2030-01-02T00:00:00Z", "scheduledStart": "2030-01-01T00:00:00Z"},
            format="json",
        ),
        403,
    )
    # Its title and the window of a draft are the agent's to change.
    assert (
        client.patch(f"/api/v1/changes/{scheduled.pk}/", {"title": "y"}, format="json").status_code
        == 200
    )
    assert client.post("/api/v1/changes/", {"title": "draft"}, format="json").status_code == 201


# --- The admin per role ----------------------------------------------------------------------


def _admin_models(client: Client) -> dict[str, set[str]]:
    """The admin index's models and, for each, what the user may do with it."""
    response = client.get("/admin/")
    assert response.status_code == 200
    return {
        f"{app['app_label']}.{model['object_name'].lower()}": {
            perm for perm, granted in model["perms"].items() if granted
        }
        for app in response.context["app_list"]
        for model in app["models"]
    }


def test_a_requester_has_no_admin(acme, people):
    response = _browser(acme, people[roles.REQUESTER]).get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_an_agent_sees_in_the_admin_only_what_the_role_may_change(acme, people):
    models = _admin_models(_browser(acme, people[roles.AGENT]))
    assert models["issues.issue"] == {"add", "change", "view"}
    assert models["requests_app.request"] == {"add", "change", "view"}
    assert models["changes.change"] == {"add", "change", "view"}
    assert models["applications.application"] == {"view"}
    assert "auth.user" not in models
    assert "auth.group" not in models
    assert "authtoken.tokenproxy" not in models


def test_a_tenant_admin_sees_every_model_with_every_permission_and_the_cache_page(acme, people):
    client = _browser(acme, people[roles.TENANT_ADMIN])
    models = _admin_models(client)
    assert models["auth.user"] == {"add", "change", "delete", "view"}
    assert models["issues.issue"] == {"add", "change", "delete", "view"}
    assert b'href="/admin/cache/"' in client.get("/admin/").content
    assert client.get("/admin/cache/").status_code == 200


@pytest.mark.parametrize("role", [roles.AGENT, roles.CHANGE_MANAGER])
def test_the_cache_page_is_for_tenant_admins_only(acme, people, role):
    client = _browser(acme, people[role])
    assert b'href="/admin/cache/"' not in client.get("/admin/").content
    body = json_error(client.get("/admin/cache/"), 403)
    assert "cache" in body["detail"]
    json_error(client.post("/admin/cache/", {"category": "all"}), 403)


def test_an_agent_may_not_delete_in_the_admin(acme, people):
    issue = IssueFactory(reporter=people[roles.AGENT])
    client = _browser(acme, people[roles.AGENT])
    assert client.get(f"/admin/issues/issue/{issue.pk}/delete/").status_code == 403
    assert client.get("/admin/auth/user/").status_code == 403


def _action_names(client: Client, url: str) -> set[str]:
    form = client.get(url).context["action_form"]
    return {name for name, _label in form.fields["action"].choices if name}


def test_the_approval_actions_and_form_are_the_change_managers(acme, people):
    agent = _browser(acme, people[roles.AGENT])
    manager = _browser(acme, people[roles.CHANGE_MANAGER])
    assert "mark_approved" not in _action_names(agent, "/admin/changes/change/")
    assert "mark_scheduled" not in _action_names(agent, "/admin/changes/change/")
    assert "mark_submitted" in _action_names(agent, "/admin/changes/change/")
    assert {"mark_approved", "mark_scheduled"} <= _action_names(manager, "/admin/changes/change/")

    change = ChangeFactory(status="submitted", title="Upgrade the database")
    form = {
        "title": change.title,
        "description": "",
        "status": "approved",
        "risk": change.risk,
        "type": change.type,
        "scheduled_start_0": "",
        "scheduled_start_1": "",
        "scheduled_end_0": "",
        "scheduled_end_1": "",
    }
    url = f"/admin/changes/change/{change.pk}/change/"
    refused = agent.post(url, form)
    assert refused.status_code == 200  # the form again, with the reason
    assert b"for change managers" in refused.content
    change.refresh_from_db()
    assert change.status == "submitted"
    assert manager.post(url, form).status_code == 302
    change.refresh_from_db()
    assert change.status == Change.Status.APPROVED


# --- The dashboard: one value per tenant, gated by role --------------------------------------


def _tenant_keys(slug: str) -> set[bytes]:
    return set(get_redis_connection("default").scan_iter(f"cache:{{{slug}}}:*"))


@pytest.mark.usefixtures("clean_cache")
def test_a_requester_gets_403_from_every_dashboard_entry_and_leaves_no_cache_entry(acme, people):
    client = _api(acme, people[roles.REQUESTER])
    for url in DASHBOARD_URLS:
        body = json_error(client.get(url), 403)
        assert body["requiredPermissions"] == ["dashboard.view_dashboard"]
    page = _browser(acme, people[roles.REQUESTER]).get("/")  # where a login lands
    assert page.status_code == 403
    assert page["Content-Type"].startswith("text/html")
    assert "Your role does not include the dashboard" in page.content.decode()
    assert "Content-Security-Policy" in page
    assert _tenant_keys("acme") == set()  # nothing computed, nothing stored, nothing counted


@pytest.mark.usefixtures("clean_cache")
def test_no_role_change_makes_a_users_own_dashboard_entry_appear(acme, people):
    """The dashboard has no per-user entry to leak: every role that may read it reads the
    tenant's one value, and a user moved out of such a role reads nothing at all."""
    agent, admin = people[roles.AGENT], people[roles.TENANT_ADMIN]
    first = _api(acme, agent).get("/api/v1/dashboard/overview/")
    assert first["X-Cache"] == "MISS"
    keys = _tenant_keys("acme")
    assert not [k for k in keys if str(agent.pk).encode() in k.split(b":")[-1]]

    second = _api(acme, admin).get("/api/v1/dashboard/overview/")
    assert second["X-Cache"] == "HIT"
    assert second.content == first.content

    with tenant_context(acme):
        roles.user_roles_set(user=agent, roles=[roles.REQUESTER])  # demoted
        assert not Token.objects.filter(user=agent).exists()  # its token ended with the role
    json_error(_api(acme, agent).get("/api/v1/dashboard/overview/"), 403)
    with tenant_context(acme):
        roles.user_roles_set(user=people[roles.REQUESTER], roles=[roles.AGENT])  # promoted
    promoted = _api(acme, people[roles.REQUESTER]).get("/api/v1/dashboard/overview/")
    assert promoted["X-Cache"] == "HIT"
    assert promoted.content == first.content
    assert _tenant_keys("acme") == keys  # the same entries, none per user
