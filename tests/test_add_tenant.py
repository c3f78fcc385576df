"""manage.py add_tenant: a ready tenant (schema, domain, staff user), safe to run again."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import tenant_context
from rest_framework.test import APIClient

from firelater import roles
from issues.factories import IssueFactory
from issues.models import Issue
from tenants.models import Domain, Tenant


def add_tenant(**options: str) -> str:
    out = StringIO()
    call_command("add_tenant", stdout=out, **options)
    return out.getvalue()


NEWCO = {
    "slug": "newco",
    "name": "NewCo",
    "domain": "newco.localhost",
    "admin_user": "boss",
    "admin_password": "boss-pass-123",
}


def schema_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", [name])
        return cursor.fetchone() is not None


@pytest.fixture
def newco(db, forget_token_throttling):  # type: ignore[no-untyped-def]
    """NewCo, created by the command inside the test's transaction (rolled back after)."""
    output = add_tenant(**NEWCO)
    return Tenant.objects.get(slug="newco"), output


def test_add_tenant_creates_a_migrated_schema_a_domain_and_a_staff_user(newco):
    tenant, output = newco

    assert "Created tenant newco at newco.localhost" in output
    assert (tenant.name, tenant.schema_name, tenant.is_active) == ("NewCo", "newco", True)
    assert schema_exists("newco")
    assert list(tenant.domains.values_list("domain", "is_primary")) == [("newco.localhost", True)]
    with tenant_context(tenant):
        boss = get_user_model().objects.get(username="boss")
        assert boss.is_staff
        assert boss.check_password("boss-pass-123")
        assert IssueFactory(reporter=boss).display_number.startswith("ISS-")


def test_the_new_staff_user_can_get_a_token_and_use_the_api(newco):
    client = APIClient(HTTP_HOST="newco.localhost")

    response = client.post(
        "/api/v1/auth/token/",
        {"username": "boss", "password": "boss-pass-123"},
        format="json",
    )

    assert response.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get("/api/v1/issues/").json()["count"] == 0


def test_running_add_tenant_again_changes_nothing(newco):
    tenant, _ = newco
    with tenant_context(tenant):
        IssueFactory(reporter=get_user_model().objects.get(username="boss"))

    output = add_tenant(**NEWCO)

    assert "already existed" in output
    assert Tenant.objects.filter(slug="newco").count() == 1
    assert Domain.objects.filter(tenant=tenant).count() == 1
    with tenant_context(tenant):
        assert get_user_model().objects.filter(username="boss").count() == 1
        assert get_user_model().objects.get(username="boss").check_password("boss-pass-123")
        assert Issue.objects.count() == 1  # the tenant's data survives


def test_add_tenant_on_an_existing_tenant_restores_its_admin_password(newco):
    tenant, _ = newco
    with tenant_context(tenant):
        get_user_model().objects.filter(username="boss").update(is_staff=False)

    add_tenant(**{**NEWCO, "admin_password": "new-pass-456"})

    with tenant_context(tenant):
        boss = get_user_model().objects.get(username="boss")
        assert boss.is_staff
        assert roles.user_roles(boss) == [roles.TENANT_ADMIN]
        assert not boss.is_superuser  # a tenant admin by role, not a superuser
        assert boss.check_password("new-pass-456")


def test_a_domain_of_another_tenant_is_refused_with_a_one_line_reason(db):
    with pytest.raises(CommandError) as refused:
        add_tenant(slug="thief", name="Thief", domain="acme.localhost")

    message = str(refused.value)
    assert "\n" not in message
    assert "acme.localhost" in message
    assert "acme" in message
    assert not Tenant.objects.filter(slug="thief").exists()
    assert Domain.objects.get(domain="acme.localhost").tenant.slug == "acme"


@pytest.mark.parametrize(
    "slug",
    ["Acme2", "1acme", "public", "pg_x", "ac-me", "", "a" * 49, "information_schema", "a b"],
)
def test_a_bad_slug_is_refused(db, slug):
    with pytest.raises(CommandError) as refused:
        add_tenant(slug=slug, name="Bad", domain="bad.localhost")

    assert "\n" not in str(refused.value)
    assert "slug" in str(refused.value).lower()
    assert not Domain.objects.filter(domain="bad.localhost").exists()


@pytest.mark.parametrize(
    "domain", ["", "bad domain", "x.localhost-", "acme.localhost:8000", "x.localhost/../"]
)
def test_a_bad_domain_is_refused(db, domain):
    with pytest.raises(CommandError, match="Invalid domain"):
        add_tenant(slug="okslug", name="Ok", domain=domain)

    assert not Tenant.objects.filter(slug="okslug").exists()


def test_an_admin_user_without_a_password_is_refused(db):
    with pytest.raises(CommandError, match="both"):
        add_tenant(slug="okslug", name="Ok", domain="ok.localhost", admin_user="boss")


def test_a_domain_is_stored_trimmed_and_in_lower_case_and_answers(db, forget_token_throttling):
    output = add_tenant(**{**NEWCO, "domain": "  NewCo.LocalHost. "})

    assert "at newco.localhost" in output
    assert list(Domain.objects.filter(tenant__slug="newco").values_list("domain", flat=True)) == [
        "newco.localhost"
    ]
    for host in ("newco.localhost", "NewCo.LocalHost"):
        response = APIClient(HTTP_HOST=host).post(
            "/api/v1/auth/token/", {"username": "boss", "password": "boss-pass-123"}
        )
        assert response.status_code == 200, (host, response.content)


def test_an_international_domain_is_stored_as_the_ascii_name_browsers_send(db):
    add_tenant(slug="buecher", name="Bücher", domain="Bücher.localhost")

    assert Domain.objects.get(tenant__slug="buecher").domain == "xn--bcher-kva.localhost"
    # A 401 (no users yet), not an unknown host's 404.
    assert APIClient(HTTP_HOST="xn--bcher-kva.localhost").get("/api/v1/issues/").status_code == 401


@pytest.mark.parametrize("domain", ["www.newco.localhost", "WWW.NewCo.localhost"])
def test_a_domain_with_a_leading_www_is_refused_naming_the_one_to_register(db, domain):
    # The router drops a leading "www." from every request's host: stored with it, the
    # tenant could never be reached.
    with pytest.raises(CommandError) as refused:
        add_tenant(**{**NEWCO, "domain": domain})

    message = str(refused.value)
    assert "\n" not in message
    assert "www." in message
    assert "'newco.localhost'" in message
    assert not Tenant.objects.filter(slug="newco").exists()


def test_another_tenants_domain_in_other_letter_case_is_still_refused(db):
    with pytest.raises(CommandError, match="already belongs to tenant 'acme'"):
        add_tenant(slug="thief", name="Thief", domain="ACME.Localhost")

    assert not Tenant.objects.filter(slug="thief").exists()
