"""Tenant-scoped login and logout pages, and the dashboard's login requirement."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import ADMIN_PASSWORD


def test_the_dashboard_sends_anonymous_visitors_to_the_tenants_login_page(acme):
    response = Client(HTTP_HOST="acme.localhost").get("/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_the_login_page_names_the_tenant_and_labels_its_fields(acme):
    response = Client(HTTP_HOST="acme.localhost").get("/login/?next=/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Log in to Acme" in html
    assert '<label for="id_username">Username</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert 'autocomplete="current-password"' in html


def test_a_wrong_password_is_refused_with_an_alert(acme):
    response = Client(HTTP_HOST="acme.localhost").post(
        "/login/", {"username": "admin", "password": "not-it", "next": "/"}
    )

    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()


def test_logging_in_lands_on_the_dashboard(acme):
    client = Client(HTTP_HOST="acme.localhost")

    response = client.post(
        "/login/", {"username": "admin", "password": ADMIN_PASSWORD, "next": "/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("path", ["/admin/login/", "/api-auth/login/"])
def test_a_login_without_next_lands_on_the_dashboard_not_a_404(acme, path):
    # Django's default landing page, /accounts/profile/, does not exist.
    client = Client(HTTP_HOST="acme.localhost")

    response = client.post(path, {"username": "admin", "password": ADMIN_PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_a_login_is_valid_only_on_its_own_tenant(acme_browser, globex):
    acme_browser.defaults["HTTP_HOST"] = "globex.localhost"

    response = acme_browser.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_logging_out_takes_a_post_and_ends_the_session(acme_browser):
    assert acme_browser.get("/logout/").status_code == 405

    response = acme_browser.post("/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert acme_browser.get("/")["Location"] == "/login/?next=/"


def test_the_platform_host_has_no_dashboard_or_tenant_login(db):
    client = Client(HTTP_HOST="localhost")

    home = client.get("/")  # the platform's home is its admin (and where logins land)
    assert (home.status_code, home["Location"]) == (302, "/admin/")
    assert client.get("/login/").status_code == 404
