"""Authentication: tokens and sessions of the tenant's own users; 401 for everyone else."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from firelater import roles
from firelater.factories import UserFactory
from tests.conftest import ADMIN_PASSWORD
from tests.utils import json_error

pytestmark = pytest.mark.usefixtures("forget_token_throttling")

API_URLS = [
    "/api/v1/issues/",
    "/api/v1/requests/",
    "/api/v1/changes/",
    "/api/v1/applications/",
]


@pytest.mark.parametrize("url", API_URLS)
def test_an_anonymous_call_is_a_json_401_with_www_authenticate(anon_api, url):
    response = anon_api.get(url)

    body = json_error(response, 401)
    assert body["detail"] == "Authentication credentials were not provided."
    assert response["WWW-Authenticate"] == "Token"


def test_an_anonymous_write_is_refused_too(anon_api):
    response = anon_api.post("/api/v1/issues/", {"title": "Hi"}, format="json")

    json_error(response, 401)


def test_a_made_up_token_is_a_401(anon_api):
    anon_api.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")

    body = json_error(anon_api.get("/api/v1/issues/"), 401)

    assert body["detail"] == "Invalid token."


def test_username_and_password_get_a_token_that_opens_the_api(anon_api, in_acme, acme_admin):
    response = anon_api.post(
        "/api/v1/auth/token/",
        {"username": "admin", "password": ADMIN_PASSWORD},
        format="json",
    )

    assert response.status_code == 200
    assert list(response.json()) == ["token", "expiresAt"]
    token = response.json()["token"]
    assert Token.objects.get(key=token).user == acme_admin
    anon_api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert anon_api.get("/api/v1/issues/").status_code == 200


def test_the_token_endpoint_accepts_a_form_post(anon_api):
    response = anon_api.post(
        "/api/v1/auth/token/", {"username": "admin", "password": ADMIN_PASSWORD}
    )

    assert response.status_code == 200
    assert response.json()["token"]


def test_a_wrong_password_gets_a_json_400_and_no_token(anon_api):
    response = anon_api.post(
        "/api/v1/auth/token/", {"username": "admin", "password": "nope"}, format="json"
    )

    body = json_error(response, 400)
    assert "token" not in body
    assert body["nonFieldErrors"] == ["Unable to log in with provided credentials."]


def test_a_token_request_without_a_password_names_the_missing_field(anon_api):
    body = json_error(
        anon_api.post("/api/v1/auth/token/", {"username": "admin"}, format="json"), 400
    )

    assert body["password"] == ["This field is required."]


def test_password_guessing_is_throttled_with_a_json_429(anon_api):
    # Many usernames from one address: the lockout (per username and address, see
    # tests/security/test_lockout.py) never triggers, the per-address throttle does.
    attempts = [
        anon_api.post(
            "/api/v1/auth/token/", {"username": f"user-{i}", "password": "guess"}, format="json"
        )
        for i in range(11)
    ]

    assert [response.status_code for response in attempts[:10]] == [400] * 10
    body = json_error(attempts[10], 429)
    assert "throttled" in body["detail"].lower()
    assert "Retry-After" in attempts[10]


def test_a_session_login_opens_the_api(acme_browser):
    response = acme_browser.get("/api/v1/issues/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_the_browsable_api_login_page_logs_in(acme):
    client = Client(HTTP_HOST="acme.localhost")

    response = client.post(
        "/api-auth/login/",
        {"username": "admin", "password": ADMIN_PASSWORD, "next": "/api/v1/"},
    )

    assert response.status_code == 302
    assert client.get("/api/v1/issues/", HTTP_ACCEPT="application/json").status_code == 200


def test_the_browsable_api_login_refuses_a_wrong_password(acme):
    client = Client(HTTP_HOST="acme.localhost")

    response = client.post("/api-auth/login/", {"username": "admin", "password": "nope"})

    assert response.status_code == 200  # the form again, with an error
    assert client.get("/api/v1/issues/").status_code == 401


def test_a_session_write_without_a_csrf_token_is_a_json_403(acme):
    client = APIClient(HTTP_HOST="acme.localhost", enforce_csrf_checks=True)
    with tenant_context(acme):
        assert client.login(username="admin", password=ADMIN_PASSWORD)

    body = json_error(client.post("/api/v1/issues/", {"title": "x"}, format="json"), 403)

    assert "CSRF" in body["detail"]


def test_a_deleted_token_stops_working_at_once_despite_the_token_cache(acme_api, acme):
    from django_tenants.utils import tenant_context
    from rest_framework.authtoken.models import Token

    assert acme_api.get("/api/v1/issues/").status_code == 200  # now cached in this process
    with tenant_context(acme):
        Token.objects.filter(key=acme_api.token).delete()
    assert acme_api.get("/api/v1/issues/").status_code == 401


def test_a_deactivated_user_is_refused_at_once_despite_the_token_cache(acme_api, acme):
    from django.contrib.auth import get_user_model
    from django_tenants.utils import tenant_context

    assert acme_api.get("/api/v1/issues/").status_code == 200
    with tenant_context(acme):
        user = get_user_model().objects.get(username="admin")
        user.is_active = False
        user.save()
    assert acme_api.get("/api/v1/issues/").status_code == 401


def test_the_token_cache_is_per_tenant(acme_api, globex):
    assert acme_api.get("/api/v1/issues/").status_code == 200  # cached for acme
    acme_api.defaults["HTTP_HOST"] = "globex.localhost"
    assert acme_api.get("/api/v1/issues/").status_code == 401


def test_the_same_token_key_in_two_tenants_authenticates_each_tenants_own_user(
    acme_api, acme, globex
):
    """Keys are unique per schema only: globex may hold a token with acme's very key. The
    process's token cache must still answer each tenant with its own user."""
    from django_tenants.utils import tenant_context
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    with tenant_context(globex):
        other = UserFactory(username="globex-agent", roles=[roles.AGENT])
        Token.objects.create(user=other, key=acme_api.token)
    created = acme_api.post("/api/v1/issues/", {"title": "acme's"}, format="json")  # cached
    assert created.status_code == 201
    globex_client = APIClient(HTTP_HOST="globex.localhost")
    globex_client.credentials(HTTP_AUTHORIZATION=f"Token {acme_api.token}")
    response = globex_client.post("/api/v1/issues/", {"title": "globex's"}, format="json")
    assert response.status_code == 201
    with tenant_context(globex):
        from issues.models import Issue

        assert Issue.objects.get(pk=response.json()["id"]).reporter.username == "globex-agent"
