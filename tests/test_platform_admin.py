"""The platform admin on the public host: tenants and domains, for platform superusers only."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django_tenants.utils import tenant_context

from firelater import roles
from tenants.models import Domain, Tenant
from tests.conftest import ADMIN_PASSWORD
from tests.utils import json_error

PLATFORM_PASSWORD = "platform-pass-1"


@pytest.fixture
def platform_browser(db) -> Client:  # type: ignore[no-untyped-def]
    """Logged in as a superuser of the public schema (the platform's own accounts)."""
    get_user_model().objects.create_superuser("platform", "platform@example.com", PLATFORM_PASSWORD)
    client = Client(HTTP_HOST="localhost")
    assert client.login(username="platform", password=PLATFORM_PASSWORD)
    return client


def tenant_form(slug: str, domain: str) -> dict[str, str]:
    return {
        "slug": slug,
        "name": slug.title(),
        "is_active": "on",
        "domains-TOTAL_FORMS": "1",
        "domains-INITIAL_FORMS": "0",
        "domains-MIN_NUM_FORMS": "0",
        "domains-MAX_NUM_FORMS": "1000",
        "domains-0-domain": domain,
        "domains-0-is_primary": "on",
    }


def test_the_public_host_serves_the_platform_admin(platform_browser):
    index = platform_browser.get("/admin/")

    assert index.status_code == 200
    assert b"FireLater platform" in index.content
    assert b"/admin/tenants/tenant/" in index.content


def test_the_platform_admin_lists_the_tenants_with_their_domains(platform_browser):
    response = platform_browser.get("/admin/tenants/tenant/")

    assert response.status_code == 200
    assert b"acme.localhost" in response.content
    assert b"globex.localhost" in response.content
    assert platform_browser.get("/admin/tenants/domain/").status_code == 200


def test_a_platform_login_without_next_lands_on_the_platform_admin_not_a_404(db):
    get_user_model().objects.create_superuser("platform", "platform@example.com", PLATFORM_PASSWORD)
    client = Client(HTTP_HOST="localhost")

    response = client.post("/admin/login/", {"username": "platform", "password": PLATFORM_PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/")
    assert (home.status_code, home["Location"]) == (302, "/admin/")
    assert b"FireLater platform" in client.get("/admin/").content


def test_a_tenant_admin_cannot_log_in_to_the_platform_admin(db):
    client = Client(HTTP_HOST="localhost")

    response = client.post(
        "/admin/login/?next=/admin/", {"username": "admin", "password": ADMIN_PASSWORD}
    )

    assert response.status_code == 200  # the login form again
    assert client.get("/admin/").status_code == 302


def test_a_platform_staff_user_who_is_not_superuser_is_kept_out(db):
    get_user_model().objects.create_user("helper", password="helper-pass-1", is_staff=True)
    client = Client(HTTP_HOST="localhost")
    client.login(username="helper", password="helper-pass-1")

    response = client.get("/admin/tenants/tenant/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_platform_admin_creates_a_tenant_with_its_schema_and_domain(platform_browser):
    response = platform_browser.post(
        "/admin/tenants/tenant/add/", tenant_form("viaadmin", "viaadmin.localhost")
    )

    assert response.status_code == 302
    tenant = Tenant.objects.get(slug="viaadmin")
    assert tenant.schema_name == "viaadmin"
    assert list(tenant.domains.values_list("domain", flat=True)) == ["viaadmin.localhost"]
    with tenant_context(tenant):  # migrated: the tenant's tables exist, and its roles
        assert get_user_model().objects.count() == 0
        assert sorted(Group.objects.values_list("name", flat=True)) == sorted(roles.ROLES)
    # The new host answers (a 401: it has no users yet), it is not an unknown host.
    json_error(Client(HTTP_HOST="viaadmin.localhost").get("/api/v1/issues/"), 401)


def test_the_platform_admin_creates_a_ready_tenant_with_a_staff_user(platform_browser):
    form = {
        **tenant_form("withstaff", "withstaff.localhost"),
        "admin_username": "boss",
        "admin_password": "boss-pass-123",
    }
    assert platform_browser.post("/admin/tenants/tenant/add/", form).status_code == 302
    tenant = Tenant.objects.get(slug="withstaff")
    with tenant_context(tenant):
        user = get_user_model().objects.get(username="boss")
        assert user.is_staff
        assert roles.user_roles(user) == [roles.TENANT_ADMIN]
        assert user.check_password("boss-pass-123")
    response = Client(HTTP_HOST="withstaff.localhost").post(
        "/api/v1/auth/token/", {"username": "boss", "password": "boss-pass-123"}
    )
    assert response.status_code == 200
    assert response.json()["token"]


def test_a_staff_username_without_a_password_is_refused(platform_browser):
    form = {**tenant_form("halfstaff", "halfstaff.localhost"), "admin_username": "boss"}
    response = platform_browser.post("/admin/tenants/tenant/add/", form)
    assert response.status_code == 200
    assert not Tenant.objects.filter(slug="halfstaff").exists()


def test_the_platform_admin_refuses_a_bad_slug(platform_browser):
    response = platform_browser.post(
        "/admin/tenants/tenant/add/", tenant_form("Bad-Slug", "bad.localhost")
    )

    assert response.status_code == 200
    assert "slug" in response.context["adminform"].form.errors
    assert not Tenant.objects.filter(name="Bad-Slug").exists()


def test_deactivating_a_tenant_in_the_platform_admin_closes_its_host(platform_browser, acme_api):
    acme = Tenant.objects.get(slug="acme")
    assert acme_api.get("/api/v1/issues/").status_code == 200

    platform_browser.post(
        "/admin/tenants/tenant/", {"action": "deactivate", "_selected_action": [acme.pk]}
    )

    acme.refresh_from_db()
    assert not acme.is_active
    assert json_error(acme_api.get("/api/v1/issues/"), 404) == {"detail": "Unknown host."}


# --- Domains: normalised on save, validated in the form ------------------------------------


def test_a_mixed_case_domain_typed_in_the_admin_is_stored_in_lower_case_and_routes(
    platform_browser,
):
    response = platform_browser.post(
        "/admin/tenants/tenant/add/", tenant_form("mixed", "  Mixed.LocalHost ")
    )

    assert response.status_code == 302
    assert Domain.objects.get(tenant__slug="mixed").domain == "mixed.localhost"
    json_error(Client(HTTP_HOST="mixed.localhost").get("/api/v1/issues/"), 401)


def test_a_www_domain_typed_in_the_admin_is_refused_with_the_reason(platform_browser):
    response = platform_browser.post(
        "/admin/tenants/tenant/add/", tenant_form("wwwco", "www.wwwco.localhost")
    )

    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.errors
    assert "register 'wwwco.localhost' instead" in str(errors)
    assert not Tenant.objects.filter(slug="wwwco").exists()
    assert not Domain.objects.filter(domain__contains="wwwco").exists()


def test_a_domain_added_on_its_own_page_is_normalised_and_routes(platform_browser, acme):
    response = platform_browser.post(
        "/admin/tenants/domain/add/", {"domain": "Support.ACME.localhost", "tenant": acme.pk}
    )

    assert response.status_code == 302
    assert Domain.objects.get(domain="support.acme.localhost").tenant == acme
    json_error(Client(HTTP_HOST="support.acme.localhost").get("/api/v1/issues/"), 401)


def test_a_domain_taken_in_another_letter_case_is_a_form_error(platform_browser, globex):
    response = platform_browser.post(
        "/admin/tenants/domain/add/", {"domain": "ACME.localhost", "tenant": globex.pk}
    )

    assert response.status_code == 200
    assert "domain" in response.context["adminform"].form.errors
    assert Domain.objects.get(domain="acme.localhost").tenant.slug == "acme"


def test_two_spellings_of_one_domain_in_one_tenant_form_are_a_form_error(platform_browser):
    form = {
        **tenant_form("twice", "Twice.localhost"),
        "domains-TOTAL_FORMS": "2",
        "domains-1-domain": "twice.LOCALHOST",
    }

    response = platform_browser.post("/admin/tenants/tenant/add/", form)

    assert response.status_code == 200
    assert not Tenant.objects.filter(slug="twice").exists()


def test_a_domain_saved_through_the_orm_is_normalised_too(acme):
    assert Domain.objects.create(domain=" Orm.Acme.LOCALHOST", tenant=acme).domain == (
        "orm.acme.localhost"
    )
